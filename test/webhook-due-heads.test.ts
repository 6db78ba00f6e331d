// Only the head of each endpoint and incident is due (section 11's order rule): a backlog that cannot go now (behind a
// disabled endpoint, a busy one, or a head waiting for its retry) is never read by the dispatcher's turns, which on
// SQLite run under the write lock every other writer waits for. Then the rule itself, end to end over HTTP.
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres, type PostgresHandle } from "../src/db/postgres.js";
import { postgresBackend, sqliteBackend, type SqlBackend } from "../src/db/sql-backend.js";
import { postgresDialect } from "../src/db/sql-work.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { webhookStatements } from "../src/modules/webhooks/webhook-statements.js";
import { createWebhookRepository, type WebhookRepository } from "../src/modules/webhooks/webhook.repository.js";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { recordStatements } from "./support/statement-recorder.js";
import { until } from "./support/until.js";
import { startReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const backlog = 20_000;

describe("a backlog that cannot be sent now is not read by the dispatcher's turns", () => {
  let database: TestDatabase;
  let sqlite: SqliteHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let webhooks: WebhookRepository;
  let executed: Array<{ source: string; params: unknown[] }> = [];
  const now = Date.now();

  beforeAll(async () => {
    database = await createTestDatabase("incident-api-due-heads-");
    let backend: SqlBackend;
    if (onPostgres) {
      postgres = openPostgres({ url: database.url, poolSize: 2 });
      await applyPostgresMigrations(postgres, migrationsFolder("postgres"));
      backend = postgresBackend(postgres);
    } else {
      sqlite = openSqlite({ path: database.dbPath, busyTimeoutMs: 5_000 });
      applyMigrations(sqlite.client, migrationsFolder("sqlite"));
      recordStatements(sqlite.client, (source, params) => executed.push({ source, params }));
      backend = sqliteBackend(sqlite);
    }
    webhooks = createWebhookRepository(backend);
    const at = (ms: number) => (onPostgres ? `to_timestamp(${ms} / 1000.0)` : String(ms));
    const series = (to: number) => (onPostgres ? `generate_series(0, ${to}) AS n(i)` : `n`);
    const counting = (to: number) => (onPostgres ? "" : `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${to}) `);
    const insert = `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)`;
    await database.exec(`
      INSERT INTO webhook_endpoints (url, enabled, secret, secret_hint, created_at, updated_at) VALUES
        ('http://127.0.0.1:1/disabled', FALSE, 'whsec_a', 'a', ${at(now)}, ${at(now)}),
        ('http://127.0.0.1:1/slow', TRUE, 'whsec_b', 'b', ${at(now)}, ${at(now)}),
        ('http://127.0.0.1:1/retrying', TRUE, 'whsec_c', 'c', ${at(now)}, ${at(now)}),
        ('http://127.0.0.1:1/healthy', TRUE, 'whsec_d', 'd', ${at(now)}, ${at(now)});`);
    // Endpoint 1, disabled: 20,000 over 2,000 incidents, the first of each incident due (its head).
    await database.exec(`${counting(backlog - 1)}${insert}
      SELECT 1, i % 2000, 'INCIDENT_UPDATED', '{}', 'PENDING', 0, CASE WHEN i < 2000 THEN ${at(now - 60_000)} END, ${at(now - 60_000)}
      FROM ${series(backlog - 1)}`);
    // Endpoint 2, slow (at its in-flight cap): 20,000 incidents, each one delivery, each due.
    await database.exec(`${counting(backlog - 1)}${insert}
      SELECT 2, 100000 + i, 'INCIDENT_UPDATED', '{}', 'PENDING', 0, ${at(now - 60_000)}, ${at(now - 60_000)} FROM ${series(backlog - 1)}`);
    // Endpoint 3: one incident, its head waiting an hour for a retry, 20,000 behind it.
    await database.exec(`${counting(backlog)}${insert}
      SELECT 3, 7, 'INCIDENT_UPDATED', '{}', 'PENDING', CASE WHEN i = 0 THEN 1 ELSE 0 END,
        CASE WHEN i = 0 THEN ${at(now + 3_600_000)} END, ${at(now - 60_000)} FROM ${series(backlog)}`);
    await database.exec("ANALYZE");
  }, 60_000);

  afterAll(async () => {
    sqlite?.close();
    await postgres?.close();
    await database?.remove();
  });

  const claimTurn = (busyEndpoints: readonly number[]) => {
    const at = new Date();
    return webhooks.settle("test", {
      finished: [],
      released: [],
      claim: { now: at, leaseUntil: new Date(at.getTime() + 60_000), limit: 32, busyEndpoints, perEndpoint: 8 },
    });
  };

  it("finds nothing due and claims nothing while the only due heads are a disabled or a busy endpoint's", async () => {
    expect(await webhooks.anyDue(new Date(), [2])).toBe(false);
    expect((await claimTurn([2])).claimed).toEqual([]);
  });

  it.skipIf(onPostgres)("SQLite: a turn reads the due index one endpoint at a time, never the whole backlog", async () => {
    executed = [];
    await webhooks.anyDue(new Date(), [2]);
    await claimTurn([2]);
    const dispatch = executed.filter(({ source }) => /webhook_deliveries/.test(source));
    expect(dispatch).toHaveLength(2);
    const explain = new Database(database.dbPath, { readonly: true });
    try {
      for (const { source, params } of dispatch) {
        const plan = (explain.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail);
        const context = `${source}\n${plan.join("\n")}`;
        // The endpoints are the outer loop; each reads its own range of due heads (bounded by LIMIT in the claim).
        expect(plan.findIndex((step) => /^SCAN e\b/.test(step)), context).toBeGreaterThanOrEqual(0);
        const deliveries = plan.filter((step) => /^(SCAN|SEARCH) (w|h|webhook_deliveries)\b/.test(step));
        expect(deliveries.length, context).toBeGreaterThan(0);
        for (const step of deliveries) {
          expect(step, context).toMatch(/USING INTEGER PRIMARY KEY \(rowid=\?\)|USING INDEX webhook_deliveries_endpoint_due_idx \(endpoint_id=\?/);
        }
        expect(source, context).not.toMatch(/NOT EXISTS/);
      }
    } finally {
      explain.close();
    }
  });

  it.runIf(onPostgres)("PostgreSQL: a turn's claim examines a few rows, whatever the backlog", async () => {
    const claim = webhookStatements(postgresDialect).claim;
    const at = new Date();
    const params = [new Date(at.getTime() + 60_000), "explain", at, at, 8, [2], at, at, 32];
    const [explained] = await database.query<{ "QUERY PLAN": any }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${claim.text}`, params);
    const plans = explained!["QUERY PLAN"];
    let examined = 0;
    const walk = (node: any) => {
      if (node["Relation Name"] === "webhook_deliveries") {
        examined += node["Actual Rows"] * node["Actual Loops"] + (node["Rows Removed by Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0);
      }
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plans[0].Plan);
    expect(examined, JSON.stringify(plans[0].Plan)).toBeLessThan(100);
  });

  it("claims at most perEndpoint of an endpoint's due heads, soonest first, and none waiting behind a retry", async () => {
    const turn = await claimTurn([]);
    expect(turn.claimed.map((delivery) => delivery.endpointId)).toEqual(Array(8).fill(2));
    expect(await webhooks.anyDue(new Date(), [2])).toBe(false);
  });

  it("leases the next delivery of a chain in the turn that stores its head as DELIVERED or FAILED", async () => {
    const at = onPostgres ? "now()" : String(Date.now() - 1_000);
    await database.exec(`INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
      VALUES (4, 9, 'INCIDENT_CREATED', '{}', 'PENDING', 0, ${at}, ${at}), (4, 9, 'INCIDENT_UPDATED', '{}', 'PENDING', 0, NULL, ${at}),
             (4, 9, 'INCIDENT_UPDATED', '{}', 'PENDING', 0, NULL, ${at})`);
    const chain = (await database.query<{ id: number }>("SELECT id FROM webhook_deliveries WHERE endpoint_id = 4 ORDER BY id")).map((row) => Number(row.id));
    expect((await claimTurn([2])).claimed.map((delivery) => delivery.id)).toEqual([chain[0]]);
    expect((await claimTurn([2])).claimed).toEqual([]); // the next waits for it
    const settle = async (id: number, status: "DELIVERED" | "FAILED") => {
      const turnAt = new Date();
      const outcome = { status, statusCode: status === "DELIVERED" ? 200 : 500, error: null, nextAttemptAt: null, deliveredAt: status === "DELIVERED" ? turnAt : null };
      return webhooks.settle("test", {
        finished: [{ id, outcome }],
        released: [],
        claim: { now: turnAt, leaseUntil: new Date(turnAt.getTime() + 60_000), limit: 32, busyEndpoints: [2], perEndpoint: 8 },
      });
    };
    const first = await settle(chain[0]!, "DELIVERED");
    expect([first.kept, first.claimed.map((delivery) => delivery.id)]).toEqual([[true], [chain[1]]]);
    const second = await settle(chain[1]!, "FAILED");
    expect([second.kept, second.claimed.map((delivery) => delivery.id)]).toEqual([[true], [chain[2]]]);
  });

  it("makes a re-enabled endpoint's heads due again", async () => {
    expect(await webhooks.updateEndpoint(1, { enabled: true })).toMatchObject({ enabled: true });
    expect(await webhooks.anyDue(new Date(), [2])).toBe(true);
    const turn = await claimTurn([2]);
    expect(turn.claimed).toHaveLength(8);
    expect(turn.claimed.every((delivery) => delivery.endpointId === 1)).toBe(true);
    expect(new Set(turn.claimed.map((delivery) => delivery.incidentId)).size).toBe(8); // one head per incident
    expect(turn.claimed.map((delivery) => delivery.id)).toEqual(turn.claimed.map((_, i) => i + 1)); // soonest, then by id
  });

  it("lets redeliveries of a deleted incident's events, sent at once, make one head due, the others wait behind it", async () => {
    const time = (ms: number) => (onPostgres ? `to_timestamp(${ms} / 1000.0)` : String(ms));
    await database.exec(
      `INSERT INTO webhook_endpoints (url, enabled, secret, secret_hint, created_at, updated_at)
       VALUES ('http://127.0.0.1:1/redeliver', TRUE, 'whsec_r', 'r', ${time(now)}, ${time(now)})`,
    );
    const [endpoint] = await database.query<{ id: number }>(`SELECT id FROM webhook_endpoints WHERE url = 'http://127.0.0.1:1/redeliver'`);
    for (let round = 0; round < 10; round++) {
      const incident = 900_000 + round; // no incident row: it was deleted, its last event delivered
      await database.exec(
        `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, delivered_at, created_at)
         VALUES (${Number(endpoint!.id)}, ${incident}, 'INCIDENT_UPDATED', '{}', 'DELIVERED', 1, NULL, ${time(now)}, ${time(now)}),
                (${Number(endpoint!.id)}, ${incident}, 'INCIDENT_DELETED', '{}', 'DELIVERED', 1, NULL, ${time(now)}, ${time(now)})`,
      );
      const sent = await database.query<{ id: number; created_at: number | Date }>(
        `SELECT id, created_at FROM webhook_deliveries WHERE incident_id = ${incident} ORDER BY id`,
      );
      await Promise.all(sent.map((row) => webhooks.redeliver(Number(row.id), new Date(row.created_at), new Date(now))));
      const due = await database.scalar(
        `SELECT count(*) FROM webhook_deliveries WHERE incident_id = ${incident} AND status = 'PENDING' AND next_attempt_at IS NOT NULL`,
      );
      expect(due).toBe(1);
    }
  });
});

const DELIVERIES = `query { webhookEndpoints { nodes { id deliveries(first: 100) { nodes {
  id eventType status attempts lastStatusCode nextAttemptAt } } } } }`;
const CREATE_INCIDENT = `mutation($t: String!) { createIncident(input: { title: $t }) { id } }`;
const UPDATE_INCIDENT = `mutation($id: ID!, $t: String!) { updateIncident(id: $id, input: { title: $t }) { id version } }`;
const SET_ENABLED = `mutation($id: ID!, $e: Boolean!) { updateWebhookEndpoint(id: $id, input: { enabled: $e }) { enabled } }`;

describe("the order rule, over HTTP", () => {
  let server: TestServer | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await server?.close();
    await receiver?.close();
    server = receiver = undefined;
  });

  async function gql(query: string, variables: Record<string, unknown> = {}) {
    const result = await server!.gql(query, variables, server!.admin.token);
    if (!result.data || result.errors) throw new Error(JSON.stringify(result.body));
    return result.data;
  }
  /** Oldest first. */
  const deliveries = async () => ((await gql(DELIVERIES)).webhookEndpoints.nodes[0].deliveries.nodes as Array<Record<string, any>>).reverse();
  const answered = (count: number) => receiver!.received.length === count && receiver!.received.every((request) => request.answered !== undefined);
  const sent = () => receiver!.received.map((request) => [request.json.data.incident.title, request.json.data.incident.version, request.answered]);

  it("holds an incident's later events (nextAttemptAt null) until its failing head is FAILED, and holds no other incident", async () => {
    receiver = await startReceiver((request) => (request.json?.data?.incident?.title === "Failing" ? 500 : 200));
    server = await startTestServer({ WEBHOOK_RETRY_SCHEDULE: "2" });
    await gql(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { secret } }`, { url: receiver.url });
    const failing = (await gql(CREATE_INCIDENT, { t: "Failing" })).createIncident.id;
    await gql(UPDATE_INCIDENT, { id: failing, t: "Renamed once" });
    await gql(UPDATE_INCIDENT, { id: failing, t: "Renamed twice" });
    await gql(CREATE_INCIDENT, { t: "Healthy" });
    // The other incident's event goes at once. The head has been tried once and waits for its retry; the two behind
    // it wait for it, with no time of their own.
    const waiting = await until(async () => {
      const rows = await deliveries();
      return rows[3]?.status === "DELIVERED" && rows;
    }, "the other incident's event delivered");
    expect(waiting.map((row) => [row.eventType, row.status, row.nextAttemptAt === null])).toEqual([
      ["INCIDENT_CREATED", "PENDING", false],
      ["INCIDENT_UPDATED", "PENDING", true],
      ["INCIDENT_UPDATED", "PENDING", true],
      ["INCIDENT_CREATED", "DELIVERED", true],
    ]);
    await until(() => answered(5), "the retry, then the two updates", 15_000);
    expect(sent()).toEqual([
      ["Failing", 1, 500],
      ["Healthy", 1, 200],
      ["Failing", 1, 500],
      ["Renamed once", 2, 200],
      ["Renamed twice", 3, 200],
    ]);
    const stored = async () => (await deliveries()).map((row) => row.status).join();
    await until(async () => (await stored()) === "FAILED,DELIVERED,DELIVERED,DELIVERED", "the outcomes stored");
  }, 30_000);

  it("resumes a re-enabled endpoint's backlog in order, a redelivery at the end of its chain", async () => {
    let refusing = false;
    receiver = await startReceiver(() => (refusing ? { status: 503, headers: { "retry-after": "3600" } } : 200));
    server = await startTestServer({ WEBHOOK_RETRY_SCHEDULE: "3600" });
    const endpoint = (await gql(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { endpoint { id } } }`, { url: receiver.url }))
      .createWebhookEndpoint.endpoint.id;
    const incident = (await gql(CREATE_INCIDENT, { t: "v1" })).createIncident.id;
    await until(async () => (await deliveries())[0]?.status === "DELIVERED", "the first event delivered");
    refusing = true;
    await gql(UPDATE_INCIDENT, { id: incident, t: "v2" });
    await until(() => receiver!.received.length === 2, "the refused attempt");
    await gql(UPDATE_INCIDENT, { id: incident, t: "v3" });
    await gql(UPDATE_INCIDENT, { id: incident, t: "v4" });
    const [first] = await deliveries();
    const again = (await gql(`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status nextAttemptAt } }`, { id: first!.id })).redeliverWebhook;
    expect(again).toMatchObject({ status: "PENDING", nextAttemptAt: null }); // behind v2, v3 and v4
    const head = (await deliveries())[1]!;
    expect(new Date(head.nextAttemptAt).getTime()).toBeGreaterThan(Date.now() + 3_000_000); // Retry-After: an hour
    expect((await gql(SET_ENABLED, { id: endpoint, e: false })).updateWebhookEndpoint.enabled).toBe(false);
    refusing = false;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(receiver.received).toHaveLength(2);
    // Enabled again: the head goes now, not in an hour, and the rest after it, one at a time.
    await gql(SET_ENABLED, { id: endpoint, e: true });
    await until(() => answered(6), "the backlog", 10_000);
    expect(sent()).toEqual([
      ["v1", 1, 200],
      ["v2", 2, 503],
      ["v2", 2, 200],
      ["v3", 3, 200],
      ["v4", 4, 200],
      ["v1", 1, 200],
    ]);
    expect(receiver.received[5]!.headers["webhook-id"]).toBe(again.id);
    await until(async () => (await deliveries()).every((row) => row.status === "DELIVERED" && row.nextAttemptAt === null), "every one stored DELIVERED");
  }, 30_000);
});
