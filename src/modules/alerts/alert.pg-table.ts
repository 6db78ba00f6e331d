import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { pgId, pgTime } from "../../db/pg-columns.js";
import { incidents } from "../incidents/incident.pg-table.js";
import { services } from "../services/service.pg-table.js";
import { alertSeverityValues, alertStatusValues, integrationKindValues } from "./alert-enums.js";

/** The PostgreSQL twins of `alert.table.ts`. */
export const integrations = pgTable(
  "integrations",
  {
    id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
    serviceId: pgId("service_id")
      .notNull()
      .references(() => services.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind", { enum: integrationKindValues }).notNull(),
    /** SHA-256 of the key, hex: the key itself is never stored. */
    keyHash: text("key_hash").notNull(),
    keyHint: text("key_hint").notNull(),
    createdAt: pgTime("created_at").notNull(),
    lastEventAt: pgTime("last_event_at"),
  },
  (table) => [
    uniqueIndex("integrations_key_hash_unique").on(table.keyHash),
    index("integrations_service_idx").on(table.serviceId, table.id),
    check("integrations_kind_valid", sql`"kind" in ('ALERTMANAGER', 'EVENTS_V2')`),
  ],
);

export const alerts = pgTable(
  "alerts",
  {
    id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
    /** Null only inside the transaction that creates the alert, between its upsert and its grouping. */
    incidentId: pgId("incident_id").references(() => incidents.id, { onDelete: "cascade" }),
    /** Null once the integration is deleted. */
    integrationId: pgId("integration_id").references(() => integrations.id, { onDelete: "set null" }),
    /** The alert's identity is (service, fingerprint); null once the service is deleted. */
    serviceId: pgId("service_id").references(() => services.id, { onDelete: "set null" }),
    fingerprint: text("fingerprint").notNull(),
    status: text("status", { enum: alertStatusValues }).notNull(),
    severity: text("severity", { enum: alertSeverityValues }).notNull(),
    summary: text("summary").notNull(),
    source: text("source"),
    /** JSON objects of string values. */
    labels: text("labels").notNull(),
    annotations: text("annotations").notNull(),
    generatorUrl: text("generator_url"),
    /**
     * Alertmanager's groupKey: alerts of one group join one incident. Past 1 KB of UTF-8, its `sha256:` digest
     * (`groupMatchValue`): only ever compared for equality, and never shown.
     */
    groupKey: text("group_key"),
    startsAt: pgTime("starts_at").notNull(),
    lastSeenAt: pgTime("last_seen_at").notNull(),
    resolvedAt: pgTime("resolved_at"),
    eventCount: integer("event_count").notNull().default(1),
    /** When this server first received it (the grouping window counts from here). */
    receivedAt: pgTime("received_at").notNull(),
    /**
     * The alert's values of its service's grouping labels, as `[[key, value], ...]` JSON, so that the window's lookup
     * is an index seek; null when written before the grouping labels last changed (matched on `labels` instead).
     * Past 1 KB of UTF-8, their `sha256:` digest (`groupMatchValue`), as for `group_key`.
     */
    groupValues: text("group_values"),
    /**
     * 1 while the alert's incident is OPEN or INVESTIGATING, else 0, so that grouping lookups reach only alerts of
     * active incidents through the partial indexes below, however many alerts of resolved incidents a flapping group
     * left behind. Kept by the statements that write it: ingestion (insert, attach, auto-resolve), an incident's
     * update (`followIncident`: resolve, close, reopen) and merges. Not by triggers: drizzle-kit's SQLite table
     * rebuilds (drop, rename) fail on triggers that name the dropped table.
     */
    incidentActive: integer("incident_active").notNull().default(0),
  },
  (table) => [
    // One FIRING alert per (service, fingerprint): concurrent notifications upsert into it.
    uniqueIndex("alerts_firing_unique").on(table.serviceId, table.fingerprint).where(sql`"status" = 'FIRING'`),
    index("alerts_incident_idx").on(table.incidentId, table.id),
    // Grouping lookups: only alerts of active incidents, newest first.
    index("alerts_group_key_active_idx").on(table.serviceId, table.groupKey, table.id).where(sql`"incident_active" = 1`),
    index("alerts_service_received_idx").on(table.serviceId, table.receivedAt),
    index("alerts_group_values_active_idx")
      .on(table.serviceId, table.groupValues, table.receivedAt, table.id)
      .where(sql`"incident_active" = 1`),
    check("alerts_status_valid", sql`"status" in ('FIRING', 'RESOLVED')`),
    check("alerts_severity_valid", sql`"severity" in ('CRITICAL', 'ERROR', 'WARNING', 'INFO')`),
  ],
);

export type PgIntegrationRow = typeof integrations.$inferSelect;
export type PgAlertRow = typeof alerts.$inferSelect;
