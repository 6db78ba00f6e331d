// The raw floor of alert ingestion on PostgreSQL: bench/ingest-floor.ts's work with a `pg` Pool and hand-written
// named statements (parsed once per connection), one transaction on one connection per request.
// Benchmark-only: the server never imports this file.
//
// Run alone: node dist/bench/ingest-floor-pg.js --url postgres://... --am-key K --v2-key K  (prints {"port":N})
import pg from "pg";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
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

const AUTHENTICATE = "SELECT id, service_id, kind FROM integrations WHERE key_hash = $1";
const TOUCH = "UPDATE integrations SET last_event_at = $1 WHERE id = $2";
const UPSERT = `INSERT INTO alerts (integration_id, service_id, fingerprint, status, severity, summary, source, labels, annotations,
                     generator_url, group_key, starts_at, last_seen_at, event_count, received_at, incident_id)
  VALUES ($1, $2, $3, 'FIRING', $4, $5, NULL, $6, $7, NULL, $8, $9, $10, 1, $10, $11)
  ON CONFLICT (service_id, fingerprint) WHERE status = 'FIRING' DO UPDATE SET
    last_seen_at = excluded.last_seen_at, event_count = alerts.event_count + 1, severity = excluded.severity,
    summary = excluded.summary, labels = excluded.labels, annotations = excluded.annotations
  RETURNING id, incident_id, event_count`;
const GROUP_INCIDENT = `SELECT a.incident_id FROM alerts a JOIN incidents i ON i.id = a.incident_id
  WHERE a.service_id = $1 AND a.group_key = $2 AND i.status IN ('OPEN', 'INVESTIGATING') ORDER BY a.id DESC LIMIT 1`;
const INSERT_INCIDENT = `INSERT INTO incidents (title, description, status, priority, version, created_at, updated_at, service_id)
  VALUES ($1, $2, 'OPEN', $3, 1, $4, $4, $5) RETURNING id`;
const INSERT_LABEL = "INSERT INTO incident_labels (incident_id, key, value) VALUES ($1, $2, $3)";
const ATTACH = "UPDATE alerts SET incident_id = $1 WHERE id = $2";
const INSERT_LOG = "INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES ($1, 'ALERT', $2, NULL, $3)";
const RESOLVE = `UPDATE alerts SET status = 'RESOLVED', resolved_at = $1, last_seen_at = $1, event_count = event_count + 1
  WHERE service_id = $2 AND fingerprint = $3 AND status = 'FIRING' RETURNING incident_id`;

export async function openIngestFloorPg(url: string, keys: { am: string; v2: string }): Promise<IngestFloor> {
  const handle = openPostgres({ url, poolSize: 10 });
  await applyPostgresMigrations(handle, migrationsFolder("postgres"));
  await handle.close();
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const now = new Date();
  const service = (await pool.query("INSERT INTO services (name, name_key, created_at, updated_at) VALUES ('floor', $1, $2, $2) RETURNING id", [`floor-${now.getTime()}`, now]))
    .rows[0].id;
  for (const [name, kind, key] of [["am", "ALERTMANAGER", keys.am], ["v2", "EVENTS_V2", keys.v2]] as const) {
    await pool.query("INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at) VALUES ($1, $2, $3, $4, 'hint', $5)", [
      service, name, kind, sha256(key), now,
    ]);
  }
  const q = (client: pg.PoolClient, name: string, text: string, values: unknown[]) => client.query({ name, text, values });

  async function ingest(integration: { id: string; service_id: string }, alerts: Alert[]): Promise<number[]> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const at = new Date();
      const incidents = new Set<number>();
      const groups = new Map<string, unknown>(); // the incident of each group this request has met
      for (const alert of alerts) {
        if (!alert.firing) {
          const row = (await q(client, "resolve", RESOLVE, [at, integration.service_id, alert.fingerprint])).rows[0];
          if (row) {
            await q(client, "log", INSERT_LOG, [row.incident_id, `Alert ${alert.labels.alertname ?? alert.fingerprint} resolved`, at]);
            incidents.add(Number(row.incident_id));
          }
          continue;
        }
        const known = alert.groupKey === null ? undefined : groups.get(alert.groupKey);
        const row = (
          await q(client, "upsert", UPSERT, [
            integration.id, integration.service_id, alert.fingerprint, alert.severity, alert.summary,
            JSON.stringify(alert.labels), JSON.stringify(alert.annotations), alert.groupKey, new Date(alert.startsAt), at, known ?? null,
          ])
        ).rows[0];
        if (row.event_count > 1) {
          incidents.add(Number(row.incident_id));
          continue;
        }
        let incident = known;
        if (incident === undefined) {
          incident = alert.groupKey === null ? undefined : (await q(client, "group", GROUP_INCIDENT, [integration.service_id, alert.groupKey])).rows[0]?.incident_id;
          if (incident === undefined) {
            incident = (await q(client, "incident", INSERT_INCIDENT, [alert.title, alert.description, priorities[alert.severity], at, integration.service_id])).rows[0].id;
            const labels = Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, 20);
            for (const [key, value] of labels) await q(client, "label", INSERT_LABEL, [incident, key, value]);
          }
          await q(client, "attach", ATTACH, [incident, row.id]);
          if (alert.groupKey !== null) groups.set(alert.groupKey, incident);
        }
        await q(client, "log", INSERT_LOG, [incident, `Alert ${alert.labels.alertname ?? alert.fingerprint} firing: ${alert.summary}`, at]);
        incidents.add(Number(incident));
      }
      await q(client, "touch", TOUCH, [at, integration.id]);
      await client.query("COMMIT");
      client.release();
      return [...incidents];
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      client.release();
      throw error;
    }
  }

  const lookup = async (key: string | undefined, kind: string) => {
    if (!key) return undefined;
    const found = (await pool.query({ name: "authenticate", text: AUTHENTICATE, values: [sha256(key)] })).rows[0];
    return found && found.kind === kind ? found : undefined;
  };

  return {
    async alertmanager(key, body) {
      const integration = await lookup(key, "ALERTMANAGER");
      if (!integration) return unauthorized;
      const alerts = alertmanagerAlerts(body);
      return alertmanagerAnswer(alerts.length, await ingest(integration, alerts));
    },
    async enqueue(body) {
      const integration = await lookup(body.routing_key, "EVENTS_V2");
      if (!integration) return unauthorized;
      const alert = eventsV2Alert(body);
      await ingest(integration, [alert]);
      return enqueueAnswer(alert.fingerprint);
    },
  };
}

if (process.argv[1]?.endsWith("ingest-floor-pg.js")) {
  void openIngestFloorPg(floorArgument("url")!, { am: floorArgument("am-key")!, v2: floorArgument("v2-key")! }).then((floor) => serveFloor(floor));
}
