// The raw floor of alert ingestion: the same work as POST /hooks/alertmanager and POST /v2/enqueue with nothing but
// node:http, better-sqlite3 and hand-written statements prepared once: the key looked up by its SHA-256, then one
// BEGIN IMMEDIATE transaction per request that upserts every alert on the partial unique index of FIRING alerts
// and, for a new one, finds the incident of its group or opens one (with its labels), attaches it and writes its
// ALERT entry. Trusting input it does not check field by field, it is faster than any real server can be.
// Benchmark-only: the server never imports this file.
//
// Run alone: node dist/bench/ingest-floor.js --db /path/incidents.db --am-key K --v2-key K  (prints {"port":N})
import Database from "better-sqlite3";
import { connectionPragmas } from "../src/db/sqlite-pragmas.js";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import {
  alertmanagerAlerts,
  alertmanagerAnswer,
  enqueueAnswer,
  eventsV2Alert,
  floorArgument,
  priorities,
  serveFloor,
  sha256,
  unauthorized,
  type Alert,
  type IngestFloor,
} from "./ingest-wire.js";

export function openIngestFloor(dbPath: string, keys: { am: string; v2: string }): IngestFloor & { close(): void } {
  const db = new Database(dbPath, { timeout: 5000 });
  // The same connection settings as the server: WAL, synchronous=FULL, foreign keys, the map and the cache.
  for (const pragma of connectionPragmas) db.pragma(pragma);
  applyMigrations(db, migrationsFolder("sqlite"));
  const now = Date.now();
  const service = db.prepare("INSERT INTO services (name, name_key, created_at, updated_at) VALUES ('floor', ?, ?, ?)").run(`floor-${now}`, now, now)
    .lastInsertRowid as number;
  const addKey = db.prepare("INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at) VALUES (?, ?, ?, ?, 'hint', ?)");
  addKey.run(service, "am", "ALERTMANAGER", sha256(keys.am), now);
  addKey.run(service, "v2", "EVENTS_V2", sha256(keys.v2), now);

  const authenticate = db.prepare<[string], { id: number; service_id: number; kind: string }>(
    "SELECT id, service_id, kind FROM integrations WHERE key_hash = ?",
  );
  const touch = db.prepare("UPDATE integrations SET last_event_at = ? WHERE id = ?");
  const upsert = db.prepare<unknown[], { id: number; incident_id: number | null; event_count: number }>(
    `INSERT INTO alerts (integration_id, service_id, fingerprint, status, severity, summary, source, labels, annotations,
                         generator_url, group_key, starts_at, last_seen_at, event_count, received_at, incident_id)
     VALUES (?, ?, ?, 'FIRING', ?, ?, NULL, ?, ?, NULL, ?, ?, ?, 1, ?, ?)
     ON CONFLICT (service_id, fingerprint) WHERE status = 'FIRING' DO UPDATE SET
       last_seen_at = excluded.last_seen_at, event_count = alerts.event_count + 1, severity = excluded.severity,
       summary = excluded.summary, labels = excluded.labels, annotations = excluded.annotations
     RETURNING id, incident_id, event_count`,
  );
  const groupIncident = db
    .prepare<[number, string], number>(
      `SELECT a.incident_id FROM alerts a JOIN incidents i ON i.id = a.incident_id
       WHERE a.service_id = ? AND a.group_key = ? AND i.status IN ('OPEN', 'INVESTIGATING') ORDER BY a.id DESC LIMIT 1`,
    )
    .pluck();
  const insertIncident = db
    .prepare<unknown[], number>(
      `INSERT INTO incidents (title, description, status, priority, version, created_at, updated_at, service_id)
       VALUES (?, ?, 'OPEN', ?, 1, ?, ?, ?) RETURNING id`,
    )
    .pluck();
  const insertLabel = db.prepare("INSERT INTO incident_labels (incident_id, key, value) VALUES (?, ?, ?)");
  const attach = db.prepare("UPDATE alerts SET incident_id = ? WHERE id = ?");
  const insertLog = db.prepare(
    "INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES (?, 'ALERT', ?, NULL, ?)",
  );
  const resolve = db.prepare<unknown[], { incident_id: number }>(
    `UPDATE alerts SET status = 'RESOLVED', resolved_at = ?, last_seen_at = ?, event_count = event_count + 1
     WHERE service_id = ? AND fingerprint = ? AND status = 'FIRING' RETURNING incident_id`,
  );

  const ingest = db.transaction((integration: { id: number; service_id: number }, alerts: Alert[]) => {
    const at = Date.now();
    const incidents: number[] = [];
    const groups = new Map<string, number>(); // the incident of each group this request has met
    for (const alert of alerts) {
      if (!alert.firing) {
        const row = resolve.get(at, at, integration.service_id, alert.fingerprint);
        if (row) {
          insertLog.run(row.incident_id, `Alert ${alert.labels.alertname ?? alert.fingerprint} resolved`, at);
          incidents.push(row.incident_id);
        }
        continue;
      }
      const known = alert.groupKey === null ? undefined : groups.get(alert.groupKey);
      const row = upsert.get(
        integration.id, integration.service_id, alert.fingerprint, alert.severity, alert.summary,
        JSON.stringify(alert.labels), JSON.stringify(alert.annotations), alert.groupKey, alert.startsAt, at, at, known ?? null,
      )!;
      if (row.event_count > 1) {
        incidents.push(row.incident_id!);
        continue;
      }
      let incident = known;
      if (incident === undefined) {
        incident = alert.groupKey === null ? undefined : groupIncident.get(integration.service_id, alert.groupKey);
        if (incident === undefined) {
          incident = insertIncident.get(alert.title, alert.description, priorities[alert.severity], at, at, integration.service_id)!;
          const labels = Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, 20);
          for (const [key, value] of labels) insertLabel.run(incident, key, value);
        }
        attach.run(incident, row.id);
        if (alert.groupKey !== null) groups.set(alert.groupKey, incident);
      }
      insertLog.run(incident, `Alert ${alert.labels.alertname ?? alert.fingerprint} firing: ${alert.summary}`, at);
      incidents.push(incident);
    }
    touch.run(at, integration.id);
    return [...new Set(incidents)];
  });

  const lookup = (key: string | undefined, kind: string) => {
    const found = key ? authenticate.get(sha256(key)) : undefined;
    return found && found.kind === kind ? found : undefined;
  };

  return {
    alertmanager(key, body) {
      const integration = lookup(key, "ALERTMANAGER");
      if (!integration) return unauthorized;
      const alerts = alertmanagerAlerts(body);
      return alertmanagerAnswer(alerts.length, ingest(integration, alerts));
    },
    enqueue(body) {
      const integration = lookup(body.routing_key, "EVENTS_V2");
      if (!integration) return unauthorized;
      const alert = eventsV2Alert(body);
      ingest(integration, [alert]);
      return enqueueAnswer(alert.fingerprint);
    },
    close: () => db.close(),
  };
}

if (process.argv[1]?.endsWith("ingest-floor.js")) {
  serveFloor(openIngestFloor(floorArgument("db")!, { am: floorArgument("am-key")!, v2: floorArgument("v2-key")! }));
}
