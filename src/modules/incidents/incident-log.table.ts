import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { users } from "../users/user.table.js";
import { incidentStatusValues } from "./incident-status.js";
import { incidents } from "./incident.table.js";
import { logKindValues } from "./incident-log-kind.js";

export const incidentLogs = sqliteTable(
  "incident_logs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    incidentId: integer("incident_id")
      .notNull()
      .references(() => incidents.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: logKindValues }).notNull(),
    message: text("message").notNull(),
    /** Null for entries written by the system. */
    authorId: integer("author_id").references(() => users.id),
    fromStatus: text("from_status", { enum: incidentStatusValues }),
    toStatus: text("to_status", { enum: incidentStatusValues }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  // CHECK constraints name bare columns: a table-qualified name breaks drizzle-kit's table-rebuild migrations.
  (table) => [
    // The timeline of one incident, oldest first, is a range scan of this index.
    index("incident_logs_incident_idx").on(table.incidentId, table.id),
    check("incident_logs_kind_valid", sql`"kind" in ('NOTE', 'STATUS_CHANGE', 'PRIORITY_CHANGE', 'ASSIGNMENT', 'EDIT', 'ALERT', 'MERGE')`),
  ],
);

export type IncidentLogRow = typeof incidentLogs.$inferSelect;
export type NewIncidentLogRow = typeof incidentLogs.$inferInsert;
