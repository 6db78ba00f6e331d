import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { webhookDeliveryStatusValues, webhookEventTypeValues } from "./webhook-enums.js";

export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  url: text("url").notNull(),
  description: text("description").notNull().default(""),
  /** JSON array of WebhookEventType; empty: every type. */
  events: text("events").notNull().default("[]"),
  /** JSON array of service ids; empty: every service, and incidents without one. */
  serviceIds: text("service_ids").notNull().default("[]"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /** `whsec_...`: kept as it is, because it must sign (an HMAC key cannot be a hash). */
  secret: text("secret").notNull(),
  secretHint: text("secret_hint").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * The incident part of webhook bodies, stored once however many events and endpoints carry it (the JSON of
 * `data.incident`, found again by its SHA-256): 1,000 alerts joining one incident in a request share one row,
 * instead of each of their deliveries repeating the incident's labels.
 */
export const webhookSnapshots = sqliteTable("webhook_snapshots", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  hash: text("hash").notNull(),
  body: text("body").notNull(),
}, (table) => [uniqueIndex("webhook_snapshots_hash_idx").on(table.hash)]);

/**
 * The outbox: one row per event and endpoint, written in the transaction of the change it reports, with the body
 * it will send. `incident_id` is no foreign key: an incident.deleted event outlives its incident.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    endpointId: integer("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    incidentId: integer("incident_id").notNull(),
    eventType: text("event_type", { enum: webhookEventTypeValues }).notNull(),
    /**
     * What it sends; with a snapshot, the body with `"incident":0` where the snapshot's JSON goes (see sentBody).
     * Without (deliveries written before snapshots existed), the whole body.
     */
    body: text("body").notNull(),
    snapshotId: integer("snapshot_id").references(() => webhookSnapshots.id),
    status: text("status", { enum: webhookDeliveryStatusValues }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /**
     * When it is due: set on the earliest PENDING delivery of its endpoint and incident only (the head); the later
     * ones wait with NULL until the one before them is DELIVERED or FAILED.
     */
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
    /** The lease of the instance attempting it; another may take it over once it has passed. */
    claimedUntil: integer("claimed_until", { mode: "timestamp_ms" }),
    claimedBy: text("claimed_by"),
    deliveredAt: integer("delivered_at", { mode: "timestamp_ms" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /**
     * An alert.resolved delivery of a change that resolved more alerts than are written at once (SQLite): its body
     * ends at `actorId` until its entry and alert are written in, after the commit, in short slices of their own
     * (see renderBodies); it is not sent before. Null once written, and always on PostgreSQL.
     */
    renderAlertId: integer("render_alert_id"),
    renderLogId: integer("render_log_id"),
  },
  (table) => [
    // The due heads of each endpoint, soonest first: a claim reads a LIMITed range of it per enabled endpoint that
    // has room. Deliveries waiting behind an earlier one of their incident (next_attempt_at NULL) are not in it.
    index("webhook_deliveries_endpoint_due_idx")
      .on(table.endpointId, table.nextAttemptAt, table.id)
      .where(sql`"status" = 'PENDING' AND "next_attempt_at" IS NOT NULL`),
    // The ordering rule: the earlier pending delivery of one endpoint and incident, found in this index.
    index("webhook_deliveries_order_idx").on(table.endpointId, table.incidentId, table.id).where(sql`"status" = 'PENDING'`),
    index("webhook_deliveries_endpoint_idx").on(table.endpointId, table.id),
    // Whether a snapshot is still used, once deliveries are pruned or their endpoint deleted.
    index("webhook_deliveries_snapshot_idx").on(table.snapshotId),
    // Retention: delivered and failed deliveries past WEBHOOK_RETENTION, oldest first, without reading the rest.
    // The deliveries whose body is still to be written, oldest first.
    index("webhook_deliveries_unrendered_idx").on(table.id).where(sql`"render_alert_id" IS NOT NULL`),
    index("webhook_deliveries_finished_idx").on(table.createdAt).where(sql`"status" <> 'PENDING'`),
    check("webhook_deliveries_status_valid", sql`"status" in ('PENDING', 'DELIVERED', 'FAILED')`),
  ],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
