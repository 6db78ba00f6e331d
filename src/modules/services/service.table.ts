import { sql } from "drizzle-orm";
import { check, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const services = sqliteTable(
  "services",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    /** The name folded to lower case: uniqueness ignores case in every script, the same way on both backends. */
    nameKey: text("name_key").notNull(),
    description: text("description").notNull().default(""),
    autoResolve: integer("auto_resolve", { mode: "boolean" }).notNull().default(true),
    /** A JSON array of label keys. */
    groupingLabels: text("grouping_labels").notNull().default("[]"),
    groupingWindowSeconds: integer("grouping_window_seconds").notNull().default(0),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (table) => [
    uniqueIndex("services_name_key_unique").on(table.nameKey),
    check("services_window_range", sql`"grouping_window_seconds" between 0 and 86400`),
  ],
);

export type ServiceRow = typeof services.$inferSelect;
