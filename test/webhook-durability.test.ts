import { afterEach, describe, expect, it } from "vitest";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";
import { until } from "./support/until.js";
import { startReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { deliveryPublicId } from "../src/modules/webhooks/delivery-id.js";

// The server as a real process, killed and restarted, and two of them on one PostgreSQL database.

let database: TestDatabase | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  await stopAllChildServers();
  await receiver?.close();
  await database?.remove();
  database = receiver = undefined;
});

const env = { WEBHOOK_TIMEOUT: "1s", WEBHOOK_RETRY_SCHEDULE: "1,1,1,1,1" };

async function adminToken(child: ChildServer): Promise<string> {
  const result = await child.gql(
    `mutation { signUp(input: { email: "admin@example.com", name: "Admin", password: "correct horse battery" }) { token } }`,
  );
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.signUp.token;
}

async function createEndpoint(child: ChildServer, token: string, url: string) {
  const result = await child.gql(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { secret } }`, { url }, token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
}

async function incidentWithUpdate(child: ChildServer, token: string, title: string) {
  const created = await child.gql(`mutation($title: String!) { createIncident(input: { title: $title }) { id } }`, { title }, token);
  if (!created.data) throw new Error(JSON.stringify(created.body));
  const id = created.data.createIncident.id;
  const updated = await child.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { priority: HIGH }) { id } }`, { id }, token);
  if (!updated.data) throw new Error(JSON.stringify(updated.body));
  return id as string;
}

/** Every delivery the database holds, answered 2xx by the receiver. */
async function allDelivered(db: TestDatabase, target: WebhookReceiver) {
  const rows = await db.query<{ id: unknown; status: string; created_at: unknown }>(`SELECT id, status, created_at FROM webhook_deliveries ORDER BY id`);
  const delivered = target.delivered();
  const publicId = (row: { id: unknown; created_at: unknown }) =>
    deliveryPublicId(Number(row.id), row.created_at instanceof Date ? row.created_at : new Date(Number(row.created_at)));
  return rows.length > 0 && rows.every((row) => row.status === "DELIVERED" && delivered.has(publicId(row))) && rows;
}

/** Per incident, the versions of the events answered 2xx, in the order they arrived. */
function versionsByIncident(target: WebhookReceiver) {
  const byIncident = new Map<string, number[]>();
  for (const request of target.received) {
    if (request.answered !== 200) continue;
    const incident = request.json.data.incident;
    byIncident.set(incident.id, [...(byIncident.get(incident.id) ?? []), incident.version]);
  }
  return byIncident;
}

