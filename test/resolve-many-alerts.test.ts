// Sections 9-11: a person resolving an incident (or merging into a resolved one) resolves every FIRING alert, each
// with its own ALERT entry, ALERT event and alert.resolved delivery per subscribed endpoint, in alert order, after
// the incident's own change. Alerts per incident are unbounded, so this is done with a fixed number of statements
// (the write lock, and on SQLite the event loop, is held while they run). Runs on both backends (TEST_DATABASE).
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentBody } from "../src/modules/webhooks/webhook-payload.js";
import { alertmanagerPayload, alertSetup, sendAlertmanager } from "./support/alerts.js";
import { startTestServer, type TestServer, type TestUser } from "./support/server.js";
import { subscribeAsAdmin } from "./support/incident-events.js";
import { until } from "./support/until.js";
import { startReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const EVENTS = `subscription { incidentEvents { kind incidentId actor { id } alert { id fingerprint status } log { id kind message } } }`;
const UPDATE = `mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { id status } }`;
const MERGE = `mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`;

let server: TestServer;
let receiver: WebhookReceiver;
let responder: TestUser;
let client: Client;
const events: any[] = [];

beforeAll(async () => {
  server = await startTestServer({ INGEST_RATE_LIMIT: "10000" });
  // Never answers: the head of each chain stays in flight, and what waits behind it stays as written.
  receiver = await startReceiver(() => "stall");
  responder = await server.user("RESPONDER");
  client = await subscribeAsAdmin(server, EVENTS, (event) => events.push(event));
}, 60_000);

afterAll(async () => {
  await client?.dispose();
  await receiver?.close();
  await server?.close();
});

async function gql(query: string, variables: Record<string, unknown>) {
  const result = await server.gql(query, variables, responder.token);
  expect(result.errors).toBeUndefined();
  return result.data;
}

/** The alert's name in its entries: `alertname`, else (every 100th alert here has none) its fingerprint. */
const nameOf = (prefix: string, i: number) => (i % 100 === 7 ? `${prefix}-${i}` : `${prefix}-name-${i}`);

/** `count` firing alerts in one group, in requests of 1,000; returns the incident they opened. */
async function fire(amKey: string, prefix: string, count: number): Promise<string> {
  let incident = "";
  for (let from = 0; from < count; from += 1000) {
    const alerts = Array.from({ length: Math.min(1000, count - from) }, (_, k) => {
      const i = from + k;
      const labels: Record<string, string> = { instance: `host-${i}`, severity: "warning" };
      if (i % 100 !== 7) labels.alertname = nameOf(prefix, i);
      return { fingerprint: `${prefix}-${i}`, labels };
    });
    const posted = await sendAlertmanager(server, amKey, alertmanagerPayload(alerts, { groupKey: `group-${prefix}` }));
    expect(posted.status).toBe(200);
    incident = posted.body.incidents[0];
  }
  return incident;
}

async function endpoint(serviceId: string, events: string[] = []) {
  const created = await server.gql(
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
    { input: { url: receiver.url, events, serviceIds: [serviceId] } },
    server.admin.token,
  );
  expect(created.errors).toBeUndefined();
  return created.data.createWebhookEndpoint.endpoint.id as string;
}

/** The incident's alerts by id, with the fingerprint that names them in this test. */
const alertsOf = (incident: string) =>
  server.db.query<{ id: unknown; fingerprint: string; status: string }>(`SELECT id, fingerprint, status FROM alerts WHERE incident_id = ? ORDER BY id`, [
    Number(incident),
  ]);

/** An endpoint's deliveries for the incident, each body as it is sent (its incident snapshot put in). */
const deliveriesOf = async (endpointId: string, incident: string) =>
  (
    await server.db.query<{ id: unknown; event_type: string; body: string; snapshot: string | null; status: string; next_attempt_at: unknown }>(
      `SELECT w.id, w.event_type, w.body, s.body AS snapshot, w.status, w.next_attempt_at
       FROM webhook_deliveries w LEFT JOIN webhook_snapshots s ON s.id = w.snapshot_id
       WHERE w.endpoint_id = ? AND w.incident_id = ? ORDER BY w.id`,
      [Number(endpointId), Number(incident)],
    )
  ).map(({ snapshot, ...row }) => ({ ...row, body: sentBody(row.body, snapshot) }));

/** Checks that each alert.resolved delivery reports, in alert order, the alert and its own entry. */
function expectResolvedBodies(rows: { body: string }[], alertIds: string[], entries: { id: unknown; message: string }[], actorId: string) {
  const bodies = rows.map((row) => JSON.parse(row.body));
  expect(bodies.map((body) => body.type)).toEqual(alertIds.map(() => "alert.resolved"));
  expect(bodies.map((body) => body.data.alert.id)).toEqual(alertIds);
  expect(bodies.map((body) => body.data.log.id)).toEqual(entries.map((entry) => String(entry.id)));
  expect(bodies.map((body) => body.data.log.message)).toEqual(entries.map((entry) => entry.message));
  for (const body of bodies) {
    expect(body.data.alert.status).toBe("RESOLVED");
    expect(body.data.log).toMatchObject({ kind: "ALERT", authorId: null });
    expect(body.data.actorId).toBe(actorId);
  }
}

describe("resolving an incident with more firing alerts than one statement batch", () => {
  it("resolves each firing alert with its own ALERT entry, ALERT event and alert.resolved delivery per endpoint, in alert order", async () => {
    const count = 1_201;
    const { amKey, serviceId } = await alertSetup(server);
    const incident = await fire(amKey, "r", count);
    // One alert resolved by its sender before: it keeps its resolution, and gets no second entry.
    const early = await sendAlertmanager(
      server,
      amKey,
      alertmanagerPayload([{ fingerprint: "r-0", status: "resolved", endsAt: "2026-11-30T01:30:00.000Z", labels: { alertname: nameOf("r", 0) } }], { groupKey: "group-r" }),
    );
    expect(early.status).toBe(200);
    const everything = await endpoint(serviceId);
    const alertsOnly = await endpoint(serviceId, ["ALERT_RESOLVED"]);
    await gql(UPDATE, { id: incident, status: "INVESTIGATING" });
    const resolved = await gql(UPDATE, { id: incident, status: "RESOLVED" });
    expect(resolved.updateIncident.status).toBe("RESOLVED");

    const alerts = await alertsOf(incident);
    expect(alerts).toHaveLength(count);
    expect(alerts.every((alert) => alert.status === "RESOLVED")).toBe(true);
    const earlyResolvedAt = await server.db.query<{ resolved_at: unknown }>(`SELECT resolved_at FROM alerts WHERE fingerprint = 'r-0'`);
    expect(new Date(earlyResolvedAt[0]!.resolved_at as string | number | Date).toISOString()).toBe("2026-11-30T01:30:00.000Z");
    const resolvedNow = alerts.filter((alert) => alert.fingerprint !== "r-0");
    const alertIds = resolvedNow.map((alert) => String(alert.id));
    const index = (fingerprint: string) => Number(fingerprint.slice("r-".length));

    // Entries: one each, named after its alert, in alert order, after the status change.
    const entries = await server.db.query<{ id: unknown; message: string; author_id: unknown }>(
      `SELECT id, message, author_id FROM incident_logs WHERE incident_id = ? AND message LIKE '% resolved with the incident' ORDER BY id`,
      [Number(incident)],
    );
    expect(entries.map((entry) => entry.message)).toEqual(resolvedNow.map((alert) => `Alert ${nameOf("r", index(alert.fingerprint))} resolved with the incident`));
    expect(entries.every((entry) => entry.author_id === null)).toBe(true);
    const statusChange = await server.db.scalar(
      `SELECT max(id) FROM incident_logs WHERE incident_id = ? AND kind = 'STATUS_CHANGE' AND to_status = 'RESOLVED'`,
      [Number(incident)],
    );
    expect(Number(entries[0]!.id)).toBeGreaterThan(statusChange);

    // Events: the incident's UPDATED (INVESTIGATING, then RESOLVED), then an ALERT per alert, each with its own entry.
    const ofResolution = (event: any) =>
      event.incidentId === incident &&
      (event.kind === "UPDATED" || (event.kind === "ALERT" && event.log?.message.endsWith(" resolved with the incident")));
    const published = await until(() => {
      const relevant = events.filter(ofResolution);
      return relevant.length >= 2 + alertIds.length && relevant;
    }, "the events", 60_000);
    expect(published).toHaveLength(2 + alertIds.length);
    expect(published.slice(0, 2)).toMatchObject([
      { kind: "UPDATED", actor: { id: responder.id } },
      { kind: "UPDATED", actor: { id: responder.id } },
    ]);
    const alertEvents = published.slice(2);
    expect(alertEvents.map((event: any) => event.kind)).toEqual(alertIds.map(() => "ALERT"));
    expect(alertEvents.map((event: any) => event.alert.id)).toEqual(alertIds);
    expect(alertEvents.map((event: any) => event.log.id)).toEqual(entries.map((entry) => String(entry.id)));
    expect(alertEvents.every((event: any) => event.alert.status === "RESOLVED" && event.actor?.id === responder.id)).toBe(true);

    // Deliveries: per endpoint, after the incident's own events, one per alert, and only a chain's head is due.
    const all = await deliveriesOf(everything, incident);
    expect(all.map((row) => row.event_type)).toEqual(["INCIDENT_UPDATED", "INCIDENT_UPDATED", ...alertIds.map(() => "ALERT_RESOLVED")]);
    expect(JSON.parse(all[1]!.body).data.incident).toMatchObject({ status: "RESOLVED", version: 3 });
    expectResolvedBodies(all.slice(2), alertIds, entries, responder.id);
    expect(all.slice(1).every((row) => row.status === "PENDING" && row.next_attempt_at === null)).toBe(true);
    const only = await deliveriesOf(alertsOnly, incident);
    expectResolvedBodies(only, alertIds, entries, responder.id);
    expect(only[0]!.next_attempt_at).not.toBeNull();
    expect(only.slice(1).every((row) => row.status === "PENDING" && row.next_attempt_at === null)).toBe(true);
    const heads = await until(() => receiver.received.some((request) => request.json.type === "alert.resolved") && receiver.received, "the head");
    // Only the head went out (a slow run may see it again: the receiver never answers, so it is retried).
    expect(new Set(heads.filter((request) => request.json.type === "alert.resolved").map((request) => request.json.data.alert.id))).toEqual(new Set([alertIds[0]]));

    // A later firing of one of them opens a new incident (section 9).
    const again = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "r-5", labels: { alertname: nameOf("r", 5) } }], { groupKey: "group-r" }));
    expect(again.body.incidents[0]).not.toBe(incident);
  }, 120_000);

  it("merging into a resolved incident resolves each moved firing alert the same way", async () => {
    const count = 601;
    const { amKey, serviceId } = await alertSetup(server);
    const target = await fire(amKey, "t", 1);
    await gql(UPDATE, { id: target, status: "INVESTIGATING" });
    await gql(UPDATE, { id: target, status: "RESOLVED" });
    const source = await fire(amKey, "m", count);
    const alertsOnly = await endpoint(serviceId, ["ALERT_RESOLVED"]);
    await gql(MERGE, { t: target, s: [source] });

    const alerts = (await alertsOf(target)).filter((alert) => alert.fingerprint.startsWith("m-"));
    expect(alerts).toHaveLength(count);
    expect(alerts.every((alert) => alert.status === "RESOLVED")).toBe(true);
    const alertIds = alerts.map((alert) => String(alert.id));
    const entries = await server.db.query<{ id: unknown; message: string }>(
      `SELECT id, message FROM incident_logs WHERE incident_id = ? AND kind = 'ALERT' AND message LIKE '% resolved: merged into a resolved incident' ORDER BY id`,
      [Number(target)],
    );
    expect(entries.map((entry) => entry.message)).toEqual(
      alerts.map((alert) => `Alert ${nameOf("m", Number(alert.fingerprint.slice(2)))} resolved: merged into a resolved incident`),
    );

    // Published together: the two UPDATED events, then an ALERT per resolved alert with its entry.
    const ofMerge = (event: any) => event.kind === "ALERT" && event.incidentId === target && event.log?.message.endsWith(" merged into a resolved incident");
    const { first } = await until(() => events.filter(ofMerge).length >= count && { first: events.findIndex(ofMerge) }, "the events", 60_000);
    expect(events.slice(first - 2, first).map((event: any) => [event.kind, event.incidentId])).toEqual([
      ["UPDATED", target],
      ["UPDATED", source],
    ]);
    expect(events.slice(first, first + count).map((event: any) => [event.kind, event.incidentId, event.alert.id, event.log.id])).toEqual(
      alertIds.map((alertId, i) => ["ALERT", target, alertId, String(entries[i]!.id)]),
    );

    const only = await deliveriesOf(alertsOnly, target);
    expectResolvedBodies(only, alertIds, entries, responder.id);
    expect(only.slice(1).every((row) => row.next_attempt_at === null)).toBe(true);
  }, 120_000);

  it("runs as many statements for 450 firing alerts as for 5, with an endpoint subscribed", async () => {
    // The subscriber's reads of each event would count as request statements too.
    await client.dispose();
    await until(async () => (await server.metric("graphql_subscriptions_active")) === 0, "no subscription");
    const { amKey, serviceId } = await alertSetup(server);
    await endpoint(serviceId);
    const statements = async (prefix: string, count: number, change: (incident: string) => Promise<unknown>) => {
      const incident = await fire(amKey, prefix, count);
      await gql(UPDATE, { id: incident, status: "INVESTIGATING" });
      const before = await server.metric("db_queries_total");
      await change(incident);
      return (await server.metric("db_queries_total")) - before;
    };
    const resolve = (incident: string) => gql(UPDATE, { id: incident, status: "RESOLVED" });
    expect(await statements("few", 5, resolve)).toBe(await statements("many", 450, resolve));

    const target = await fire(amKey, "tgt", 1);
    await gql(UPDATE, { id: target, status: "INVESTIGATING" });
    await gql(UPDATE, { id: target, status: "RESOLVED" });
    const merge = (source: string) => gql(MERGE, { t: target, s: [source] });
    expect(await statements("mfew", 5, merge)).toBe(await statements("mmany", 450, merge));
  }, 120_000);
});
