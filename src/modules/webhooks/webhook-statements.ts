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
  /**
   * `before`: the latest pending delivery of an endpoint and incident, if any (on the order index). PostgreSQL: it is
   * locked (FOR SHARE) until the writer commits. Only a head leaves PENDING, so when it is the one found, a dispatcher
   * turn settling it right now is waited for and the row read again: without the lock, this delivery would wait
   * behind a head that the turn settles without seeing it (it is not committed yet), and wait forever. Newest first:
   * the dead index entries of the chain's settled deliveries lie behind it.
   */
  const lastPending = (endpoint: string, incident: string) =>
    pg
      ? `LEFT JOIN LATERAL (SELECT p.id FROM webhook_deliveries p WHERE p.endpoint_id = ${endpoint} AND p.incident_id = ${incident}
           AND p.${pending} ORDER BY p.id DESC LIMIT 1 FOR SHARE) AS before ON TRUE`
      : `LEFT JOIN webhook_deliveries AS before ON before.id = (SELECT p.id FROM webhook_deliveries p WHERE p.endpoint_id = ${endpoint}
           AND p.incident_id = ${incident} AND p.${pending} ORDER BY p.id DESC LIMIT 1)`;
  /** The due heads of endpoint `e`, soonest first, at most `?` of them, on webhook_deliveries_endpoint_due_idx. */
  const dueHeads = (columns: string) =>
    `SELECT ${columns} FROM webhook_deliveries h WHERE h.endpoint_id = e.id AND h.${pending} AND h.next_attempt_at IS NOT NULL
       AND h.next_attempt_at <= ? AND (h.claimed_until IS NULL OR h.claimed_until <= ?)`;
  // PostgreSQL types a parameter in a SELECT list as text unless told.
  const as = (type: string) => (pg ? `::${type}` : "");
  return {
    // --- the outbox, inside the transaction of a change
    /** Enabled endpoints whose filters take an event of this type (parameter 1) and service (parameter 2, null: none). */
    matchingEndpoints: s(
      "webhook_endpoints_matching",
      `SELECT id FROM webhook_endpoints WHERE enabled = TRUE AND ${listed("events", "text")} AND ${listed("service_ids", "bigint")}`,
    ),
    /**
     * One delivery per endpoint (parameter 7); due now only when no earlier one of its endpoint and incident is
     * pending (it heads its chain), else it waits (NULL) for the dispatcher to make it due once that one is settled.
     */
    insertDeliveries: s(
      "webhook_deliveries_insert",
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at)
       SELECT e.id, ?${as("bigint")}, ?, ?, ?${as("bigint")}, 'PENDING', 0, CASE WHEN before.id IS NULL THEN ?${as("timestamptz")} END, ?${as("timestamptz")}
       FROM webhook_endpoints e ${lastPending("e.id", `?${as("bigint")}`)}
       WHERE ${d.inList("e.id", "bigint")} ORDER BY e.id`,
    ),
    /**
     * The snapshot holding this incident JSON (by its hash), if stored. PostgreSQL: kept (FOR KEY SHARE) until the
     * writer commits, so that a prune deleting it as unused skips it (SKIP LOCKED), or has deleted it already and
     * it is stored again.
     */
    snapshotByHash: s("webhook_snapshot_by_hash", `SELECT id FROM webhook_snapshots WHERE hash = ?${pg ? " FOR KEY SHARE" : ""}`),
    /** Nothing when another transaction stored the same JSON meanwhile: then it is read again. */
    insertSnapshot: s(
      "webhook_snapshot_insert",
      `INSERT INTO webhook_snapshots (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING RETURNING id`,
    ),
    snapshotsByIds: s("webhook_snapshots_by_ids", `SELECT id, body FROM webhook_snapshots WHERE ${d.inList("id", "bigint")}`),
    /** Those of the listed snapshots that no delivery uses any more (on webhook_deliveries_snapshot_idx). */
    deleteUnusedSnapshots: s(
      "webhook_snapshots_delete_unused",
      `DELETE FROM webhook_snapshots WHERE id IN (
         SELECT s.id FROM webhook_snapshots s WHERE ${d.inList("s.id", "bigint")}
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.snapshot_id = s.id)${pg ? " FOR UPDATE SKIP LOCKED" : ""})`,
    ),
    /** The snapshots an endpoint's deliveries use, before they go with it. */
    snapshotsOfEndpoint: s(
      "webhook_snapshots_of_endpoint",
      `SELECT DISTINCT snapshot_id FROM webhook_deliveries WHERE endpoint_id = ? AND snapshot_id IS NOT NULL`,
    ),
    /**
     * Behind the deliveries `insertDeliveries` just wrote for the first event of a batch (same incident and type),
     * one per body (parameter 5, in order) and endpoint (parameter 6), in that order, all sharing the incident's
     * snapshot (parameter 3): each waits (NULL) until the one before it in its chain is settled, as it would had it
     * been written by its own `insertDeliveries`.
     */
    insertWaitingDeliveries: s(
      "webhook_deliveries_insert_waiting",
      pg
        ? `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at)
           SELECT e.id, ?::bigint, ?, b.body, ?::bigint, 'PENDING', 0, NULL, ?::timestamptz
           FROM unnest(?::text[]) WITH ORDINALITY AS b(body, n) CROSS JOIN webhook_endpoints e
           WHERE ${d.inList("e.id", "bigint")} ORDER BY b.n, e.id`
        : `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at)
           SELECT e.id, ?, ?, b.value, ?, 'PENDING', 0, NULL, ?
           FROM json_each(?) AS b CROSS JOIN webhook_endpoints e
           WHERE ${d.inList("e.id", "bigint")} ORDER BY b.key, e.id`,
    ),
    /**
     * SQLite: the alert.resolved deliveries of a change that resolved many alerts, written with their bodies deferred
     * (see `renderBodies` in webhook-outbox.ts). The connection, and with it the event loop, is held while a
     * transaction runs, and 30,000 bodies of about 800 bytes took over a second to build and write in one.
     */
    deferredBodies: pg
      ? undefined
      : {
          /**
           * One delivery per `[alertId, logId]` pair (parameter 4, in order) and endpoint (parameter 7), its body the
           * event's up to its `actorId` (parameter 3: `storedBody` without its closing braces), the alert and entry to
           * write in named. The first pair heads its chain when nothing of it is pending (insertDeliveries' rule);
           * the rest wait.
           */
          insert: s(
            "webhook_deliveries_insert_deferred",
            `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at,
               created_at, render_alert_id, render_log_id)
             SELECT e.id, i.incident, i.type, i.prefix, i.snapshot, 'PENDING', 0,
               CASE WHEN p.key = 0 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries b WHERE b.endpoint_id = e.id
                 AND b.incident_id = i.incident AND b.${pending}) THEN i.at END, i.at, p.value ->> 0, p.value ->> 1
             FROM (SELECT ? AS incident, ? AS type, ? AS prefix, ? AS snapshot, ? AS at) AS i
               CROSS JOIN json_each(?) AS p CROSS JOIN webhook_endpoints e
             WHERE ${d.inList("e.id", "bigint")} ORDER BY p.key, e.id`,
          ),
          /** The oldest deliveries whose body is still to be written, at most `?`. */
          unwritten: s(
            "webhook_deliveries_unwritten",
            `SELECT id FROM webhook_deliveries WHERE render_alert_id IS NOT NULL ORDER BY id LIMIT ?`,
          ),
          /**
           * Of the listed deliveries, those whose alert SQL would write otherwise than JavaScript: with a time outside
           * the years 0000-9999 (toISOString writes those with a sign), or a label or annotation key with a character
           * from U+E000 up (JavaScript sorts keys by UTF-16 units, SQLite by code points: the two differ there).
           */
          needScript: s(
            "webhook_deliveries_need_script",
            `SELECT w.id, w.body, w.render_alert_id, w.render_log_id FROM webhook_deliveries w JOIN alerts a ON a.id = w.render_alert_id
             WHERE w.id IN (SELECT value FROM json_each(?)) AND ${sqliteWritesOtherwise("a")}`,
          ),
          /** Of the listed alerts, those SQL would write otherwise than JavaScript (see needScript). */
          alertsNeedScript: s(
            "webhook_alerts_need_script",
            `SELECT a.id FROM alerts a WHERE a.id IN (SELECT value FROM json_each(?)) AND ${sqliteWritesOtherwise("a")}`,
          ),
          /**
           * The events of one request (ingestion), written at once: parameter 1 is a JSON array of events in order,
           * each `{i: incident, t: type, s: snapshot, e: [endpoint ids], p: body without its closing braces, l: entry,
           * a: alert, w: time written}` or with `b`, its whole body (written in script). Each body is built once, whatever the number of
           * endpoints, from the entry and alert as stored now (the caller writes before either changes), byte for
           * byte what logJson and alertJson write. One delivery per event and endpoint, in order; the first of each
           * chain in the request heads it when nothing of it is pending (insertDeliveries' rule); the rest wait.
           */
          insertEvents: s(
            "webhook_deliveries_insert_events",
            `WITH ev AS MATERIALIZED (
               SELECT p.key AS k, p.value ->> 'i' AS incident, p.value ->> 't' AS type, p.value ->> 's' AS snapshot,
                 p.value -> 'e' AS endpoints, p.value ->> 'w' AS at,
                 coalesce(p.value ->> 'b', p.value ->> 'p'
                   || coalesce(',"log":' || (SELECT ${sqliteLogJson("l")} FROM incident_logs l WHERE l.id = p.value ->> 'l'), '')
                   || coalesce(',"alert":' || (SELECT ${sqliteAlertJson("a")} FROM alerts a WHERE a.id = p.value ->> 'a'), '')
                   || '}}') AS body
               FROM json_each(?) AS p)
             INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at)
             SELECT e.value, ev.incident, ev.type, ev.body, ev.snapshot, 'PENDING', 0,
               CASE WHEN row_number() OVER (PARTITION BY e.value, ev.incident ORDER BY ev.k) = 1 AND NOT EXISTS (
                 SELECT 1 FROM webhook_deliveries b WHERE b.endpoint_id = e.value AND b.incident_id = ev.incident AND b.${pending}) THEN ev.at END,
               ev.at
             FROM ev CROSS JOIN json_each(ev.endpoints) AS e ORDER BY ev.k, e.value`,
          ),
          /** Of the listed deliveries, those whose body could not be written (see renderBodies). */
          abandon: s(
            "webhook_deliveries_abandon_unwritten",
            `UPDATE webhook_deliveries SET status = 'FAILED', last_error = 'its alert or entry was deleted before its body was written',
               next_attempt_at = NULL, render_alert_id = NULL, render_log_id = NULL
             WHERE id IN (SELECT value FROM json_each(?)) AND render_alert_id IS NOT NULL RETURNING id, endpoint_id, incident_id`,
          ),
          /** A body written in script. */
          write: s(
            "webhook_deliveries_write_body",
            `UPDATE webhook_deliveries SET body = ?, render_alert_id = NULL, render_log_id = NULL WHERE id = ?`,
          ),
          /**
           * The listed deliveries' bodies, completed with the entry and the alert as `logJson` and `alertJson` write
           * them, byte for byte (the few that could differ were written by `needScript`'s caller first).
           */
          render: s(
            "webhook_deliveries_render",
            `UPDATE webhook_deliveries AS w
             SET body = w.body || ',"log":' || ${sqliteLogJson("l")} || ',"alert":' || ${sqliteAlertJson("a")} || '}}',
               render_alert_id = NULL, render_log_id = NULL
             FROM alerts a, incident_logs l
             WHERE w.id IN (SELECT value FROM json_each(?)) AND a.id = w.render_alert_id AND l.id = w.render_log_id
             RETURNING id`,
          ),
        },
    logsByIds: s(
      "webhook_logs_by_ids",
      `SELECT id, incident_id, kind, message, author_id, from_status, to_status, created_at FROM incident_logs WHERE ${d.inList("id", "bigint")}`,
    ),
    alertsByIds: s("webhook_alerts_by_ids", `SELECT ${alertColumns} FROM alerts WHERE ${d.inList("id", "bigint")}`),
    /** PostgreSQL: events of one incident are written one transaction after the other, so ids follow commit order. */
    lockIncident: s("webhook_lock_incident", `SELECT id FROM incidents WHERE id = ?${d.forNoKeyUpdate}`),
    incidentById: s(
      "webhook_incident_by_id",
      `SELECT id, title, status, priority, reporter_id, assignee_id, version, created_at, updated_at,
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
    /**
     * The end of its endpoint and incident's chain: due now only when nothing of the chain is pending (see above). A
     * body still to be written is written for the copy too (deferredBodies).
     */
    redeliver: s(
      "webhook_deliveries_redeliver",
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at,
         render_alert_id, render_log_id)
       SELECT s.endpoint_id, s.incident_id, s.event_type, s.body, s.snapshot_id, 'PENDING', 0, CASE WHEN before.id IS NULL THEN ?${as("timestamptz")} END,
         ?${as("timestamptz")}, s.render_alert_id, s.render_log_id FROM webhook_deliveries s ${lastPending("s.endpoint_id", "s.incident_id")}
       WHERE s.id = ? AND s.created_at = ?
       RETURNING ${deliveryColumns}`,
    ),
    /**
     * PostgreSQL: redeliveries of one chain, one at a time. The incident's row orders them while it exists; once the
     * incident is deleted nothing else would, and two redeliveries at once would each find no pending delivery before
     * them and both be due.
     */
    lockChainOfDelivery: s(
      "webhook_lock_chain_of_delivery",
      `SELECT pg_advisory_xact_lock(hashtextextended('webhook-chain:' || endpoint_id || ':' || coalesce(incident_id::text, ''), 0))
       FROM webhook_deliveries WHERE id = ?`,
    ),
    /** PostgreSQL: a redelivery joins its chain after the events being written for the incident (see lockIncident). */
    lockIncidentOfDelivery: s(
      "webhook_lock_incident_of_delivery",
      `SELECT id FROM incidents WHERE id = (SELECT incident_id FROM webhook_deliveries WHERE id = ?)${d.forNoKeyUpdate}`,
    ),
    /**
     * Run as an endpoint is enabled, before: if it was disabled, its heads waiting for a later retry are due now (the
     * others are due already). One range of the due index.
     */
    resumeEndpoint: s(
      "webhook_deliveries_resume",
      `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND ${pending} AND next_attempt_at IS NOT NULL
         AND next_attempt_at > ?
         AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = webhook_deliveries.endpoint_id AND e.enabled = FALSE)`,
    ),

    // --- the dispatcher
    /**
     * Takes up to `limit` (the last parameter) due deliveries for a lease, soonest first. Only the head of each
     * endpoint and incident is ever due (the order rule: see insertDeliveries and promote), so the claim reads, per
     * enabled endpoint that is not busy (see the dispatcher), at most `perEndpoint` entries of the due index, plus
     * those leased by attempts in flight: what waits behind a head, behind a retry, or at a disabled or busy
     * endpoint is never read, however large the backlog. PostgreSQL: rows another instance is claiming at this
     * moment are skipped, and the conditions are checked again on the row once locked (so a delivery just leased
     * or settled by another instance is left alone: never attempted twice at once). Under MVCC the entries of settled
     * heads stay in the range until vacuumed; the first scan that finds one dead marks it, and later ones step over
     * it without reading the table. A delivery whose body is still to be written (deferredBodies) waits for it.
     */
    claim: s(
      "webhook_deliveries_claim",
      pg
        ? `UPDATE webhook_deliveries SET claimed_until = ?, claimed_by = ? WHERE id IN (
             SELECT w.id FROM webhook_endpoints e CROSS JOIN LATERAL (${dueHeads("h.id")} ORDER BY h.next_attempt_at, h.id LIMIT ?) AS head
             JOIN webhook_deliveries w ON w.id = head.id
             WHERE e.enabled = TRUE AND NOT ${d.inList("e.id", "bigint")}
               AND w.${pending} AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?) AND w.render_alert_id IS NULL
             ORDER BY w.next_attempt_at, w.id LIMIT ? FOR UPDATE OF w SKIP LOCKED)
           RETURNING id, endpoint_id, incident_id, event_type, body, snapshot_id, attempts, created_at`
        : // The endpoints are the outer loop (CROSS JOIN), each reading its range; the few rows found are sorted.
          // The conditions on w repeat those of the range (as PostgreSQL needs them), so that both take one parameter list.
          `UPDATE webhook_deliveries SET claimed_until = ?, claimed_by = ? WHERE id IN (
             SELECT w.id FROM webhook_endpoints e CROSS JOIN webhook_deliveries w
             WHERE w.id IN (${dueHeads("h.id")} ORDER BY h.next_attempt_at, h.id LIMIT ?)
               AND e.enabled = TRUE AND NOT ${d.inList("e.id", "bigint")}
               AND w.next_attempt_at <= ? AND (w.claimed_until IS NULL OR w.claimed_until <= ?) AND w.render_alert_id IS NULL
             ORDER BY w.next_attempt_at, w.id LIMIT ?)
           RETURNING id, endpoint_id, incident_id, event_type, body, snapshot_id, attempts, created_at`,
    ),
    /** The outcome of an attempt, while this instance holds the lease. */
    finish: s(
      "webhook_deliveries_finish",
      `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_status_code = ?, last_error = ?,
         next_attempt_at = ?, delivered_at = ?, claimed_until = NULL, claimed_by = NULL
       WHERE id = ? AND claimed_by = ? RETURNING id, endpoint_id, incident_id`,
    ),
    /**
     * A head was DELIVERED or FAILED (its id, parameter 4): the next pending delivery of its endpoint and incident is
     * due now. Nothing of the chain before the head is pending, so the order index is read from the head on.
     */
    promote: s(
      "webhook_deliveries_promote",
      `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = (
         SELECT n.id FROM webhook_deliveries n WHERE n.endpoint_id = ? AND n.incident_id = ? AND n.${pending} AND n.id > ?
         ORDER BY n.id LIMIT 1) AND next_attempt_at IS NULL`,
    ),
    /**
     * PostgreSQL: a turn waits at most this long for a row lock. A writer adding to chains holds the latest pending
     * delivery of each FOR SHARE until it commits, and may wait for a head this turn settles while the turn waits to
     * finish or promote one it holds: the turn gives up (and is tried again) long before PostgreSQL's deadlock check
     * (deadlock_timeout, 1 s) would roll back either, so the writer (a user's change) is never the one undone.
     */
    lockTimeout: s("webhook_lock_timeout", `SELECT set_config('lock_timeout', '100ms', true)`),
    release: s(
      "webhook_deliveries_release",
      `UPDATE webhook_deliveries SET claimed_until = NULL, claimed_by = NULL WHERE id = ? AND claimed_by = ?`,
    ),
    /** Delivered and failed deliveries written before a time, oldest first, a batch at a time. */
    prune: s(
      "webhook_deliveries_prune",
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status <> 'PENDING' AND created_at < ? ORDER BY created_at LIMIT ?) RETURNING id, snapshot_id`,
    ),
    /**
     * Whether an enabled endpoint that is not busy (the list) has a due head not leased: a read on the due index,
     * one range per endpoint, so that idle turns take no write lock, and a backlog that cannot go now wakes nothing.
     */
    anyDue: s(
      "webhook_deliveries_any_due",
      `SELECT e.id FROM webhook_endpoints e WHERE e.enabled = TRUE AND EXISTS (${dueHeads("1")}) AND NOT ${d.inList("e.id", "bigint")} LIMIT 1`,
    ),
    oldestPending: s(
      "webhook_deliveries_oldest_pending",
      `SELECT min(w.created_at) AS at FROM webhook_deliveries w JOIN webhook_endpoints e ON e.id = w.endpoint_id
       WHERE w.${pending} AND e.enabled = TRUE`,
    ),
  };
}

