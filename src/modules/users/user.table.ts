import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { roleValues } from "./user-role.js";

export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: roleValues }).notNull(),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    /** Bumped by signOutEverywhere; tokens carry the version they were issued under. */
    tokenVersion: integer("token_version").notNull().default(0),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  // CHECK constraints name bare columns: a table-qualified name breaks drizzle-kit's table-rebuild migrations.
  (table) => [
    uniqueIndex("users_email_unique").on(table.email),
    index("users_role_id_idx").on(table.role, table.id),
    check("users_email_lower", sql`"email" = lower("email")`),
    check("users_role_valid", sql`"role" in ('ADMIN', 'RESPONDER', 'VIEWER')`),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type NewUserRow = typeof users.$inferInsert;