describe("webhook durability", () => {
  it("loses no committed event when the server is SIGKILLed during delivery", async () => {
    database = await tempDatabase("incident-api-webhooks-");
    let stalling = true;
    receiver = await startReceiver(() => (stalling ? "stall" : 200));
    const first = await startChildServer({ dbPath: database.dbPath, env });
    const token = await adminToken(first);
    await createEndpoint(first, token, receiver.url);
    for (let i = 0; i < 4; i++) await incidentWithUpdate(first, token, `Incident ${i}`);
    await until(() => receiver!.received.length >= 1, "an attempt in flight");
    await first.kill("SIGKILL");
    stalling = false;
    const second = await startChildServer({ dbPath: database.dbPath, env });
    // The killed instance's leases run out (WEBHOOK_TIMEOUT + 5 s), and the restarted one takes them over.
    const rows = await until(() => allDelivered(database!, receiver!), "every delivery, after the restart", 25_000);
    expect(rows).toHaveLength(8);
    for (const versions of versionsByIncident(receiver).values()) expect(versions).toEqual([1, 2]);
    await second.stop();
  }, 60_000);

  it("stops on SIGTERM with its attempts handed back untried, and delivers them after a restart", async () => {
    database = await tempDatabase("incident-api-webhooks-");
    let stalling = true;
    receiver = await startReceiver(() => (stalling ? "stall" : 200));
    const first = await startChildServer({ dbPath: database.dbPath, env: { ...env, WEBHOOK_TIMEOUT: "30s" } });
    const token = await adminToken(first);
    await createEndpoint(first, token, receiver.url);
    await incidentWithUpdate(first, token, "Stalled");
    await until(() => receiver!.received.length >= 1, "an attempt in flight");
    const exit = await first.stop(20_000);
    expect(exit.code).toBe(0);
    const rows = await database.query<{ status: string; attempts: number; claimed_by: string | null }>(
      `SELECT status, attempts, claimed_by FROM webhook_deliveries ORDER BY id`,
    );
    expect(rows).toEqual([
      { status: "PENDING", attempts: 0, claimed_by: null },
      { status: "PENDING", attempts: 0, claimed_by: null },
    ]);
    stalling = false;
    const started = Date.now();
    await startChildServer({ dbPath: database.dbPath, env });
    await until(() => allDelivered(database!, receiver!), "every delivery, after the restart", 10_000);
    expect(Date.now() - started).toBeLessThan(8_000); // no lease to wait for
  }, 60_000);

  it("lets an attempt in flight finish on SIGTERM, and stores its outcome before exiting", async () => {
    database = await tempDatabase("incident-api-webhooks-");
    receiver = await startReceiver(() => ({ status: 200, delayMs: 1_500 }));
    const child = await startChildServer({ dbPath: database.dbPath, env: { ...env, WEBHOOK_TIMEOUT: "30s" } });
    const token = await adminToken(child);
    await createEndpoint(child, token, receiver.url);
    await child.gql(`mutation { createIncident(input: { title: "Slow receiver" }) { id } }`, {}, token);
    await until(() => receiver!.received.length >= 1, "an attempt in flight");
    expect((await child.stop(20_000)).code).toBe(0);
    const rows = await database.query<{ status: string; attempts: number; claimed_by: string | null }>(
      `SELECT status, attempts, claimed_by FROM webhook_deliveries`,
    );
    expect(rows).toEqual([{ status: "DELIVERED", attempts: 1, claimed_by: null }]);
  }, 60_000);

  it("shares deliveries between two instances on PostgreSQL, each event delivered once", async () => {
    database = await tempDatabase("incident-api-webhooks-", "postgres");
    receiver = await startReceiver(() => ({ status: 200, delayMs: 20 }));
    const a = await startChildServer({ dbPath: database.dbPath, env });
    const b = await startChildServer({ dbPath: database.dbPath, env });
    const token = await adminToken(a);
    await createEndpoint(a, token, receiver.url);
    await Promise.all(Array.from({ length: 30 }, (_, i) => incidentWithUpdate(i % 2 === 0 ? a : b, token, `Incident ${i}`)));
    const rows = await until(() => allDelivered(database!, receiver!), "every delivery", 20_000);
    expect(rows).toHaveLength(60);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(60); // each sent once: no duplicate, no retry
    expect(new Set(receiver.received.map((request) => request.headers["webhook-id"])).size).toBe(60);
    expect(receiver.inFlightMax()).toBe(1);
    for (const versions of versionsByIncident(receiver).values()) expect(versions).toEqual([1, 2]);
    const sent = async (child: ChildServer) => {
      const text = await (await fetch(`${child.base}/metrics`)).text();
      return Number(/^webhook_deliveries_total\{outcome="delivered"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const [byA, byB] = [await sent(a), await sent(b)];
    expect(byA + byB).toBe(60);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
  }, 60_000);

  it("sends an incident's events in commit order when two PostgreSQL instances change it at once", async () => {
    database = await tempDatabase("incident-api-webhooks-", "postgres");
    receiver = await startReceiver(() => 200);
    const a = await startChildServer({ dbPath: database.dbPath, env });
    const b = await startChildServer({ dbPath: database.dbPath, env });
    const token = await adminToken(a);
    await createEndpoint(a, token, receiver.url);
    const ids = await Promise.all(Array.from({ length: 4 }, (_, i) => incidentWithUpdate(a, token, `Contended ${i}`)));
    // 10 notes and 10 edits on each incident, sent to both instances at once.
    await Promise.all(
      ids.flatMap((id) =>
        Array.from({ length: 10 }, (_, i) => [
          (i % 2 ? a : b).gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id, m: `note ${i}` }, token),
          (i % 2 ? b : a).gql(`mutation($id: ID!, $t: String!) { updateIncident(id: $id, input: { title: $t }) { id } }`, { id, t: `title ${i}` }, token),
        ]).flat(),
      ),
    );
    const rows = await until(() => allDelivered(database!, receiver!), "every delivery", 20_000);
    expect(rows).toHaveLength(4 * 22);
    for (const id of ids) {
      const events = receiver.received.filter((request) => request.json.data.incident.id === id);
      const versions = events.map((request) => request.json.data.incident.version);
      expect(versions, id).toEqual([...versions].sort((x, y) => x - y)); // never an older state after a newer one
      const logIds = events.filter((request) => request.json.data.log).map((request) => Number(request.json.data.log.id));
      expect(logIds, id).toEqual([...logIds].sort((x, y) => x - y));
      expect(new Set(events.map((request) => request.headers["webhook-id"])).size).toBe(22);
    }
  }, 60_000);
});
