// Sections 9 and 11: resolving an incident with many firing alerts while an endpoint is subscribed writes an
// alert.resolved delivery per alert, and must not hold the event loop (every other request) for long: on SQLite the
// write transaction runs on it. Bodies SQLite completes after the commit must be byte for byte what the JavaScript
// writers (webhook-payload.ts) make. Runs on both backends (TEST_DATABASE); the budget is SQLite's concern, and holds
// on PostgreSQL too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresDialect, sqliteDialect } from "../src/db/sql-work.js";
import { alertReader } from "../src/modules/alerts/alert-rows.js";
import { alertJson, logJson, logReader, sentBody, webhookBody } from "../src/modules/webhooks/webhook-payload.js";
import { alertmanagerPayload, alertSetup, sendAlertmanager, type AmAlert } from "./support/alerts.js";
import { onPostgres } from "./support/database.js";
import { startChildServer, stopAllChildServers, tempDatabase } from "./support/child-server.js";
import { startTestServer, type TestServer, type TestUser } from "./support/server.js";
import { until } from "./support/until.js";
import { startReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { longestBlock } from "./support/event-loop.js";

const UPDATE = `mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { id status } }`;

let server: TestServer;
let receiver: WebhookReceiver;
let responder: TestUser;

beforeAll(async () => {
  server = await startTestServer({ INGEST_RATE_LIMIT: "100000" });
  // Never answers: deliveries stay as written (only each chain's head is attempted).
  receiver = await startReceiver(() => "stall");
  responder = await server.user("RESPONDER");
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await server?.close();
});

async function gql(query: string, variables: Record<string, unknown>) {
  const result = await server.gql(query, variables, responder.token);
  expect(result.errors).toBeUndefined();
  return result.data;
}

/** `count` firing alerts of one group (`alert(i)` shapes each), in requests of 1,000; returns their incident. */
async function fire(amKey: string, group: string, count: number, alert: (i: number) => AmAlert): Promise<string> {
  let incident = "";
  for (let from = 0; from < count; from += 1000) {
    const alerts = Array.from({ length: Math.min(1000, count - from) }, (_, k) => alert(from + k));
    const posted = await sendAlertmanager(server, amKey, alertmanagerPayload(alerts, { groupKey: group }));
    expect(posted.status).toBe(200);
    incident = posted.body.incidents[0];
  }
  return incident;
}

async function subscribe(serviceId: string) {
  const created = await server.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { url: receiver.url, serviceIds: [serviceId], events: ["ALERT_RESOLVED"] } },
    server.admin.token,
  );
  expect(created.errors).toBeUndefined();
  return created.data.createWebhookEndpoint.endpoint.id as string;
}

type Db = Pick<TestServer["db"], "query">;

/** The bodies an endpoint's deliveries for the incident send (their incident snapshot put in), in order. */
async function sentBodies(db: Db, endpointId: string, incident: string): Promise<string[]> {
  const rows = await db.query<{ body: string; snapshot: string }>(
    `SELECT w.body, s.body AS snapshot FROM webhook_deliveries w JOIN webhook_snapshots s ON s.id = w.snapshot_id
     WHERE w.endpoint_id = ? AND w.incident_id = ? AND w.event_type = 'ALERT_RESOLVED' ORDER BY w.id`,
    [Number(endpointId), Number(incident)],
  );
  return rows.map((row) => sentBody(row.body, row.snapshot));
}

/** Each body as webhook-payload.ts writes it in script, from the alert and entry it names as they are stored. */
async function asScriptWrites(db: Db, incident: string, sent: readonly string[], actorId: string): Promise<string[]> {
  const d = onPostgres ? postgresDialect : sqliteDialect;
  const readAlert = alertReader(d);
  const readLog = logReader(d);
  const alerts = new Map((await db.query(`SELECT * FROM alerts WHERE incident_id = ?`, [Number(incident)])).map((row) => [String(row.id), readAlert(row)]));
  const logs = new Map((await db.query(`SELECT * FROM incident_logs WHERE incident_id = ? AND kind = 'ALERT'`, [Number(incident)])).map((row) => [String(row.id), readLog(row)]));
  return sent.map((body) => {
    const { timestamp, data } = JSON.parse(body);
    const log = logJson(logs.get(data.log.id)!);
    const alert = alertJson(alerts.get(data.alert.id)!);
    return webhookBody("ALERT_RESOLVED", new Date(timestamp), { incident: data.incident, actorId, log, alert });
  });
}

/** Until every delivery's body is written (SQLite completes a large resolution's after the commit). */
const bodiesWritten = () =>
  until(async () => Number(await server.db.scalar(`SELECT count(*) FROM webhook_deliveries WHERE render_alert_id IS NOT NULL`)) === 0, "the bodies", 60_000);


