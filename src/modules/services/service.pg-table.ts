import { sql } from "drizzle-orm";
import { boolean, check, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { pgId, pgTime } from "../../db/pg-columns.js";

/** The PostgreSQL twin of `service.table.ts`. */
export const services = pgTable(
  "services",
  {
    id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
    name: text("name").notNull(),
    nameKey: text("name_key").notNull(),
    description: text("description").notNull().default(""),
    autoResolve: boolean("auto_resolve").notNull().default(true),
    groupingLabels: text("grouping_labels").notNull().default("[]"),
    groupingWindowSeconds: integer("grouping_window_seconds").notNull().default(0),
    createdAt: pgTime("created_at").notNull(),
    updatedAt: pgTime("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("services_name_key_unique").on(table.nameKey),
    check("services_window_range", sql`"grouping_window_seconds" between 0 and 86400`),
  ],
);

