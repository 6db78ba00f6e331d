import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, pgTable, text, timestamp, type AnyPgColumn } from "drizzle-orm/pg-core";
import { services } from "../services/service.pg-table.js";
import { users } from "../users/user.pg-table.js";
import { priorityValues } from "./incident-priority.js";
import { incidentStatusValues } from "./incident-status.js";

/** Ids are 64-bit, as SQLite's INTEGER is: every id the API accepts either names a row or names nothing. */
const id = (name: string) => bigint(name, { mode: "number" });

const at = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: "date" });

/** The PostgreSQL twin of `incident.table.ts`: same table, columns, keys, checks and indexes; rows of the same shape. */
export const incidents = pgTable(
  "incidents",
  {
    id: id("id").primaryKey().generatedByDefaultAsIdentity(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    status: text("status", { enum: incidentStatusValues }).notNull(),
    priority: text("priority", { enum: priorityValues }).notNull(),
    /** Derived from priority so that ORDER BY priority walks an index (CRITICAL = 4 ... LOW = 1); STORED. */
    priorityRank: integer("priority_rank")
      .notNull()
      .generatedAlwaysAs(sql`(CASE "priority" WHEN 'CRITICAL' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END)`),
    /** Null for incidents opened by an alert. */
    reporterId: id("reporter_id").references(() => users.id),
    assigneeId: id("assignee_id").references(() => users.id),
    version: integer("version").notNull().default(1),
    createdAt: at("created_at").notNull(),
    updatedAt: at("updated_at").notNull(),
    acknowledgedAt: at("acknowledged_at"),
    resolvedAt: at("resolved_at"),
    closedAt: at("closed_at"),
    /** The service that broke; null when none, or once it is deleted. */
    serviceId: id("service_id").references(() => services.id, { onDelete: "set null" }),
    /** The incident this duplicate was merged into; null when not merged, or once that one is deleted. */
    mergedIntoId: id("merged_into").references((): AnyPgColumn => incidents.id, { onDelete: "set null" }),
    /** Whether the last resolution was the system's (every alert resolved, section 9), not a person's. */
    resolvedBySystem: boolean("resolved_by_system").notNull().default(false),
  },
  // CHECK constraints name bare columns, as in the SQLite table.
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

export type PgIncidentRow = typeof incidents.$inferSelect;
