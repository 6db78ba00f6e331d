import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { services } from "../services/service.table.js";
import { users } from "../users/user.table.js";
import { priorityValues } from "./incident-priority.js";
import { incidentStatusValues } from "./incident-status.js";

export const incidents = sqliteTable(
  "incidents",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    status: text("status", { enum: incidentStatusValues }).notNull(),
    priority: text("priority", { enum: priorityValues }).notNull(),
    /** Derived from priority so that ORDER BY priority walks an index (CRITICAL = 4 ... LOW = 1). */
    priorityRank: integer("priority_rank")
      .notNull()
      .generatedAlwaysAs(
        sql`(CASE "priority" WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END)`,
        { mode: "virtual" },
      ),
    /** Null for incidents opened by an alert. */
    reporterId: integer("reporter_id").references(() => users.id),
    assigneeId: integer("assignee_id").references(() => users.id),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    acknowledgedAt: integer("acknowledged_at", { mode: "timestamp_ms" }),
    resolvedAt: integer("resolved_at", { mode: "timestamp_ms" }),
    closedAt: integer("closed_at", { mode: "timestamp_ms" }),
    /** The service that broke; null when none, or once it is deleted. */
    serviceId: integer("service_id").references(() => services.id, { onDelete: "set null" }),
    /** The incident this duplicate was merged into; null when not merged, or once that one is deleted. */
    mergedIntoId: integer("merged_into").references((): AnySQLiteColumn => incidents.id, { onDelete: "set null" }),
    /** Whether the last resolution was the system's (every alert resolved, section 9), not a person's. */
    resolvedBySystem: integer("resolved_by_system", { mode: "boolean" }).notNull().default(false),
  },
  // CHECK constraints name bare columns: a table-qualified name breaks drizzle-kit's table-rebuild migrations.
  (table) => [
    index("incidents_created_idx").on(table.createdAt, table.id),
    index("incidents_updated_idx").on(table.updatedAt, table.id),
    index("incidents_priority_idx").on(table.priorityRank, table.id),
    index("incidents_status_created_idx").on(table.status, table.createdAt, table.id),
    // Filtering by priority, newest first: a rare priority would otherwise walk the whole created_at index.
    index("incidents_priority_created_idx").on(table.priority, table.createdAt, table.id),
    index("incidents_assignee_created_idx").on(table.assigneeId, table.createdAt, table.id),
    index("incidents_reporter_created_idx").on(table.reporterId, table.createdAt, table.id),
    // By service, newest first; and every column incidentMetrics reads after the key, so that SQLite answers a
    // year of metrics from this index alone, service by service, without reading a table row (bench/RESULTS.md).
    index("incidents_service_created_idx").on(
      table.serviceId, table.createdAt, table.id,
      table.priority, table.assigneeId, table.status, table.acknowledgedAt, table.resolvedAt, table.resolvedBySystem,
    ),
    // Deleting a merge target sets its duplicates' merged_into to null: a lookup, not a scan.
    index("incidents_merged_into_idx").on(table.mergedIntoId),
    check("incidents_status_valid", sql`"status" in ('OPEN', 'INVESTIGATING', 'RESOLVED', 'CLOSED')`),
    check("incidents_priority_valid", sql`"priority" in ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')`),
    check("incidents_version_positive", sql`"version" >= 1`),
  ],
);

export type IncidentRow = typeof incidents.$inferSelect;
export type NewIncidentRow = typeof incidents.$inferInsert;
