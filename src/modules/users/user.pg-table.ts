import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { roleValues } from "./user-role.js";

/** Ids are 64-bit, as SQLite's INTEGER is: every id the API accepts either names a row or names nothing. */
const id = (name: string) => bigint(name, { mode: "number" });

/** Times are `timestamp(3) with time zone` read as Date: the same row shape as the SQLite table's timestamp_ms. */
const at = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: "date" });

/** The PostgreSQL twin of `user.table.ts`: same table, columns, keys, checks and indexes; rows of the same shape. */
export const users = pgTable(
  "users",
  {
    id: id("id").primaryKey().generatedByDefaultAsIdentity(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: roleValues }).notNull(),
    active: boolean("active").notNull().default(true),
    /** Bumped by signOutEverywhere; tokens carry the version they were issued under. */
    tokenVersion: integer("token_version").notNull().default(0),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
  },
  // CHECK constraints name bare columns, as in the SQLite table.
  (table) => [
    uniqueIndex("users_email_unique").on(table.email),
    index("users_role_id_idx").on(table.role, table.id),
    check("users_email_lower", sql`"email" = lower("email")`),
    check("users_role_valid", sql`"role" in ('ADMIN', 'RESPONDER', 'VIEWER')`),
  ],
);

export type PgUserRow = typeof users.$inferSelect;
