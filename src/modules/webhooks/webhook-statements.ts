import type { Dialect, Statement } from "../../db/sql-work.js";
import { alertColumns } from "../alerts/alert-rows.js";

export const endpointColumns = `id, url, description, events, service_ids, enabled, secret, secret_hint, created_at, updated_at`;
export const deliveryColumns = `id, endpoint_id, incident_id, event_type, status, attempts, last_status_code, last_error,
  next_attempt_at, delivered_at, created_at`;

/** Every webhook statement, written once; `d` supplies what differs. */
export function webhookStatements(d: Dialect) {
  const s = (name: string, text: string): Statement => ({ name, text });
  const pg = d.kind === "postgres";
  // A JSON array of the endpoint's filter holds the value, or is empty.
  const listed = (column: string, type: "text" | "bigint") =>
    pg
      ? `(${column} = '[]' OR ${column}::jsonb @> jsonb_build_array(?::${type}))`
      : `(${column} = '[]' OR EXISTS (SELECT 1 FROM json_each(${column}) WHERE value = ?))`;
  const pending = `status = 'PENDING'`;
  // PostgreSQL types a parameter in a SELECT list as text unless told.
  const as = (type: string) => (pg ? `::${type}` : "");
  return {
    // --- the outbox, inside the transaction of a change
    /** Enabled endpoints whose filters take an event of this type (parameter 1) and service (parameter 2, null: none). */
    matchingEndpoints: s(
      "webhook_endpoints_matching",
      `SELECT id FROM webhook_endpoints WHERE enabled = TRUE AND ${listed("events", "text")} AND ${listed("service_ids", "bigint")}`,
    ),
    insertDeliveries: s(
      "webhook_deliveries_insert",
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
       SELECT id, ?${as("bigint")}, ?, ?, 'PENDING', 0, ?${as("timestamptz")}, ?${as("timestamptz")} FROM webhook_endpoints WHERE ${d.inList("id", "bigint")} ORDER BY id`,
    ),
    /** PostgreSQL: events of one incident are written one transaction after the other, so ids follow commit order. */
    lockIncident: s("webhook_lock_incident", `SELECT id FROM incidents WHERE id = ?${pg ? " FOR NO KEY UPDATE" : ""}`),
    incidentById: s(
      "webhook_incident_by_id",
      `SELECT id, title, description, status, priority, reporter_id, assignee_id, version, created_at, updated_at,
              acknowledged_at, resolved_at, closed_at, service_id, merged_into, resolved_by_system FROM incidents WHERE id = ?`,
    ),
    labelsOfIncident: s("webhook_incident_labels", `SELECT key, value FROM incident_labels WHERE incident_id = ? ORDER BY key${d.binary}`),
    alertById: s("webhook_alert_by_id", `SELECT ${alertColumns} FROM alerts WHERE id = ?`),
    logById: s(
      "webhook_log_by_id",
      `SELECT id, incident_id, kind, message, author_id, from_status, to_status, created_at FROM incident_logs WHERE id = ?`,
    ),

    // --- endpoints
    insertEndpoint: s(
      "webhook_endpoints_insert",
      `INSERT INTO webhook_endpoints (url, description, events, service_ids, enabled, secret, secret_hint, created_at, updated_at)
       VALUES (?, ?, ?, ?, TRUE, ?, ?, ?, ?) RETURNING ${endpointColumns}`,
    ),
    updateEndpoint: s(
      "webhook_endpoints_update",
      `UPDATE webhook_endpoints SET url = COALESCE(?, url), description = COALESCE(?, description), events = COALESCE(?, events),
         service_ids = COALESCE(?, service_ids), enabled = COALESCE(?, enabled), updated_at = ?
       WHERE id = ? RETURNING ${endpointColumns}`,
    ),
    rotateSecret: s(
      "webhook_endpoints_rotate",
      `UPDATE webhook_endpoints SET secret = ?, secret_hint = ?, updated_at = ? WHERE id = ? RETURNING ${endpointColumns}`,
    ),
    disableEndpoint: s("webhook_endpoints_disable", `UPDATE webhook_endpoints SET enabled = FALSE, updated_at = ? WHERE id = ?`),
    deleteEndpoint: s("webhook_endpoints_delete", `DELETE FROM webhook_endpoints WHERE id = ? RETURNING id`),
    endpointsByIds: s("webhook_endpoints_by_ids", `SELECT ${endpointColumns} FROM webhook_endpoints WHERE ${d.inList("id", "bigint")}`),
    endpointPage: s("webhook_endpoints_page", `SELECT ${endpointColumns} FROM webhook_endpoints WHERE id > ? ORDER BY id LIMIT ?`),
    endpointCount: s("webhook_endpoints_count", `SELECT count(*) AS n FROM webhook_endpoints`),
    servicesExisting: s("webhook_services_existing", `SELECT id FROM services WHERE ${d.inList("id", "bigint")}`),

    // --- deliveries, read
    /** Newest first, a LIMITed range of webhook_deliveries_endpoint_idx per endpoint: one statement for a page of endpoints. */
    deliveryPages: (withStatus: boolean) => {
      const status = withStatus ? `AND ${d.inList("status", "text")}` : "";
      const columns = deliveryColumns
        .split(",")
        .map((column) => `w.${column.trim()}`)
        .join(", ");
      return pg
        ? s(
            `webhook_deliveries_pages_${withStatus}`,
            `SELECT ${columns} FROM unnest(?::bigint[]) AS parent(id) CROSS JOIN LATERAL (
               SELECT * FROM webhook_deliveries WHERE endpoint_id = parent.id AND id < ? ${status} ORDER BY id DESC LIMIT ?) AS w`,
          )
        : s(
            `webhook_deliveries_pages_${withStatus}`,
            `SELECT ${columns} FROM json_each(?) AS parent JOIN webhook_deliveries AS w ON w.id IN (
               SELECT id FROM webhook_deliveries WHERE endpoint_id = parent.value AND id < ? ${status} ORDER BY id DESC LIMIT ?)`,
          );
    },
    deliveryCounts: (withStatus: boolean) =>
      s(
        `webhook_deliveries_counts_${withStatus}`,
        `SELECT endpoint_id, count(*) AS n FROM webhook_deliveries WHERE ${d.inList("endpoint_id", "bigint")}
         ${withStatus ? `AND ${d.inList("status", "text")}` : ""} GROUP BY endpoint_id`,
      ),
    redeliver: s(
      "webhook_deliveries_redeliver",
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
       SELECT endpoint_id, incident_id, event_type, body, 'PENDING', 0, ?${as("timestamptz")}, ?${as("timestamptz")} FROM webhook_deliveries WHERE id = ? AND created_at = ?
       RETURNING ${deliveryColumns}`,
    ),

    // --- the dispatcher
    /**
     * Takes up to `limit` due deliveries for a lease: each the earliest pending one of its endpoint and incident (the
     * order rule), of an enabled endpoint that is not busy (see the dispatcher), not leased by another instance. PostgreSQL: rows another instance is
     * claiming at this moment are skipped, and the lease condition is checked again on the row once locked.
     * SQLite walks the due deliveries in order on their index (the CROSS JOIN keeps them the outer loop, where
     * ANALYZE would otherwise start from the few endpoints and sort every pending delivery).
     */
    claim: s(
      "webhook_deliveries_claim",
      pg
        ? // The head of each (endpoint, incident) first, from the pending index in one pass: probing every waiting
          // delivery for an earlier one instead costs, under MVCC, a walk over the dead index entries of those
          // already sent, for each of them (a backlog on one incident went at 7 a second).
          `UPDATE webhook_deliveries SET claimed_until = ?, claimed_by = ? WHERE id IN (
             SELECT w.id FROM (SELECT min(id) AS id FROM webhook_deliveries WHERE ${pending} GROUP BY endpoint_id, incident_id) AS head
             JOIN webhook_deliveries w ON w.id = head.id JOIN webhook_endpoints e ON e.id = w.endpoint_id
             WHERE w.${pending} AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?) AND e.enabled = TRUE
               AND NOT ${d.inList("w.endpoint_id", "bigint")}
             ORDER BY w.next_attempt_at, w.id LIMIT ? FOR UPDATE OF w SKIP LOCKED)
           RETURNING id, endpoint_id, incident_id, event_type, body, attempts, created_at`
        : `UPDATE webhook_deliveries SET claimed_until = ?, claimed_by = ? WHERE id IN (
             SELECT w.id FROM webhook_deliveries w CROSS JOIN webhook_endpoints e
             WHERE e.id = w.endpoint_id AND w.${pending} AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?)
               AND e.enabled = TRUE AND NOT ${d.inList("w.endpoint_id", "bigint")}
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = w.endpoint_id
                               AND p.incident_id = w.incident_id AND p.${pending} AND p.id < w.id)
             ORDER BY w.next_attempt_at, w.id LIMIT ?)
           RETURNING id, endpoint_id, incident_id, event_type, body, attempts, created_at`,
    ),
    finish: s(
      "webhook_deliveries_finish",
      `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status_code = ?, last_error = ?,
         next_attempt_at = ?, delivered_at = ?, claimed_until = NULL, claimed_by = NULL
       WHERE id = ? AND claimed_by = ? RETURNING id`,
    ),
    release: s(
      "webhook_deliveries_release",
      `UPDATE webhook_deliveries SET claimed_until = NULL, claimed_by = NULL WHERE id = ? AND claimed_by = ?`,
    ),
    /** Delivered and failed deliveries written before a time, oldest first, a batch at a time. */
    prune: s(
      "webhook_deliveries_prune",
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < ? ORDER BY created_at LIMIT ?) RETURNING id`,
    ),
    /** Whether a pending delivery, not leased, is due (a read on the due index: idle turns take no write lock). */
    anyDue: s(
      "webhook_deliveries_any_due",
      `SELECT id FROM webhook_deliveries WHERE ${pending} AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) LIMIT 1`,
    ),
    oldestPending: s(
      "webhook_deliveries_oldest_pending",
      `SELECT min(w.created_at) AS at FROM webhook_deliveries w JOIN webhook_endpoints e ON e.id = w.endpoint_id
       WHERE w.${pending} AND e.enabled = TRUE`,
    ),
  };
}

export type WebhookStatements = ReturnType<typeof webhookStatements>;
