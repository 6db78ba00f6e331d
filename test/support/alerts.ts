import type { TestServer } from "./server.js";

/** What the helpers below need of a server: an in-process test server or a child process with its admin's token. */
export type AlertTarget = Pick<TestServer, "base" | "gql"> & { admin: { token: string } };

// Payloads shaped as the two senders send them (Alertmanager's webhook v4, PagerDuty's Events API v2),
// written from the formats' documentation, and helpers to send them to a test server.

export interface AmAlert {
  status?: "firing" | "resolved";
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint?: string;
  [extra: string]: unknown;
}

/** An Alertmanager notification for one group; each alert keeps its own status. */
export function alertmanagerPayload(alerts: AmAlert[], options: { groupKey?: string; status?: "firing" | "resolved"; [extra: string]: unknown } = {}) {
  const { groupKey = '{}:{alertname="HighLatency"}', status, ...extra } = options;
  const full = alerts.map((alert, index) => ({
    status: "firing",
    labels: { alertname: "HighLatency", instance: `web-${index}:9100`, job: "node", severity: "critical" },
    annotations: { summary: `Latency above 2s on web-${index}`, description: "p99 latency over the SLO for 5 minutes" },
    startsAt: "2026-11-30T01:00:00.000Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.example:9090/graph?g0.expr=latency",
    fingerprint: `fp${index.toString(16).padStart(14, "0")}`,
    ...alert,
  }));
  return {
    receiver: "incident-api",
    status: status ?? (full.some((alert) => alert.status === "firing") ? "firing" : "resolved"),
    alerts: full,
    groupLabels: { alertname: "HighLatency" },
    commonLabels: { alertname: "HighLatency", job: "node" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.example:9093",
    version: "4",
    groupKey,
    truncatedAlerts: 0,
    ...extra,
  };
}

export function triggerEvent(routingKey: string, options: { dedupKey?: string; summary?: string; severity?: string; details?: Record<string, unknown> } = {}) {
  return {
    routing_key: routingKey,
    event_action: "trigger",
    ...(options.dedupKey ? { dedup_key: options.dedupKey } : {}),
    payload: {
      summary: options.summary ?? "Disk 91% full on db-7",
      source: "db-7.prod.example",
      severity: options.severity ?? "error",
      timestamp: "2026-11-30T01:02:03.456+00:00",
      component: "postgres",
      group: "storage",
      class: "disk",
      custom_details: options.details ?? { "Free Bytes": 1024, mount: "/var/lib/postgresql", nested: { ignored: true } },
    },
    client: "Monitoring",
    client_url: "https://monitoring.example/db-7",
  };
}

export const eventAction = (routingKey: string, action: "acknowledge" | "resolve", dedupKey: string) => ({
  routing_key: routingKey,
  event_action: action,
  dedup_key: dedupKey,
});

export interface Posted {
  status: number;
  headers: Headers;
  body: any;
}

export async function post(server: AlertTarget, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Posted> {
  const response = await fetch(`${server.base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text: the test will say what it expected
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export const sendAlertmanager = (server: AlertTarget, key: string, payload: unknown) =>
  post(server, "/hooks/alertmanager", payload, { authorization: `Bearer ${key}` });

export const enqueue = (server: AlertTarget, event: unknown) => post(server, "/v2/enqueue", event);

export async function createService(server: AlertTarget, input: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
  const result = await server.gql(
    `mutation($input: CreateServiceInput!) { createService(input: $input) { id name } }`,
    { input: { name: `svc-${Math.random().toString(36).slice(2, 10)}`, ...input } },
    server.admin.token,
  );
  if (!result.data?.createService) throw new Error(`createService failed: ${JSON.stringify(result.body)}`);
  return result.data.createService;
}

export async function createIntegration(
  server: AlertTarget,
  serviceId: string,
  kind: "ALERTMANAGER" | "EVENTS_V2",
): Promise<{ id: string; key: string }> {
  const result = await server.gql(
    `mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) { key integration { id } } }`,
    { input: { serviceId, name: `${kind} integration`, kind } },
    server.admin.token,
  );
  if (!result.data?.createIntegration) throw new Error(`createIntegration failed: ${JSON.stringify(result.body)}`);
  return { id: result.data.createIntegration.integration.id, key: result.data.createIntegration.key };
}

/** A service with one integration of each kind. */
export async function alertSetup(server: AlertTarget, service: Record<string, unknown> = {}) {
  const created = await createService(server, service);
  const am = await createIntegration(server, created.id, "ALERTMANAGER");
  const v2 = await createIntegration(server, created.id, "EVENTS_V2");
  return { serviceId: created.id, amKey: am.key, v2Key: v2.key, amId: am.id, v2Id: v2.id };
}

const INCIDENT_ALERTS = `id title description status priority reporter { id } version resolvedAt acknowledgedAt
  service { id } labels { key value }
  alerts(first: 100) { totalCount nodes { id fingerprint status severity summary source eventCount resolvedAt startsAt lastSeenAt
    labels { key value } annotations { key value } generatorUrl integration { id kind } incident { id } } }
  logs(first: 100) { nodes { kind message author { id } fromStatus toStatus } }`;

export async function incidentWithAlerts(server: AlertTarget, id: string) {
  const result = await server.gql(`query($id: ID!) { incident(id: $id) { ${INCIDENT_ALERTS} } }`, { id }, server.admin.token);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data.incident;
}

/** An Alertmanager alert at the ingest limits: 64 labels and 64 annotations of 1,000 characters (about 130 KB). */
export function widestAlert(n: number) {
  const labels: Record<string, string> = { alertname: "Wide" };
  const annotations: Record<string, string> = {};
  for (let i = 0; i < 63; i++) labels[`l${String(i).padStart(2, "0")}`] = `v${n}-${i}-`.repeat(200).slice(0, 1_000);
  for (let i = 0; i < 64; i++) annotations[`a${String(i).padStart(2, "0")}`] = `w${n}-${i}-`.repeat(200).slice(0, 1_000);
  return { labels, annotations, fingerprint: `wide${n}` };
}

/** One incident (one group key) of 10 widest alerts: 1.3 MB of labels and annotations each time they are all read. */
export async function wideIncident(server: AlertTarget): Promise<{ incidentId: string; amKey: string }> {
  const { amKey } = await alertSetup(server);
  for (let batch = 0; batch < 2; batch++) {
    const sent = await sendAlertmanager(server, amKey, alertmanagerPayload(Array.from({ length: 5 }, (_, k) => widestAlert(batch * 5 + k))));
    if (sent.status !== 200) throw new Error(`alerts refused: ${JSON.stringify(sent.body)}`);
  }
  const incidentId = (await server.gql(`{ incidents(first: 1) { nodes { id } } }`, {}, server.admin.token)).data.incidents.nodes[0].id as string;
  return { incidentId, amKey };
}

/** Rows of a table below the API, on either backend. */
export const countRows = (server: TestServer, table: string, where = "") => server.db.scalar(`SELECT count(*) FROM ${table} ${where}`);
