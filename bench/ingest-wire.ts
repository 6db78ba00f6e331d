// What both ingestion floors share (bench/ingest-floor.ts on SQLite, bench/ingest-floor-pg.ts on PostgreSQL): the
// two wire formats read the quick way (trusting the input), the key hash, and the node:http server around a floor.
// Benchmark-only: the server never imports this file.
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Alert {
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

export type Answer = [status: number, body: unknown];

export interface IngestFloor {
  alertmanager(key: string | undefined, body: any): Answer | Promise<Answer>;
  enqueue(body: any): Answer | Promise<Answer>;
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
export const priorities: Record<string, string> = { CRITICAL: "CRITICAL", ERROR: "HIGH", WARNING: "MEDIUM", INFO: "LOW" };
const severityOf = (text: string | undefined) => (text && ["critical", "error", "warning", "info"].includes(text) ? text.toUpperCase() : "WARNING");

/** The alerts of an Alertmanager notification, in the order rows are locked (by fingerprint). */
export function alertmanagerAlerts(body: any): Alert[] {
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
  return alerts.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
}

export function eventsV2Alert(body: any): Alert {
  const payload = body.payload ?? {};
  const labels: Record<string, string> = { source: payload.source };
  for (const field of ["component", "group", "class"]) if (typeof payload[field] === "string") labels[field] = payload[field];
  for (const [key, value] of Object.entries(payload.custom_details ?? {})) {
    if (["string", "number", "boolean"].includes(typeof value)) labels[key.toLowerCase()] = String(value);
  }
  return {
    fingerprint: body.dedup_key ?? randomUUID().replace(/-/g, ""),
    firing: body.event_action === "trigger",
    severity: severityOf(payload.severity),
    summary: String(payload.summary ?? "").slice(0, 1024),
    title: String(payload.summary ?? "Alert").slice(0, 200),
    description: "",
    labels,
    annotations: {},
    groupKey: null,
    startsAt: payload.timestamp ? Date.parse(payload.timestamp) : Date.now(),
  };
}

export const unauthorized: Answer = [401, { status: "unauthorized", message: "unknown key" }];
export const alertmanagerAnswer = (alerts: number, incidents: number[]): Answer => [200, { status: "ok", alerts, incidents: incidents.map(String) }];
export const enqueueAnswer = (dedupKey: string): Answer => [202, { status: "success", message: "Event processed", dedup_key: dedupKey }];

/** Command-line options of a floor: --name value. */
export function floorArgument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** Serves a floor on node:http and prints {"port":N} once listening. */
export function serveFloor(floor: IngestFloor, port = Number(floorArgument("port") ?? 0)): void {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      let answer: Answer;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        answer = await (req.url === "/hooks/alertmanager" ? floor.alertmanager(bearer, parsed) : floor.enqueue(parsed));
      } catch (error) {
        answer = [400, { status: "invalid event", message: String(error), errors: [] }];
      }
      const text = JSON.stringify(answer[1]);
      res.writeHead(answer[0], { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}
