import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { users } from "../users/user.pg-table.js";
import { incidentStatusValues } from "./incident-status.js";
import { incidents } from "./incident.pg-table.js";
import { logKindValues } from "./incident-log-kind.js";

/** Ids are 64-bit, as SQLite's INTEGER is: every id the API accepts either names a row or names nothing. */
const id = (name: string) => bigint(name, { mode: "number" });

/** The PostgreSQL twin of `incident-log.table.ts`: same table, columns, keys, checks and indexes; rows of the same shape. */
export const incidentLogs = pgTable(
  "incident_logs",
  {
    id: id("id").primaryKey().generatedByDefaultAsIdentity(),
    incidentId: id("incident_id")
      .notNull()
      .references(() => incidents.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: logKindValues }).notNull(),
    message: text("message").notNull(),
    /** Null for entries written by the system. */
    authorId: id("author_id").references(() => users.id),
    fromStatus: text("from_status", { enum: incidentStatusValues }),
    toStatus: text("to_status", { enum: incidentStatusValues }),
    createdAt: timestamp("created_at", { precision: 3, withTimezone: true, mode: "date" }).notNull(),
  },
  // CHECK constraints name bare columns, as in the SQLite table.
  (table) => [
    // The timeline of one incident, oldest first, is a range scan of this index.
    index("incident_logs_incident_idx").on(table.incidentId, table.id),
    check("incident_logs_kind_valid", sql`"kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT', 'ALERT', 'MERGE')`),
  ],
);

export type PgIncidentLogRow = typeof incidentLogs.$inferSelect;
