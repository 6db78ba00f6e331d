import { index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { pgId } from "../../db/pg-columns.js";
import { incidents } from "./incident.pg-table.js";

/** The PostgreSQL twin of `incident-label.table.ts`. */
export const incidentLabels = pgTable(
  "incident_labels",
  {
    incidentId: pgId("incident_id")
      .notNull()
      .references(() => incidents.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.incidentId, table.key] }),
    index("incident_labels_pair_idx").on(table.key, table.value, table.incidentId),
  ],
);
