import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, type AmAlert } from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";

// Deletions of incidents while both senders fire, resolve and acknowledge the alerts of those same incidents. On
// PostgreSQL an alert request may hold an alert row before it takes the row of its incident (an alert that began
// firing after the request locked its incidents), while the deletion holds the incident and its cascade waits for
// that alert: "deadlock detected", and the deletion that PostgreSQL undid answered INTERNAL_SERVER_ERROR.

const FINGERPRINTS = 20;
const RACE_MS = 14_000;
const DELETERS = 3;
const SENDERS = 2;

const OPEN_INCIDENTS = `{ incidents(first: 6, filter: { status: [OPEN, INVESTIGATING] }) { nodes { id } } }`;
const DELETE = `mutation($id: ID!) { deleteIncident(id: $id) }`;

describe("deletions racing the alerts of the incidents they delete (the backend under test; PostgreSQL deadlocked: run with TEST_DATABASE=postgres)", () => {
  let server: TestServer;
  let keys: { am: string; v2: string };
  beforeAll(async () => {
    server = await startTestServer({ INGEST_RATE_LIMIT: "1000000" });
    const token = server.admin.token;
    // Every event recorded, inside the transactions that race.
    const endpoint = await server.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
      { input: { url: "http://127.0.0.1:9/closed" } },
      token,
    );
    expect(endpoint.errors).toBeUndefined();
    const service = await server.gql(`mutation { createService(input: { name: "Deleted" }) { id } }`, {}, token);
    const key = async (kind: string) =>
      (
        await server.gql(
          `mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) { key } }`,
          { input: { serviceId: service.data.createService.id, name: kind, kind } },
          token,
        )
      ).data.createIntegration.key as string;
    keys = { am: await key("ALERTMANAGER"), v2: await key("EVENTS_V2") };
  });
  afterAll(async () => {
    await server?.close();
  });

  it("every deletion succeeds (or finds the incident gone), and every alert request too (INTERNAL_SERVER_ERROR on PostgreSQL before)", async () => {
    const end = Date.now() + RACE_MS;
    const fingerprint = (i: number) => `gone-${String(i).padStart(2, "0")}`;
    const hookStatuses = new Map<number, number>();
    const deletions = new Map<string, number>();
    const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

    // Alertmanager: the whole set in every notification, one group of three, firing or resolving in turns.
    const alertmanager = async (offset: number) => {
      for (let n = offset; Date.now() < end; n += SENDERS) {
        const status = n % 3 === 0 ? "resolved" : "firing";
        const alerts = Array.from({ length: FINGERPRINTS }, (_, i): AmAlert => ({
          fingerprint: fingerprint(i),
          labels: { alertname: `Gone${i}` },
          status: (i + n) % 4 === 0 ? "resolved" : status,
        }));
        const answer = await fetch(`${server.base}/hooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${keys.am}` },
          body: JSON.stringify(alertmanagerPayload(alerts, { groupKey: `gone-${n % 3}` })),
        });
        await answer.arrayBuffer();
        count(hookStatuses, answer.status);
      }
    };
    // Events v2: the same fingerprints (dedup keys) triggered, acknowledged and resolved one at a time.
    const eventsV2 = async () => {
      for (let n = 0; Date.now() < end; n++) {
        const action = ["trigger", "acknowledge", "resolve"][n % 3]!;
        const answer = await fetch(`${server.base}/v2/enqueue`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            routing_key: keys.v2,
            event_action: action,
            dedup_key: fingerprint(n % FINGERPRINTS),
            payload: { summary: "Disk full", source: "db-7", severity: "error" },
          }),
        });
        await answer.arrayBuffer();
        count(hookStatuses, answer.status);
      }
    };
    const deleter = async (worker: number) => {
      while (Date.now() < end) {
        const open = await server.gql(OPEN_INCIDENTS, {}, server.admin.token);
        const ids: string[] = open.data?.incidents?.nodes?.map((node: { id: string }) => node.id) ?? [];
        if (ids.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        const id = ids[worker % ids.length];
        const deletion = await server.gql(DELETE, { id }, server.admin.token);
        count(deletions, deletion.errors?.[0]?.extensions?.code ?? (deletion.data?.deleteIncident === id ? "ok" : "unexpected"));
      }
    };
    await Promise.all([...Array.from({ length: SENDERS }, (_, offset) => alertmanager(offset)), eventsV2(), ...Array.from({ length: DELETERS }, (_, worker) => deleter(worker))]);

    const answered = Object.fromEntries(deletions);
    expect(Object.keys(answered).filter((code) => code !== "ok" && code !== "NOT_FOUND"), JSON.stringify(answered)).toEqual([]);
    expect(answered.ok ?? 0).toBeGreaterThanOrEqual(10);
    expect([...hookStatuses.keys()].filter((status) => status !== 200 && status !== 202)).toEqual([]);
    expect(await server.db.integrityProblems()).toEqual([]);
  }, 30_000);
});