describe("resolving an incident with many firing alerts and a subscribed endpoint", () => {
  // SQLite's concern: PostgreSQL runs the statements in its own process, and its outbox built the bodies a batch at a
  // time between awaits already. The best of two resolutions: a test process starved of the CPU by others running
  // beside it sees a long gap between timers that no code of its own caused.
  it.skipIf(onPostgres)("holds the event loop at most 300 ms resolving 12,000 alerts, and writes every delivery", async () => {
    const count = 12_000;
    const { amKey, serviceId } = await alertSetup(server);
    await subscribe(serviceId);
    const blocks: number[] = [];
    for (const group of ["stall-a", "stall-b"]) {
      const incident = await fire(amKey, group, count, (i) => ({ fingerprint: `${group}-${i}`, labels: { alertname: `Stall${i}`, severity: "warning" } }));
      await gql(UPDATE, { id: incident, status: "INVESTIGATING" });
      // Settled first: the timers and requests of the setup are not what is measured.
      await new Promise((resolve) => setTimeout(resolve, 200));
      blocks.push(await longestBlock(async () => {
        await gql(UPDATE, { id: incident, status: "RESOLVED" });
        await bodiesWritten();
      }));
      const deliveries = await server.db.scalar(`SELECT count(*) FROM webhook_deliveries WHERE incident_id = ? AND event_type = 'ALERT_RESOLVED'`, [
        Number(incident),
      ]);
      expect(Number(deliveries)).toBe(count);
    }
    // Built in script inside the transaction, as they were, the bodies held it ~470 ms here (1.2 s for 30,000); now ~180.
    expect(Math.min(...blocks)).toBeLessThan(300);
  }, 120_000);

  it("sends each alert.resolved body byte for byte as the JavaScript writers make it, whatever the alert holds", async () => {
    // More than are written in the transaction (2,500 a change on SQLite), so both ways of writing them are checked.
    const count = 3_000;
    const { amKey, serviceId } = await alertSetup(server);
    const awkward = ['quote " backslash \\ slash /', "tab\tline\nfeed\r\u0001\u001f\u007f", "é ü 漢字 \u2028\u2029 😀", "<script>&amp;", ""];
    const alert = (i: number): AmAlert => {
      const text = awkward[i % awkward.length]!;
      const labels: Record<string, string> = { alertname: `Awk${i} ${text}`, severity: "warning", zeta: text, "10": "ten", "9": "nine", A: "upper", _u: "under" };
      if (i % 500 === 3) labels["key\uE000private"] = "sorts after the emoji in UTF-16, before it by code point";
      if (i % 500 === 3) labels["key😀emoji"] = text;
      if (i % 7 === 0) labels.instance = `host-${i} ${text}`;
      const annotations: Record<string, string> = i % 2 === 0 ? { summary: `Summary ${text}`, runbook: text } : {};
      const shaped: AmAlert = { fingerprint: `awk-${i}`, labels, annotations, startsAt: "2026-11-30T01:00:00.123Z" };
      // The last instant an alert may carry: SQL and toISOString write it alike.
      if (i === 11) shaped.startsAt = "9999-12-31T23:59:59.999Z";
      if (i % 3 === 0) shaped.generatorURL = `http://prometheus.example/graph?g0.expr=${encodeURIComponent(text)}`;
      return shaped;
    };
    const incident = await fire(amKey, "awkward", count, alert);
    const endpoint = await subscribe(serviceId);
    await gql(UPDATE, { id: incident, status: "INVESTIGATING" });
    await gql(UPDATE, { id: incident, status: "RESOLVED" });
    await bodiesWritten();

    const sent = await sentBodies(server.db, endpoint, incident);
    expect(sent).toHaveLength(count);
    expect(sent).toEqual(await asScriptWrites(server.db, incident, sent, responder.id));
    // Every alert once, in alert order, each with its own entry.
    const alertIds = sent.map((body) => JSON.parse(body).data.alert.id);
    const stored = await server.db.query<{ id: unknown }>(`SELECT id FROM alerts WHERE incident_id = ? ORDER BY id`, [Number(incident)]);
    expect(alertIds).toEqual(stored.map((row) => String(row.id)));
    expect(new Set(sent.map((body) => JSON.parse(body).data.log.id)).size).toBe(count);
    // The odd ones were among them.
    expect(sent.some((body) => body.includes('"startsAt":"9999-12-31T23:59:59.999Z"'))).toBe(true);
    expect(sent.some((body) => body.includes('{"key":"key😀emoji"'))).toBe(true);
  }, 120_000);

  it("deleting the incident right after writes its bodies first: its alerts and entries go with it", async () => {
    const count = 3_000;
    const { amKey, serviceId } = await alertSetup(server);
    const incident = await fire(amKey, "deleted", count, (i) => ({ fingerprint: `deleted-${i}`, labels: { alertname: `Deleted${i}`, severity: "warning" } }));
    const endpoint = await subscribe(serviceId);
    await gql(UPDATE, { id: incident, status: "INVESTIGATING" });
    await gql(UPDATE, { id: incident, status: "RESOLVED" });
    // At once: the dispatcher writes the bodies a little after the commit (SQLite), so most are still to be written.
    const deleted = await server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: incident }, server.admin.token);
    expect(deleted.errors).toBeUndefined();
    await bodiesWritten();
    const rows = await server.db.query<{ status: string; last_error: string | null }>(
      `SELECT status, last_error FROM webhook_deliveries WHERE endpoint_id = ? AND incident_id = ? AND event_type = 'ALERT_RESOLVED'`,
      [Number(endpoint), Number(incident)],
    );
    expect(rows.filter((row) => row.last_error !== null)).toEqual([]);
    const sent = await sentBodies(server.db, endpoint, incident);
    expect(sent).toHaveLength(count);
    const bodies = sent.map((body) => JSON.parse(body));
    expect(bodies.every((body) => body.type === "alert.resolved" && body.data.alert.status === "RESOLVED" && body.data.log.kind === "ALERT")).toBe(true);
    // Every alert once, each with an entry of its own.
    expect(new Set(bodies.map((body) => body.data.alert.fingerprint))).toEqual(new Set(Array.from({ length: count }, (_, i) => `deleted-${i}`)));
    expect(new Set(bodies.map((body) => body.data.log.id)).size).toBe(count);
  }, 120_000);

  it("loses no body when the server is SIGKILLed before it wrote them all: they are written after the restart", async () => {
    const database = await tempDatabase("incident-api-stall-");
    const delivered = await startReceiver(() => 200);
    try {
      const first = await startChildServer({ dbPath: database.dbPath, env: { INGEST_RATE_LIMIT: "100000" } });
      const admin = await first.gql(`mutation { signUp(input: { email: "a@example.com", name: "Admin", password: "correct horse battery" }) { token user { id } } }`);
      const { token, user } = admin.data.signUp;
      const call = async (query: string, variables: Record<string, unknown>) => {
        const result = await first.gql(query, variables, token);
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        return result.data;
      };
      const service = (await call(`mutation { createService(input: { name: "stall" }) { id } }`, {})).createService.id;
      const { key } = (await call(`mutation($s: ID!) { createIntegration(input: { serviceId: $s, name: "am", kind: ALERTMANAGER }) { key } }`, { s: service })).createIntegration;
      const endpoint = (await call(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url, events: [ALERT_RESOLVED] }) { endpoint { id } } }`, { url: delivered.url }))
        .createWebhookEndpoint.endpoint.id;
      let incident = "";
      // 4,000: 1,500 more than the transaction writes, left for after the commit.
      for (let from = 0; from < 4_000; from += 1_000) {
        const alerts = Array.from({ length: 1_000 }, (_, k) => ({ fingerprint: `crash-${from + k}`, labels: { alertname: `Crash${from + k}`, severity: "warning" } }));
        const response = await fetch(`${first.base}/hooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify(alertmanagerPayload(alerts, { groupKey: "crash" })),
        });
        expect(response.status).toBe(200);
        incident = ((await response.json()) as any).incidents[0];
      }
      await call(UPDATE, { id: incident, status: "INVESTIGATING" });
      await call(UPDATE, { id: incident, status: "RESOLVED" });
      await first.kill("SIGKILL");
      const unwritten = Number(await database.scalar(`SELECT count(*) FROM webhook_deliveries WHERE render_alert_id IS NOT NULL`));
      // SQLite left some for after the commit (the kill comes before the dispatcher's first slice); PostgreSQL none.
      if (!onPostgres) expect(unwritten).toBeGreaterThan(0);

      const second = await startChildServer({ dbPath: database.dbPath });
      await until(async () => Number(await database.scalar(`SELECT count(*) FROM webhook_deliveries WHERE render_alert_id IS NOT NULL`)) === 0, "the bodies", 30_000);
      const sent = await sentBodies(database, endpoint, incident);
      expect(sent).toHaveLength(4_000);
      expect(sent).toEqual(await asScriptWrites(database, incident, sent, user.id));
      // And they go, in order.
      await until(() => delivered.received.length >= 3, "the first deliveries", 30_000);
      expect(delivered.received.slice(0, 3).map((request) => request.body)).toEqual(sent.slice(0, 3));
      await second.stop();
    } finally {
      await stopAllChildServers();
      await delivered.close();
      await database.remove();
    }
  }, 120_000);
});
