import type { Dialect, Statement } from "../../db/sql-work.js";
import { alertColumns, integrationColumns } from "./alert-rows.js";

const active = `('OPEN', 'INVESTIGATING')`;

/**
 * One ALERT entry per alert of the list, "Alert <alertname, else fingerprint><suffix>", in alert id order: the
 * entries' ids grow in that order (SQLite draws each rowid as it inserts; PostgreSQL evaluates the identity's
 * default above the sort), so sorted ids pair with sorted alert ids. Parameters: incident, the `jsonKey` of
 * alertname, suffix, time, alert ids. Shared by a person's resolution and a merge into a resolved incident.
 */
export function alertEntriesStatement(d: Dialect): Statement {
  const as = (type: string) => (d.kind === "postgres" ? `::${type}` : "");
  return {
    name: "incident_logs_insert_alert_entries",
    text: `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
       SELECT ?${as("bigint")}, 'ALERT', 'Alert ' || COALESCE(${d.jsonText("labels")}, fingerprint) || ?${as("text")}, NULL, NULL, NULL, ?${as("timestamptz")}
       FROM alerts WHERE ${d.inList("id", "bigint")} ORDER BY id RETURNING id`,
  };
}

/** Every statement of alert ingestion and alert reads, written once; `d` supplies what differs. */
export function alertStatements(d: Dialect) {
  const s = (name: string, text: string): Statement => ({ name, text });
  return {
    authenticate: s(
      "integrations_authenticate",
      `SELECT i.id, i.service_id, i.kind, i.key_hash, s.auto_resolve, s.grouping_labels, s.grouping_window_seconds
       FROM integrations i JOIN services s ON s.id = i.service_id WHERE i.key_hash = ?`,
    ),
    /** Inside the request's transaction: the key still names the integration (not rotated or deleted meanwhile). */
    touchIntegration: s("integrations_touch", `UPDATE integrations SET last_event_at = ? WHERE id = ? AND key_hash = ? RETURNING id`),
    /**
     * A new alert takes the incident given last (when its group's is known already); a repeat keeps its own. A FIRING
     * alert whose incident is no longer active (`incident_active` 0: moved by a merge into a resolved incident, or
     * older data) is not updated and no row comes back: the caller retires it (`retireFiring`) and runs this again.
     */
    upsertFiring: s(
      "alerts_upsert_firing",
      `INSERT INTO alerts (integration_id, service_id, fingerprint, status, severity, summary, source, labels, annotations,
                           generator_url, group_key, starts_at, last_seen_at, event_count, received_at, incident_id, group_values,
                           incident_active)
       VALUES (?, ?, ?, 'FIRING', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
       ON CONFLICT (service_id, fingerprint) WHERE status = 'FIRING' DO UPDATE SET
         last_seen_at = excluded.last_seen_at, event_count = alerts.event_count + 1, severity = excluded.severity,
         summary = excluded.summary, source = excluded.source, labels = excluded.labels,
         annotations = excluded.annotations, generator_url = excluded.generator_url, group_values = excluded.group_values
       WHERE alerts.incident_active = 1
       RETURNING id, incident_id, event_count`,
    ),
    /** Section 9: never attach to a resolved incident. The FIRING alert stranded on one resolves, so that a new one opens. */
    retireFiring: s(
      "alerts_retire_firing",
      `UPDATE alerts SET status = 'RESOLVED', resolved_at = ?
       WHERE service_id = ? AND fingerprint = ? AND status = 'FIRING' AND incident_active = 0 RETURNING id, incident_id`,
    ),
    /**
     * PostgreSQL: one group's decision (join which incident, or open one) at a time, until COMMIT. Without it, two
     * transactions with different new alerts of one new group each see no incident and each open one. SQLite's
     * write transactions run one at a time already.
     */
    groupLock: d.kind === "postgres" ? s("alerts_group_lock", `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`) : undefined,
    /**
     * PostgreSQL: the incidents the request's alerts already fire on, locked before any alert row, in id order.
     * Every writer of an incident and its alerts takes the incident first (a person's update, a merge in id order,
     * a deletion): a request that locked an alert row first (resolving it) and its incident after waited on a
     * writer doing the reverse, or on another resolution of the same incident ("deadlock detected"). Parameters:
     * service, fingerprints. SQLite's write transactions run one at a time already.
     */
    lockAlertIncidents:
      d.kind === "postgres"
        ? s(
            "incidents_lock_of_alerts",
            `SELECT id FROM incidents WHERE id IN (
               SELECT incident_id FROM alerts WHERE service_id = ? AND ${d.inList("fingerprint", "text")} AND status = 'FIRING')
             ORDER BY id${d.forNoKeyUpdate}`,
          )
        : undefined,
    /** Only ever to an active incident (locked, or opened, by this transaction). */
    attach: s("alerts_attach", `UPDATE alerts SET incident_id = ?, incident_active = 1 WHERE id = ?`),
    /**
     * Through `alerts_group_key_active_idx`, which holds only alerts of active incidents (`incident_active`, kept by
     * the statements that change an incident's status or an alert's incident): the first entry answers, however many alerts of resolved incidents the group has. The join stays as
     * the rule itself; the caller locks the incident and checks it again.
     */
    groupKeyIncident: s(
      "alerts_group_key_incident",
      `SELECT a.incident_id FROM alerts a JOIN incidents i ON i.id = a.incident_id
       WHERE a.service_id = ? AND a.group_key = ? AND a.incident_active = 1 AND i.status IN ${active}
       ORDER BY a.id DESC LIMIT 1`,
    ),
    /** With `keys` grouping labels: parameters are service, window start, then (key, value) for each. */
    /**
     * The latest alert of an active incident received since the window's start with the same grouping values:
     * through `alerts_group_values_active_idx` for alerts that stored them (a seek into alerts of active incidents
     * only, whatever the window or the group's history of resolved incidents holds), and by
     * comparing `labels` for the few that did not (written before the grouping labels last changed). Parameters:
     * service, values, start; then service, start, each key and value.
     */
    windowIncident: (keys: number) =>
      s(
        `alerts_window_incident_${keys}`,
        `SELECT incident_id FROM (
           SELECT * FROM (SELECT a.incident_id, a.received_at, a.id FROM alerts a JOIN incidents i ON i.id = a.incident_id
             WHERE a.service_id = ? AND a.group_values = ? AND a.received_at >= ? AND a.incident_active = 1
               AND i.status IN ${active}
             ORDER BY a.received_at DESC, a.id DESC LIMIT 1) AS stored
           UNION ALL
           SELECT * FROM (SELECT a.incident_id, a.received_at, a.id FROM alerts a JOIN incidents i ON i.id = a.incident_id
             WHERE a.service_id = ? AND a.group_values IS NULL AND a.received_at >= ? AND a.incident_active = 1
               AND i.status IN ${active}
             ${Array.from({ length: keys }, () => `AND ${d.same(d.jsonText("a.labels"), "?")}`).join(" ")}
             ORDER BY a.received_at DESC, a.id DESC LIMIT 1) AS compared
         ) AS latest ORDER BY received_at DESC, id DESC LIMIT 1`,
      ),

    insertIncident: s(
      "incidents_insert_from_alert",
      `INSERT INTO incidents (title, description, status, priority, version, created_at, updated_at, service_id)
       VALUES (?, ?, 'OPEN', ?, 1, ?, ?, ?) RETURNING id`,
    ),
    insertLabel: s("incident_labels_insert", `INSERT INTO incident_labels (incident_id, key, value) VALUES (?, ?, ?)`),
    labelsOfIncident: s("incident_labels_of_one", `SELECT key, value FROM incident_labels WHERE incident_id = ? ORDER BY key${d.binary}`),
    deleteLabels: s("incident_labels_delete", `DELETE FROM incident_labels WHERE incident_id = ?`),
    insertSystemLog: s(
      "incident_logs_insert_system",
      `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
       VALUES (?, ?, ?, NULL, ?, ?, ?) RETURNING id`,
    ),
    resolveFiring: s(
      "alerts_resolve_firing",
      `UPDATE alerts SET status = 'RESOLVED', resolved_at = ?, last_seen_at = ?, event_count = event_count + 1
       WHERE service_id = ? AND fingerprint = ? AND status = 'FIRING' RETURNING id, incident_id, labels`,
    ),
    acknowledgeFiring: s(
      "alerts_acknowledge_firing",
      `UPDATE alerts SET last_seen_at = ?, event_count = event_count + 1
       WHERE service_id = ? AND fingerprint = ? AND status = 'FIRING' RETURNING id, incident_id`,
    ),
    /**
     * The incident leaves OPEN/INVESTIGATING: its firing alerts take `incident_active` 0 in the same write (followIncident
     * then rewrites only the others), not each row twice.
     */
    resolveIncidentAlerts: s(
      "alerts_resolve_of_incident",
      `UPDATE alerts SET status = 'RESOLVED', resolved_at = ?, incident_active = 0 WHERE incident_id = ? AND status = 'FIRING' RETURNING id`,
    ),
    insertAlertEntries: alertEntriesStatement(d),
    /**
     * An incident's alerts follow its status into or out of OPEN/INVESTIGATING (`incident_active`, which the grouping
     * lookups' partial indexes hold): run by every statement path that moves an incident across that line.
     */
    followIncident: s(
      "alerts_follow_incident",
      `UPDATE alerts SET incident_active = ? WHERE incident_id = ? AND incident_active <> ?`,
    ),
    lockIncident: s("incidents_lock_status", `SELECT status FROM incidents WHERE id = ?${d.forNoKeyUpdate}`),
    firingCount: s("alerts_firing_count", `SELECT count(*) AS n FROM alerts WHERE incident_id = ? AND status = 'FIRING'`),
    systemStatus: s(
      "incidents_system_status",
      `UPDATE incidents SET status = ?, updated_at = ?, version = version + 1,
         resolved_at = CASE WHEN ? = 'RESOLVED' THEN ? ELSE resolved_at END,
         resolved_by_system = (? = 'RESOLVED' OR resolved_by_system),
         acknowledged_at = CASE WHEN ? = 'INVESTIGATING' THEN COALESCE(acknowledged_at, ?) ELSE acknowledged_at END
       WHERE id = ? AND status = ? RETURNING id`,
    ),

    alertsByIds: s("alerts_by_ids", `SELECT ${alertColumns} FROM alerts WHERE ${d.inList("id", "bigint")}`),
    alertPages: (withStatus: boolean) => {
      const status = withStatus ? `AND ${d.inList("status", "text")}` : "";
      const columns = alertColumns
        .split(", ")
        .map((column) => `a.${column}`)
        .join(", ");
      // A LIMITed range of alerts_incident_idx per parent: the cost follows `first`, not the number of alerts.
      return d.kind === "sqlite"
        ? s(
            `alerts_pages_${withStatus}`,
            `SELECT ${columns} FROM json_each(?) AS parent JOIN alerts AS a ON a.id IN (
               SELECT id FROM alerts WHERE incident_id = parent.value AND id > ? ${status} ORDER BY id LIMIT ?)`,
          )
        : s(
            `alerts_pages_${withStatus}`,
            `SELECT ${columns} FROM unnest(?::bigint[]) AS parent(id) CROSS JOIN LATERAL (
               SELECT * FROM alerts WHERE incident_id = parent.id AND id > ? ${status} ORDER BY id LIMIT ?) AS a`,
          );
    },
    alertCounts: (withStatus: boolean) =>
      s(
        `alerts_counts_${withStatus}`,
        `SELECT incident_id, count(*) AS n FROM alerts WHERE ${d.inList("incident_id", "bigint")}
         ${withStatus ? `AND ${d.inList("status", "text")}` : ""} GROUP BY incident_id`,
      ),

    integrationsByIds: s("integrations_by_ids", `SELECT ${integrationColumns} FROM integrations WHERE ${d.inList("id", "bigint")}`),
    integrationsOfServices: s(
      "integrations_of_services",
      `SELECT ${integrationColumns} FROM integrations WHERE ${d.inList("service_id", "bigint")} ORDER BY service_id, id`,
    ),
    serviceExists: s("services_exists", `SELECT id FROM services WHERE id = ?`),
    insertIntegration: s(
      "integrations_insert",
      `INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${integrationColumns}`,
    ),
    rotateIntegration: s(
      "integrations_rotate",
      `UPDATE integrations SET key_hash = ?, key_hint = ? WHERE id = ? RETURNING ${integrationColumns}`,
    ),
    deleteIntegration: s("integrations_delete", `DELETE FROM integrations WHERE id = ? RETURNING id`),
  };
}

export type AlertStatements = ReturnType<typeof alertStatements>;
