import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { incidents } from "./incident.table.js";

/** An incident's labels: one row a key. */
export const incidentLabels = sqliteTable(
  "incident_labels",
  {
    incidentId: integer("incident_id")
      .notNull()
      .references(() => incidents.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.incidentId, table.key] }),
    // Label filters start here: the incidents carrying one pair are a range of this index.
    index("incident_labels_pair_idx").on(table.key, table.value, table.incidentId),
  ],
);


export type IncidentLabelRow = typeof incidentLabels.$inferSelect;
