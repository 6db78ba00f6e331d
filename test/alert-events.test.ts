import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { alertmanagerPayload, alertSetup, sendAlertmanager } from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { subscribeAsAdmin } from "./support/incident-events.js";
import { until } from "./support/until.js";

// Section 9: a new incident emits CREATED first, every alert change an ALERT event, an auto-resolution UPDATED.

const EVENTS = `subscription { incidentEvents { kind incidentId actor { id } alert { fingerprint status } log { kind message } incident { status } } }`;

let server: TestServer;
let client: Client;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await client?.dispose();
  await server?.close();
});

it("publishes CREATED, then ALERT for each alert change, and UPDATED when the system resolves the incident", async () => {
  const { amKey } = await alertSetup(server);
  const events: any[] = [];
  client = await subscribeAsAdmin(server, EVENTS, (event) => events.push(event));

  const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "ev-1" }]));
  await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "ev-1" }]));
  await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "ev-1", status: "resolved" }]));
  await until(() => events.length >= 5 && events, "5 events");
  const incidentId = opened.body.incidents[0];
  expect(events.map((event) => [event.kind, event.incidentId, event.actor])).toEqual([
    ["CREATED", incidentId, null],
    ["ALERT", incidentId, null],
    ["ALERT", incidentId, null],
    ["ALERT", incidentId, null],
    ["UPDATED", incidentId, null],
  ]);
  expect(events[1]).toMatchObject({ alert: { fingerprint: "ev-1" }, log: { kind: "ALERT" } });
  expect(events[2].log).toBeNull(); // a repeat changes the alert but writes no entry
  expect(events[3]).toMatchObject({ alert: { fingerprint: "ev-1", status: "RESOLVED" }, log: { kind: "ALERT" } });
});

it("delivers every event of one large request to every subscriber, without closing any as too slow", async () => {
  const { amKey } = await alertSetup(server);
  // 300 alerts that fire and resolve in one payload: each pair opens an incident and auto-resolves it, 1,200 events
  // in one request, more than a subscriber's queue limit (1,000) of publications.
  const alerts = Array.from({ length: 300 }, (_, i) => [
    { fingerprint: `burst-${i}` },
    { fingerprint: `burst-${i}`, status: "resolved" as const, endsAt: "2026-11-30T01:05:00.000Z" },
  ]).flat();
  const clients: Client[] = [];
  const received: string[][] = [];
  const closed: string[] = [];
  const before = await server.metric("graphql_subscriptions_active");
  for (let s = 0; s < 3; s++) {
    const events: string[] = [];
    received.push(events);
    const subscriber = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${server.admin.token}` },
      on: { closed: (event) => closed.push(`${(event as { code: number }).code} ${(event as { reason: string }).reason}`) },
    });
    clients.push(subscriber);
    subscriber.subscribe(
      { query: `subscription { incidentEvents { kind incidentId alert { fingerprint } } }` },
      {
        next: (result) => {
          const event = result.data?.incidentEvents as { kind: string; incidentId: string; alert: { fingerprint: string } | null };
          if (event.alert === null || event.alert.fingerprint.startsWith("burst-")) events.push(`${event.kind} ${event.incidentId}`);
        },
        error: (error) => closed.push(`error ${JSON.stringify(error)}`),
        complete: () => {},
      },
    );
  }
  try {
    await until(async () => (await server.metric("graphql_subscriptions_active")) >= before + 3, "the subscriptions");
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload(alerts, { groupKey: "burst" }));
    expect(answer.status).toBe(200);
    const incidents: string[] = answer.body.incidents;
    expect(incidents).toHaveLength(300);
    const expected = incidents.flatMap((id) => [`CREATED ${id}`, `ALERT ${id}`, `ALERT ${id}`, `UPDATED ${id}`]);
    await until(() => received.every((events) => events.length >= expected.length) || closed.length > 0, "1,200 events each", 30_000);
    expect(closed).toEqual([]);
    for (const events of received) expect(events).toEqual(expected);
  } finally {
    await Promise.all(clients.map((subscriber) => subscriber.dispose()));
  }
}, 60_000);
