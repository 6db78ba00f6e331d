// The raw floor of alert ingestion: the same work as POST /hooks/alertmanager and POST /v2/enqueue with nothing but
// node:http, better-sqlite3 and hand-written statements prepared once: the key looked up by its SHA-256, then one
// BEGIN IMMEDIATE transaction per request that upserts every alert on the partial unique index of FIRING alerts
// and, for a new one, finds the incident of its group or opens one (with its labels), attaches it and writes its
// ALERT entry. Trusting input it does not check field by field, it is faster than any real server can be.
// Benchmark-only: the server never imports this file.
//
// Run alone: node dist/bench/ingest-floor.js --db /path/incidents.db --am-key K --v2-key K  (prints {"port":N})
import Database from "better-sqlite3";
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";

interface Alert {
  fingerprint: string;
  firing: boolean;
  severity: string;
  summary: string;
  title: string;
  description: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  groupKey: string | null;
  startsAt: number;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const priorities: Record<string, string> = { CRITICAL: "CRITICAL", ERROR: "HIGH", WARNING: "MEDIUM", INFO: "LOW" };
const severityOf = (text: string | undefined) => (text && ["critical", "error", "warning", "info"].includes(text) ? text.toUpperCase() : "WARNING");

export function openIngestFloor(dbPath: string, keys: { am: string; v2: string }) {
  const db = new Database(dbPath, { timeout: 5000 });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
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
                         generator_url, group_key, starts_at, last_seen_at, event_count, received_at)
     VALUES (?, ?, ?, 'FIRING', ?, ?, NULL, ?, ?, NULL, ?, ?, ?, 1, ?)
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
    touch.run(at, integration.id);
    const incidents: number[] = [];
    for (const alert of alerts) {
      if (!alert.firing) {
        const row = resolve.get(at, at, integration.service_id, alert.fingerprint);
        if (row) {
          insertLog.run(row.incident_id, `Alert ${alert.labels.alertname ?? alert.fingerprint} resolved`, at);
          incidents.push(row.incident_id);
        }
        continue;
      }
      const row = upsert.get(
        integration.id, integration.service_id, alert.fingerprint, alert.severity, alert.summary,
        JSON.stringify(alert.labels), JSON.stringify(alert.annotations), alert.groupKey, alert.startsAt, at, at,
      )!;
      if (row.event_count > 1) {
        incidents.push(row.incident_id!);
        continue;
      }
      let incident = alert.groupKey === null ? undefined : groupIncident.get(integration.service_id, alert.groupKey);
      if (incident === undefined) {
        incident = insertIncident.get(alert.title, alert.description, priorities[alert.severity], at, at, integration.service_id)!;
        const labels = Object.entries(alert.labels).sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, 20);
        for (const [key, value] of labels) insertLabel.run(incident, key, value);
      }
      attach.run(incident, row.id);
      insertLog.run(incident, `Alert ${alert.labels.alertname ?? alert.fingerprint} firing: ${alert.summary}`, at);
      incidents.push(incident);
    }
    return [...new Set(incidents)];
  });

  const lookup = (key: string | undefined, kind: string) => {
    const found = key ? authenticate.get(sha256(key)) : undefined;
    return found && found.kind === kind ? found : undefined;
  };

  return {
    alertmanager(key: string | undefined, body: any): [number, unknown] {
      const integration = lookup(key, "ALERTMANAGER");
      if (!integration) return [401, { status: "unauthorized", message: "unknown key" }];
      const alerts: Alert[] = body.alerts.map((raw: any) => ({
        fingerprint: raw.fingerprint,
        firing: raw.status === "firing",
        severity: severityOf(raw.labels.severity),
        summary: String(raw.annotations?.summary ?? raw.labels.alertname ?? "Alert").slice(0, 1024),
        title: String(raw.annotations?.summary ?? raw.labels.alertname ?? "Alert").slice(0, 200),
        description: raw.annotations?.description ?? "",
        labels: raw.labels,
        annotations: raw.annotations ?? {},
        groupKey: body.groupKey ?? null,
        startsAt: Date.parse(raw.startsAt),
      }));
      alerts.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
      const incidents = ingest(integration, alerts);
      return [200, { status: "ok", alerts: alerts.length, incidents: incidents.map(String) }];
    },
    enqueue(body: any): [number, unknown] {
      const integration = lookup(body.routing_key, "EVENTS_V2");
      if (!integration) return [401, { status: "unauthorized", message: "unknown key" }];
      const dedupKey: string = body.dedup_key ?? randomUUID().replace(/-/g, "");
      const payload = body.payload ?? {};
      const labels: Record<string, string> = { source: payload.source };
      for (const field of ["component", "group", "class"]) if (typeof payload[field] === "string") labels[field] = payload[field];
      for (const [key, value] of Object.entries(payload.custom_details ?? {})) {
        if (["string", "number", "boolean"].includes(typeof value)) labels[key.toLowerCase()] = String(value);
      }
      ingest(integration, [
        {
          fingerprint: dedupKey,
          firing: body.event_action === "trigger",
          severity: severityOf(payload.severity),
          summary: String(payload.summary ?? "").slice(0, 1024),
          title: String(payload.summary ?? "Alert").slice(0, 200),
          description: "",
          labels,
          annotations: {},
          groupKey: null,
          startsAt: payload.timestamp ? Date.parse(payload.timestamp) : Date.now(),
        },
      ]);
      return [202, { status: "success", message: "Event processed", dedup_key: dedupKey }];
    },
    close: () => db.close(),
  };
}

async function main() {
  const arg = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const floor = openIngestFloor(arg("db")!, { am: arg("am-key")!, v2: arg("v2-key")! });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let status: number;
      let body: unknown;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        [status, body] = req.url === "/hooks/alertmanager" ? floor.alertmanager(bearer, parsed) : floor.enqueue(parsed);
      } catch (error) {
        [status, body] = [400, { status: "invalid event", message: String(error), errors: [] }];
      }
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.listen(Number(arg("port") ?? 0), "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) void main();