/** 0000-01-01 and 9999-12-31T23:59:59.999Z in epoch ms: the times SQLite's strftime and toISOString write alike. */
const minIsoTime = -62_167_219_200_000;
const maxIsoTime = 253_402_300_799_999;
/** A key with a character from U+E000 up (see deferredBodies.needScript). */
const wideKey = "*[\uE000-\u{10FFFF}]*";

/**
 * SQLite: whether alerts row `a` holds what SQL would write otherwise than JavaScript: a time outside the years
 * 0000-9999 (toISOString writes those with a sign), or a label or annotation key with a character from U+E000 up
 * (JavaScript sorts keys by UTF-16 units, SQLite by code points: the two differ there).
 */
const sqliteWritesOtherwise = (a: string) =>
  `(${[`${a}.starts_at`, `${a}.last_seen_at`, `${a}.resolved_at`].map((column) => `${column} NOT BETWEEN ${minIsoTime} AND ${maxIsoTime}`).join(" OR ")}
    OR EXISTS (SELECT 1 FROM json_each(${a}.labels) WHERE key GLOB '${wideKey}')
    OR EXISTS (SELECT 1 FROM json_each(${a}.annotations) WHERE key GLOB '${wideKey}'))`;

/** SQLite: an epoch-ms column as toISOString writes it (years 0000-9999), NULL as NULL. */
const sqliteIso = (column: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${column} / 1000.0, 'unixepoch')`;
/** SQLite: a JSON object of labels as stored, as `labelList` writes it: `[{"key":..,"value":..}]` sorted by key. */
const sqliteLabelList = (column: string) =>
  `json((SELECT json_group_array(json_object('key', key, 'value', value) ORDER BY key) FROM json_each(${column})))`;

/** SQLite: `logJson` of incident_logs row `l`, the same text as JSON.stringify writes. */
const sqliteLogJson = (l: string) =>
  `json_object('id', CAST(${l}.id AS TEXT), 'kind', ${l}.kind, 'message', ${l}.message, 'authorId', CAST(${l}.author_id AS TEXT),
     'fromStatus', ${l}.from_status, 'toStatus', ${l}.to_status, 'createdAt', ${sqliteIso(`${l}.created_at`)})`;

/** SQLite: `alertJson` of alerts row `a`, the same text as JSON.stringify writes. */
const sqliteAlertJson = (a: string) =>
  `json_object('id', CAST(${a}.id AS TEXT), 'fingerprint', ${a}.fingerprint, 'status', ${a}.status, 'severity', ${a}.severity,
     'summary', ${a}.summary, 'source', ${a}.source, 'labels', ${sqliteLabelList(`${a}.labels`)},
     'annotations', ${sqliteLabelList(`${a}.annotations`)}, 'generatorUrl', ${a}.generator_url,
     'startsAt', ${sqliteIso(`${a}.starts_at`)}, 'lastSeenAt', ${sqliteIso(`${a}.last_seen_at`)},
     'resolvedAt', ${sqliteIso(`${a}.resolved_at`)}, 'eventCount', ${a}.event_count, 'integrationId', CAST(${a}.integration_id AS TEXT))`;

export type WebhookStatements = ReturnType<typeof webhookStatements>;
