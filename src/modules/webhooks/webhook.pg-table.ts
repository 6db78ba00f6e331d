import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { pgId, pgTime } from "../../db/pg-columns.js";
import { webhookDeliveryStatusValues, webhookEventTypeValues } from "./webhook-enums.js";

/** The PostgreSQL twins of `webhook.table.ts`. */
export const webhookEndpoints = pgTable("webhook_endpoints", {
  id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
  url: text("url").notNull(),
  description: text("description").notNull().default(""),
  /** JSON array of WebhookEventType; empty: every type. */
  events: text("events").notNull().default("[]"),
  /** JSON array of service ids; empty: every service, and incidents without one. */
  serviceIds: text("service_ids").notNull().default("[]"),
  enabled: boolean("enabled").notNull().default(true),
  /** `whsec_...`: kept as it is, because it must sign (an HMAC key cannot be a hash). */
  secret: text("secret").notNull(),
  secretHint: text("secret_hint").notNull(),
  createdAt: pgTime("created_at").notNull(),
  updatedAt: pgTime("updated_at").notNull(),
});

export const webhookSnapshots = pgTable("webhook_snapshots", {
  id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
  hash: text("hash").notNull(),
  body: text("body").notNull(),
}, (table) => [uniqueIndex("webhook_snapshots_hash_idx").on(table.hash)]);

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: pgId("id").primaryKey().generatedByDefaultAsIdentity(),
    endpointId: pgId("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    incidentId: pgId("incident_id").notNull(),
    eventType: text("event_type", { enum: webhookEventTypeValues }).notNull(),
    /**
     * What it sends; with a snapshot, the body with `"incident":0` where the snapshot's JSON goes (see sentBody).
     * Without (deliveries written before snapshots existed), the whole body.
     */
    body: text("body").notNull(),
    snapshotId: pgId("snapshot_id").references(() => webhookSnapshots.id),
    status: text("status", { enum: webhookDeliveryStatusValues }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    nextAttemptAt: pgTime("next_attempt_at"),
    claimedUntil: pgTime("claimed_until"),
    claimedBy: text("claimed_by"),
    deliveredAt: pgTime("delivered_at"),
    createdAt: pgTime("created_at").notNull(),
    /**
     * An alert.resolved delivery of a change that resolved more alerts than are written at once (SQLite): its body
     * ends at `actorId` until its entry and alert are written in, after the commit, in short slices of their own
     * (see renderBodies); it is not sent before. Null once written, and always on PostgreSQL.
     */
    renderAlertId: pgId("render_alert_id"),
    renderLogId: pgId("render_log_id"),
  },
  (table) => [
    // The due heads of each endpoint, soonest first: a claim reads a LIMITed range of it per enabled endpoint that
    // has room. Deliveries waiting behind an earlier one of their incident (next_attempt_at NULL) are not in it.
    index("webhook_deliveries_endpoint_due_idx")
      .on(table.endpointId, table.nextAttemptAt, table.id)
      .where(sql`"status" = 'PENDING' AND "next_attempt_at" IS NOT NULL`),
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

export type PgWebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type PgWebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
