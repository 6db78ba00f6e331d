import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { deliveryPublicId, parseDeliveryId } from "../src/modules/webhooks/delivery-id.js";
import { alertSetup, alertmanagerPayload, sendAlertmanager } from "./support/alerts.js";
import { onPostgres } from "./support/database.js";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";
import { startReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url description events serviceIds enabled secretHint createdAt } } }`;
const DELIVERIES = `query { webhookEndpoints { nodes { id enabled deliveries(first: 100) { totalCount nodes {
  id eventType status attempts lastStatusCode lastError nextAttemptAt deliveredAt createdAt } } } } }`;
const CREATE_INCIDENT = `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id version } }`;
const UPDATE_INCIDENT = `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id version } }`;

let server: TestServer | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await server?.close();
  await receiver?.close();
  server = receiver = undefined;
});

async function setup(env: Record<string, string> = {}, answer?: WebhookReceiver["answer"]) {
  receiver = await startReceiver(answer);
  server = await startTestServer(env);
  return { server, receiver };
}

async function createEndpoint(target: TestServer, input: Record<string, unknown>) {
  const result = await target.gql(CREATE_ENDPOINT, { input }, target.admin.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.createWebhookEndpoint as { secret: string; endpoint: { id: string; secretHint: string; enabled: boolean } };
}

async function createIncident(target: TestServer, input: Record<string, unknown> = {}) {
  const result = await target.gql(CREATE_INCIDENT, { input: { title: "Checkout is down", ...input } }, target.admin.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.createIncident as { id: string; version: number };
}

async function deliveries(target: TestServer) {
  const result = await target.gql(DELIVERIES, {}, target.admin.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.webhookEndpoints.nodes[0].deliveries.nodes as Array<Record<string, any>>;
}

const headersOf = (request: { headers: Record<string, unknown> }) => ({
  "webhook-id": String(request.headers["webhook-id"]),
  "webhook-timestamp": String(request.headers["webhook-timestamp"]),
  "webhook-signature": String(request.headers["webhook-signature"]),
});

describe("outbound webhooks", () => {
  it("sends incident.created signed as Standard Webhooks, verified by the standardwebhooks library", async () => {
    await setup();
    const { secret, endpoint } = await createEndpoint(server!, { url: receiver!.url, description: "chat bot" });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    expect(endpoint.secretHint).toBe(secret.slice(-4));
    const incident = await createIncident(server!, { labels: [{ key: "team", value: "payments" }] });
    await until(() => receiver!.received.length === 1, "the webhook");
    const [request] = receiver!.received;
    expect(request!.headers["content-type"]).toBe("application/json");
    const verified = new Webhook(secret).verify(request!.body, headersOf(request!)) as any;
    expect(verified.type).toBe("incident.created");
    expect(new Date(verified.timestamp).toISOString()).toBe(verified.timestamp);
    expect(verified.data.incident).toMatchObject({
      id: incident.id,
      title: "Checkout is down",
      status: "OPEN",
      priority: "MEDIUM",
      serviceId: null,
      labels: [{ key: "team", value: "payments" }],
      version: 1,
      reporterId: server!.admin.id,
    });
    expect(verified.data.actorId).toBe(server!.admin.id);
    // Another key does not verify it.
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(request!.body, headersOf(request!))).toThrow();
    const [delivery] = await until(async () => {
      const rows = await deliveries(server!);
      return rows[0]?.status === "DELIVERED" && rows;
    }, "DELIVERED");
    expect(delivery).toMatchObject({ id: request!.headers["webhook-id"], eventType: "INCIDENT_CREATED", attempts: 1, lastStatusCode: 200, lastError: null });
    expect(delivery!.deliveredAt).not.toBeNull();
  });

  it("sends updates, notes and deletions, with the log entry and the state the change left", async () => {
    await setup();
    const { secret } = await createEndpoint(server!, { url: receiver!.url });
    const incident = await createIncident(server!);
    await server!.gql(UPDATE_INCIDENT, { id: incident.id, input: { status: "INVESTIGATING" } }, server!.admin.token);
    await server!.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "Rolled back") { id } }`, { id: incident.id }, server!.admin.token);
    await server!.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: incident.id }, server!.admin.token);
    await until(() => receiver!.received.length === 4, "four webhooks");
    const bodies = receiver!.received.map((request) => new Webhook(secret).verify(request.body, headersOf(request)) as any);
    expect(bodies.map((body) => body.type)).toEqual(["incident.created", "incident.updated", "incident.log_added", "incident.deleted"]);
    expect(bodies[1].data.incident).toMatchObject({ status: "INVESTIGATING", version: 2 });
    expect(bodies[1].data.incident.acknowledgedAt).not.toBeNull();
    expect(bodies[2].data.log).toMatchObject({ kind: "NOTE", message: "Rolled back", authorId: server!.admin.id });
    expect(bodies[3].data.incident).toMatchObject({ id: incident.id, status: "INVESTIGATING", version: 2 });
  });

  it("sends incident.updated for the target and each source of a merge, as the merge left them", async () => {
    await setup();
    const target = await createIncident(server!, { title: "Checkout 502s" });
    const source = await createIncident(server!, { title: "Checkout returns 502" });
    const { secret } = await createEndpoint(server!, { url: receiver!.url, events: ["INCIDENT_UPDATED"] });
    const merged = await server!.gql(
      `mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`,
      { t: target.id, s: [source.id] },
      server!.admin.token,
    );
    expect(merged.errors).toBeUndefined();
    await until(() => receiver!.received.length === 2, "two webhooks");
    const bodies = receiver!.received.map((request) => new Webhook(secret).verify(request.body, headersOf(request)) as any);
    expect(bodies.map((body) => [body.type, body.data.incident.id])).toEqual([
      ["incident.updated", target.id],
      ["incident.updated", source.id],
    ]);
    expect(bodies[0].data.incident).toMatchObject({ status: "OPEN", version: 2, mergedIntoId: null });
    expect(bodies[1].data.incident).toMatchObject({ status: "CLOSED", version: 2, mergedIntoId: target.id });
    expect(bodies[1].data.actorId).toBe(server!.admin.id);
  });

  it("deletes delivered deliveries once WEBHOOK_RETENTION has passed, and keeps pending ones", async () => {
    await setup({ WEBHOOK_RETENTION: "1s", WEBHOOK_RETRY_SCHEDULE: "3600" }, (request) => (request.json?.data?.incident?.title === "Stuck" ? 500 : 200));
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!, { title: "Done" });
    await createIncident(server!, { title: "Stuck" });
    await until(() => receiver!.received.length === 2, "both attempts");
    await until(async () => (await deliveries(server!)).length === 1, "the delivered one deleted", 10_000);
    const [left] = await deliveries(server!);
    expect(left).toMatchObject({ status: "PENDING", attempts: 1, lastStatusCode: 500 });
  });

  it("retries failures on WEBHOOK_RETRY_SCHEDULE, then marks the delivery FAILED", async () => {
    await setup({ WEBHOOK_RETRY_SCHEDULE: "1,1" }, () => 500);
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    const [delivery] = await until(async () => {
      const rows = await deliveries(server!);
      return rows[0]?.status === "FAILED" && rows;
    }, "FAILED", 15_000);
    expect(delivery).toMatchObject({ status: "FAILED", attempts: 3, lastStatusCode: 500, lastError: "HTTP 500", nextAttemptAt: null, deliveredAt: null });
    expect(receiver!.received).toHaveLength(3);
    const ids = new Set(receiver!.received.map((request) => request.headers["webhook-id"]));
    expect(ids.size).toBe(1); // one delivery, one idempotency key, whatever the attempts
    const gaps = receiver!.received.slice(1).map((request, i) => request.at - receiver!.received[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(750); // 1 s, jittered by at most 20%
    expect(await server!.metric('webhook_deliveries_total{outcome="failed"}')).toBe(1);
    expect(await server!.metric('webhook_deliveries_total{outcome="retry"}')).toBe(2);
  });

  it("keeps the events of one incident in commit order when the first attempt fails", async () => {
    await setup({ WEBHOOK_RETRY_SCHEDULE: "1" }, (_request, n) => (n === 0 ? 503 : 200));
    await createEndpoint(server!, { url: receiver!.url });
    const incident = await createIncident(server!);
    await server!.gql(UPDATE_INCIDENT, { id: incident.id, input: { priority: "HIGH" } }, server!.admin.token);
    await server!.gql(UPDATE_INCIDENT, { id: incident.id, input: { status: "INVESTIGATING" } }, server!.admin.token);
    await until(() => receiver!.received.filter((request) => request.answered === 200).length === 3, "three deliveries", 15_000);
    const seen = receiver!.received.map((request) => [request.json.type, request.json.data.incident.version, request.answered]);
    expect(seen).toEqual([
      ["incident.created", 1, 503],
      ["incident.created", 1, 200],
      ["incident.updated", 2, 200],
      ["incident.updated", 3, 200],
    ]);
  });

  /**
   * `stalledEndpoints` endpoints whose receiver never answers, 40 incidents of backlog, then a healthy endpoint and
   * `fresh` new incidents: the healthy endpoint's deliveries must arrive within 3 s, long before the stalled
   * attempts time out. Returns the attempts the stalled receiver got meanwhile.
   */
  async function healthyBesideStalled(stalledEndpoints: number, fresh: number): Promise<number> {
    await setup({ WEBHOOK_TIMEOUT: "6s" }, () => "stall");
    const stalled = receiver!;
    for (let e = 0; e < stalledEndpoints; e++) await createEndpoint(server!, { url: `${stalled.url}/team-${e}`, events: ["INCIDENT_CREATED"] });
    for (let i = 0; i < 40; i++) await createIncident(server!, { title: `Backlog ${i}` });
    await until(() => stalled.received.length >= stalledEndpoints, "the stalled endpoints' first attempts");
    const healthy = await startReceiver();
    try {
      await createEndpoint(server!, { url: healthy.url, events: ["INCIDENT_CREATED"] });
      const started = Date.now();
      for (let i = 0; i < fresh; i++) await createIncident(server!, { title: `Fresh ${i}` });
      await until(() => healthy.received.length === fresh, "the healthy endpoint's deliveries", 3_000);
      expect(Date.now() - started).toBeLessThan(3_000);
      return stalled.received.length;
    } finally {
      await healthy.close();
    }
  }

  it("keeps delivering to a healthy endpoint while another one stalls with a backlog", async () => {
    // The stalled endpoint holds at most 8 of the 32 slots: the fresh deliveries go out long before its attempts time out.
    expect(await healthyBesideStalled(1, 5)).toBeLessThanOrEqual(8);
  });

  it("keeps delivering to a healthy endpoint while four endpoints that never answer have backlogs", async () => {
    // At eight attempts each, four such endpoints held all 32 slots until their attempts timed out. Until one of
    // them answers, each holds one slot.
    expect(await healthyBesideStalled(4, 20)).toBeLessThanOrEqual(4);
  });

  it("honours Retry-After on 503", async () => {
    await setup({ WEBHOOK_RETRY_SCHEDULE: "1" }, (_request, n) => (n === 0 ? { status: 503, headers: { "retry-after": "3" } } : 200));
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    await until(() => receiver!.received.length === 2, "the retry", 10_000);
    expect(receiver!.received[1]!.at - receiver!.received[0]!.at).toBeGreaterThanOrEqual(2_900);
  });

  it("does not retry sooner than the schedule when Retry-After says 0", async () => {
    await setup({ WEBHOOK_RETRY_SCHEDULE: "2,2" }, (_request, n) => (n < 2 ? { status: 503, headers: { "retry-after": "0" } } : 200));
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    await until(() => receiver!.received.length === 3, "the retries", 15_000);
    // 2 s each, less 20% of jitter at most.
    expect(receiver!.received[1]!.at - receiver!.received[0]!.at).toBeGreaterThanOrEqual(1_500);
    expect(receiver!.received[2]!.at - receiver!.received[1]!.at).toBeGreaterThanOrEqual(1_500);
  });

  it("disables the endpoint on 410 Gone and sends it nothing more", async () => {
    await setup({}, () => 410);
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    const [delivery] = await until(async () => {
      const rows = await deliveries(server!);
      return rows[0]?.status === "FAILED" && rows;
    }, "FAILED");
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: 410 });
    const listed = await server!.gql(`query { webhookEndpoints { nodes { enabled } } }`, {}, server!.admin.token);
    expect(listed.data.webhookEndpoints.nodes[0].enabled).toBe(false);
    await createIncident(server!);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver!.received).toHaveLength(1);
    expect(await deliveries(server!)).toHaveLength(1); // a disabled endpoint gets no new deliveries
  });

  it("writes no event for a change that rolls back", async () => {
    await setup();
    const { serviceId, amKey } = await alertSetup(server!);
    await createEndpoint(server!, { url: receiver!.url, events: ["INCIDENT_UPDATED", "ALERT_RESOLVED"] });
    const ingested = await sendAlertmanager(server!, amKey, alertmanagerPayload([{}]));
    const incidentId = ingested.body.incidents[0];
    // The resolution of the alert fails after the incident.updated event is written, in the same transaction.
    if (onPostgres) {
      await server!.db.exec(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON webhook_deliveries FOR EACH ROW WHEN (NEW.event_type = 'ALERT_RESOLVED') EXECUTE FUNCTION refuse();`);
    } else {
      await server!.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON webhook_deliveries WHEN NEW.event_type = 'ALERT_RESOLVED'
        BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
    }
    const failed = await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { status: "INVESTIGATING" } }, server!.admin.token);
    expect(failed.errors).toBeUndefined(); // no alert resolves here: one event, written
    const refused = await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { status: "RESOLVED" } }, server!.admin.token);
    expect(onlyError(refused).extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    await until(() => receiver!.received.length === 1, "the committed update");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await server!.db.query<{ event_type: string }>(`SELECT event_type FROM webhook_deliveries ORDER BY id`);
    expect(rows.map((row) => row.event_type)).toEqual(["INCIDENT_UPDATED"]);
    expect(receiver!.received.map((request) => request.json.data.incident.status)).toEqual(["INVESTIGATING"]);
    const incident = await server!.gql(`query($id: ID!) { incident(id: $id) { status version } }`, { id: incidentId }, server!.admin.token);
    expect(incident.data.incident).toEqual({ status: "INVESTIGATING", version: 2 });
    void serviceId;
  });

  it("sends alert.firing and alert.resolved from alert ingestion, and filters by event type and service", async () => {
    await setup();
    const { serviceId, amKey } = await alertSetup(server!);
    const other = await alertSetup(server!);
    const { secret } = await createEndpoint(server!, { url: receiver!.url, events: ["ALERT_FIRING", "ALERT_RESOLVED"], serviceIds: [serviceId] });
    await sendAlertmanager(server!, other.amKey, alertmanagerPayload([{}]));
    await sendAlertmanager(server!, amKey, alertmanagerPayload([{}]));
    await sendAlertmanager(server!, amKey, alertmanagerPayload([{}])); // a repeat: no new webhook
    await sendAlertmanager(server!, amKey, alertmanagerPayload([{ status: "resolved", endsAt: "2026-11-30T02:00:00.000Z" }]));
    await until(() => receiver!.received.length === 2, "two alert webhooks");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver!.received).toHaveLength(2);
    const bodies = receiver!.received.map((request) => new Webhook(secret).verify(request.body, headersOf(request)) as any);
    expect(bodies.map((body) => body.type)).toEqual(["alert.firing", "alert.resolved"]);
    expect(bodies[0].data.alert).toMatchObject({ fingerprint: "fp00000000000000", status: "FIRING", severity: "CRITICAL" });
    expect(bodies[0].data.incident.serviceId).toBe(serviceId);
    expect(bodies[0].data.actorId).toBeNull();
    expect(bodies[1].data.alert).toMatchObject({ status: "RESOLVED", resolvedAt: "2026-11-30T02:00:00.000Z" });
    expect(bodies[1].data.log.kind).toBe("ALERT");
  });

  it("sends the incident of every event type as the contract lists it, without its description, however long", async () => {
    await setup();
    const { amKey } = await alertSetup(server!);
    const { secret } = await createEndpoint(server!, { url: receiver!.url });
    const first = await sendAlertmanager(server!, amKey, alertmanagerPayload([{ annotations: { summary: "slow", description: "d".repeat(1000) } }]));
    const incidentId = first.body.incidents[0];
    const notes = "n".repeat(10_000);
    const updated = await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { description: notes } }, server!.admin.token);
    expect(updated.errors).toBeUndefined();
    // A second alert of the group joins the described incident; then it resolves, a note, and the deletion.
    await sendAlertmanager(server!, amKey, alertmanagerPayload([{}, { fingerprint: "fp-second" }]));
    await sendAlertmanager(server!, amKey, alertmanagerPayload([{ fingerprint: "fp-second", status: "resolved", endsAt: "2026-11-30T02:00:00.000Z" }]));
    await server!.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "Rolled back") { id } }`, { id: incidentId }, server!.admin.token);
    await server!.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: incidentId }, server!.admin.token);
    const types = ["incident.created", "alert.firing", "incident.updated", "alert.firing", "alert.resolved", "incident.log_added", "incident.deleted"];
    await until(() => receiver!.received.length === types.length, "every event");
    const bodies = receiver!.received.map((request) => new Webhook(secret).verify(request.body, headersOf(request)) as any);
    expect(bodies.map((body) => body.type)).toEqual(types);
    for (const body of bodies) {
      expect(Object.keys(body.data.incident).sort()).toEqual(
        ["id", "title", "status", "priority", "serviceId", "labels", "version", "createdAt", "updatedAt", "acknowledgedAt", "resolvedAt",
          "closedAt", "reporterId", "assigneeId", "mergedIntoId"].sort(),
      );
    }
    expect(receiver!.received.some((request) => request.body.includes(notes))).toBe(false);
  });

  it("stores the incident once for every alert event of a request and every endpoint, and sends each body whole", async () => {
    await setup();
    const { amKey } = await alertSetup(server!);
    const first = await sendAlertmanager(server!, amKey, alertmanagerPayload([{}]));
    const incidentId = first.body.incidents[0];
    // The largest label set an incident may carry: 20 labels of 200 characters.
    const labels = Array.from({ length: 20 }, (_, i) => ({ key: `l${String(i).padStart(2, "0")}`, value: String(i % 10).repeat(200) }));
    expect((await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { labels } }, server!.admin.token)).errors).toBeUndefined();
    const secrets: string[] = [];
    for (let i = 0; i < 3; i++) secrets.push((await createEndpoint(server!, { url: receiver!.url, events: ["ALERT_FIRING"] })).secret);
    const request = JSON.stringify(alertmanagerPayload(Array.from({ length: 100 }, (_, i) => ({ fingerprint: `fp-many-${i}` }))));
    expect((await sendAlertmanager(server!, amKey, request)).body.incidents).toEqual([incidentId]);
    const bytes = (table: string) => server!.db.scalar(`SELECT coalesce(sum(length(body)), 0) FROM ${table}`);
    expect(await server!.db.scalar(`SELECT count(*) FROM webhook_deliveries`)).toBe(300);
    expect(await server!.db.scalar(`SELECT count(*) FROM webhook_snapshots`)).toBe(1);
    // Each endpoint stores a small multiple of the request (each alert as JSON, and its entry), not 100 copies of the
    // incident's 4 KB of labels (the old layout: 5.5 KB a delivery, 1.6 MB here).
    const stored = (await bytes("webhook_deliveries")) + (await bytes("webhook_snapshots"));
    expect(stored).toBeLessThan(3 * 3 * request.length);
    await until(() => receiver!.received.length === 300, "every delivery", 20_000);
    for (const received of receiver!.received) {
      const verified = secrets.flatMap((secret) => {
        try {
          return [new Webhook(secret).verify(received.body, headersOf(received)) as any];
        } catch {
          return [];
        }
      });
      expect(verified).toHaveLength(1);
      expect(verified[0].type).toBe("alert.firing");
      expect(verified[0].data.incident).toMatchObject({ id: incidentId, labels, version: 2 });
    }
  });

  it("deletes an incident snapshot once no delivery uses it: past WEBHOOK_RETENTION, or with the last endpoint using it", async () => {
    await setup({ WEBHOOK_RETENTION: "1s", WEBHOOK_RETRY_SCHEDULE: "3600" }, (request) => (request.json?.data?.incident?.title === "Stuck" ? 500 : 200));
    const one = await createEndpoint(server!, { url: receiver!.url });
    const two = await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!, { title: "Done" });
    await createIncident(server!, { title: "Stuck" });
    await until(() => receiver!.received.length === 4, "every attempt");
    const titles = async () =>
      (await server!.db.query<{ body: string }>(`SELECT body FROM webhook_snapshots ORDER BY id`)).map((row) => JSON.parse(row.body).title);
    await until(async () => (await titles()).length === 1, "the delivered incident's snapshot deleted", 10_000);
    expect(await titles()).toEqual(["Stuck"]);
    const DELETE_ENDPOINT = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
    expect((await server!.gql(DELETE_ENDPOINT, { id: one.endpoint.id }, server!.admin.token)).errors).toBeUndefined();
    expect(await titles()).toEqual(["Stuck"]); // the other endpoint's pending delivery still uses it
    expect((await server!.gql(DELETE_ENDPOINT, { id: two.endpoint.id }, server!.admin.token)).errors).toBeUndefined();
    expect(await titles()).toEqual([]);
    expect(await server!.db.integrityProblems()).toEqual([]);
  });

  it("sends incident.updated, then alert.resolved, when a person resolves an incident with a firing alert", async () => {
    await setup();
    const { amKey } = await alertSetup(server!);
    const ingested = await sendAlertmanager(server!, amKey, alertmanagerPayload([{}]));
    const incidentId = ingested.body.incidents[0];
    await createEndpoint(server!, { url: receiver!.url });
    await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { status: "INVESTIGATING" } }, server!.admin.token);
    await server!.gql(UPDATE_INCIDENT, { id: incidentId, input: { status: "RESOLVED" } }, server!.admin.token);
    await until(() => receiver!.received.length === 3, "three webhooks");
    const bodies = receiver!.received.map((request) => request.json);
    expect(bodies.map((body) => [body.type, body.data.incident.status, body.data.incident.version])).toEqual([
      ["incident.updated", "INVESTIGATING", 2],
      ["incident.updated", "RESOLVED", 3],
      ["alert.resolved", "RESOLVED", 3],
    ]);
    expect(bodies[2].data.alert.status).toBe("RESOLVED");
    expect(bodies[2].data.log).toMatchObject({ kind: "ALERT", authorId: null });
    expect(new Date(bodies[2].data.log.createdAt).toISOString()).toBe(bodies[2].data.log.createdAt);
    expect(bodies[2].data.actorId).toBe(server!.admin.id);
  });

  it("redelivers an event as a new delivery with the same body", async () => {
    await setup();
    const { secret } = await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    const [first] = await until(async () => {
      const rows = await deliveries(server!);
      return rows[0]?.status === "DELIVERED" && rows;
    }, "DELIVERED");
    const again = await server!.gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status attempts eventType } }`, { id: first!.id }, server!.admin.token);
    expect(again.data.redeliverWebhook).toMatchObject({ status: "PENDING", attempts: 0, eventType: "INCIDENT_CREATED" });
    expect(again.data.redeliverWebhook.id).not.toBe(first!.id);
    await until(() => receiver!.received.length === 2, "the redelivery");
    const [a, b] = receiver!.received;
    expect(b!.body).toBe(a!.body);
    expect(b!.headers["webhook-id"]).toBe(again.data.redeliverWebhook.id);
    new Webhook(secret).verify(b!.body, headersOf(b!));
    expect(a!.headers["webhook-id"]).toBe(first!.id);
    // The row's number with another creation time is another delivery (one of another database, or before a restore).
    const { id: row, createdAt } = parseDeliveryId(first!.id)!;
    for (const id of ["999999", String(row), deliveryPublicId(row, new Date(createdAt.getTime() + 1))]) {
      const missing = await server!.gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }`, { id }, server!.admin.token);
      expect(onlyError(missing).extensions, id).toMatchObject({ code: "NOT_FOUND", field: "deliveryId" });
    }
  });

  it("pages deliveries newest first, filters them by status, and pages endpoints", async () => {
    await setup();
    const { endpoint } = await createEndpoint(server!, { url: receiver!.url });
    await createEndpoint(server!, { url: receiver!.url, events: ["INCIDENT_DELETED"] });
    for (let i = 0; i < 3; i++) await createIncident(server!);
    await until(() => receiver!.received.length === 3, "three webhooks");
    const page = async (after?: string) =>
      (
        await server!.gql(
          `query($after: String) { webhookEndpoints(first: 1) { totalCount pageInfo { hasNextPage endCursor } nodes { id
             deliveries(first: 2, after: $after, status: [DELIVERED, PENDING]) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } } }`,
          { after },
          server!.admin.token,
        )
      ).data.webhookEndpoints;
    await until(async () => (await page()).nodes[0].deliveries.totalCount === 3, "three deliveries listed");
    const first = await page();
    expect(first.totalCount).toBe(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(first.nodes[0].id).toBe(endpoint.id);
    const rowId = (node: { id: string }) => parseDeliveryId(node.id)!.id;
    const ids = first.nodes[0].deliveries.nodes.map(rowId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(first.nodes[0].deliveries.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.nodes[0].deliveries.pageInfo.endCursor);
    expect(second.nodes[0].deliveries.nodes).toHaveLength(1);
    expect(rowId(second.nodes[0].deliveries.nodes[0])).toBeLessThan(ids[1]);
    const failed = await server!.gql(`query { webhookEndpoints { nodes { deliveries(status: [FAILED]) { totalCount } } } }`, {}, server!.admin.token);
    expect(failed.data.webhookEndpoints.nodes[0].deliveries.totalCount).toBe(0);
  });

  it("reads the deliveries of a whole page of endpoints in a fixed number of statements", async () => {
    await setup();
    const query = `query { webhookEndpoints(first: 50) { nodes { id deliveries(first: 5) { totalCount nodes { id status } } } } }`;
    // The least of three tries: the dispatcher's own poll may run during one.
    const statements = async () => {
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const before = await server!.metric("db_queries_total");
        const result = await server!.gql(query, {}, server!.admin.token);
        expect(result.errors).toBeUndefined();
        counts.push((await server!.metric("db_queries_total")) - before);
      }
      return Math.min(...counts);
    };
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    const one = await statements();
    for (let i = 0; i < 4; i++) await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    await until(() => receiver!.received.length === 6, "six webhooks");
    expect(await statements()).toBe(one);
  });

  it("lets only an ADMIN see or manage endpoints", async () => {
    await setup();
    const responder = await server!.user("RESPONDER");
    const denied = await server!.gql(CREATE_ENDPOINT, { input: { url: receiver!.url } }, responder.token);
    expect(onlyError(denied).extensions?.code).toBe("FORBIDDEN");
    const listed = await server!.gql(`query { webhookEndpoints { totalCount } }`, {}, responder.token);
    expect(onlyError(listed).extensions?.code).toBe("FORBIDDEN");
  });

  it("updates, rotates and deletes endpoints; the secret shows only on create and rotate", async () => {
    await setup();
    const { endpoint, secret } = await createEndpoint(server!, { url: receiver!.url });
    const updated = await server!.gql(
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { description: "pager", events: [INCIDENT_CREATED], enabled: false }) { description events enabled } }`,
      { id: endpoint.id },
      server!.admin.token,
    );
    expect(updated.data.updateWebhookEndpoint).toEqual({ description: "pager", events: ["INCIDENT_CREATED"], enabled: false });
    const empty = await server!.gql(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {}) { id } }`, { id: endpoint.id }, server!.admin.token);
    expect(onlyError(empty).extensions?.code).toBe("BAD_USER_INPUT");
    const badService = await server!.gql(
      `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { serviceIds: ["12345"] }) { id } }`,
      { id: endpoint.id },
      server!.admin.token,
    );
    expect(onlyError(badService).extensions).toMatchObject({ code: "NOT_FOUND", field: "serviceIds" });
    const rotated = await server!.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { secretHint } } }`, { id: endpoint.id }, server!.admin.token);
    expect(rotated.data.rotateWebhookSecret.secret).not.toBe(secret);
    expect(rotated.data.rotateWebhookSecret.endpoint.secretHint).toBe(rotated.data.rotateWebhookSecret.secret.slice(-4));
    const deleted = await server!.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: endpoint.id }, server!.admin.token);
    expect(deleted.data.deleteWebhookEndpoint).toBe(endpoint.id);
    const again = await server!.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: endpoint.id }, server!.admin.token);
    expect(onlyError(again).extensions?.code).toBe("NOT_FOUND");
    const bad = await server!.gql(CREATE_ENDPOINT, { input: { url: "ftp://example.com/x" } }, server!.admin.token);
    expect(onlyError(bad).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "url" });
  });

  it("refuses a URL or description holding a NUL character as bad input, on either database", async () => {
    await setup();
    const url = await server!.gql(CREATE_ENDPOINT, { input: { url: `${receiver!.url}/a\u0000b` } }, server!.admin.token);
    expect(onlyError(url).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "url" });
    const description = await server!.gql(CREATE_ENDPOINT, { input: { url: receiver!.url, description: "pager\u0000" } }, server!.admin.token);
    expect(onlyError(description).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "description" });
    const { endpoint } = await createEndpoint(server!, { url: receiver!.url });
    const updated = await server!.gql(
      `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }`,
      { id: endpoint.id, input: { description: "a\u0000" } },
      server!.admin.token,
    );
    expect(onlyError(updated).extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "description" });
  });

  it("refuses http:// and non-public targets in production", async () => {
    server = await startTestServer({ NODE_ENV: "production", JWT_SECRET: "production-secret-of-at-least-32-bytes!!" });
    for (const url of ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://[::1]/x", "https://169.254.169.254/latest", "https://10.1.2.3/x", "https://localhost/x", "https://[::ffff:127.0.0.1]/x"]) {
      const refused = await server.gql(CREATE_ENDPOINT, { input: { url } }, server.admin.token);
      expect(onlyError(refused).extensions, url).toMatchObject({ code: "BAD_USER_INPUT", field: "url" });
    }
  });

  it("fails a delivery whose target is refused at send time, with the reason in lastError", async () => {
    server = await startTestServer({ NODE_ENV: "production", JWT_SECRET: "production-secret-of-at-least-32-bytes!!", RATE_LIMIT_POINTS: "0" });
    const { endpoint } = await createEndpoint(server, { url: "https://hooks.example.invalid/x" });
    // A target that was acceptable when saved and is not any more (a row from before a policy change, say).
    await server.db.exec(`UPDATE webhook_endpoints SET url = 'https://127.0.0.1:9/x' WHERE id = ${Number(endpoint.id)}`);
    await createIncident(server);
    const [delivery] = await until(async () => {
      const rows = await deliveries(server!);
      return rows[0]?.status === "FAILED" && rows;
    }, "FAILED");
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: null, lastError: expect.stringMatching(/loopback, private, link-local or metadata/) });
    expect(await server.metric('webhook_deliveries_total{outcome="refused"}')).toBe(1);
  });

  it("never writes a secret to the logs", async () => {
    receiver = await startReceiver((_request, n) => (n === 0 ? 500 : 200));
    const logs: Array<Record<string, unknown>> = [];
    server = await startTestServer({ LOG_LEVEL: "debug", WEBHOOK_RETRY_SCHEDULE: "1" }, { logs });
    const { secret, endpoint } = await createEndpoint(server, { url: receiver.url });
    const rotated = await server.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: endpoint.id }, server.admin.token);
    await createIncident(server);
    await until(() => receiver!.received.length === 2, "a failure and its retry");
    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(0);
    for (const shown of [secret, rotated.data.rotateWebhookSecret.secret]) {
      expect(text).not.toContain(shown);
      expect(text).not.toContain(shown.slice(6, 30));
    }
  });

  it("reports deliveries and the oldest pending one on /metrics", async () => {
    await setup({}, () => "stall");
    await createEndpoint(server!, { url: receiver!.url });
    await createIncident(server!);
    await until(() => receiver!.received.length === 1, "the stalled attempt");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await server!.metric("webhook_oldest_pending_delivery_age_seconds")).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${server!.base}/metrics`)).text();
    expect(text).toContain("webhook_delivery_seconds_bucket");
  });
});
