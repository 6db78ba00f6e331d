import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { alertmanagerPayload, alertSetup, sendAlertmanager } from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";
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
  const before = await server.metric("graphql_subscriptions_active");
  client = createClient({
    url: server.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${server.admin.token}` },
  });
  client.subscribe({ query: EVENTS }, { next: (result) => events.push(result.data?.incidentEvents), error: () => {}, complete: () => {} });
  await until(async () => (await server.metric("graphql_subscriptions_active")) > before, "the subscription");

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
