import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, triggerEvent } from "./support/alerts.js";
import { startChildServer, tempDatabase, type ChildServer } from "./support/child-server.js";
import { onPostgres, type TestDatabase } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";

// Section 9's "no lost or doubled alerts": concurrent duplicates, two instances, and a crash in the middle of a storm.

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`;

/** A service with integrations; signs up the first user (the admin) unless given an admin's token. */
async function setUp(gql: ChildServer["gql"], adminToken?: string, serviceName = "Storm") {
  const token =
    adminToken ??
    ((await gql(SIGN_UP, { input: { email: `admin-${randomBytes(3).toString("hex")}@alerts.test`, name: "Admin", password: "correct horse battery" } }))
      .data.signUp.token as string);
  const service = await gql(`mutation($name: String!) { createService(input: { name: $name }) { id } }`, { name: serviceName }, token);
  const key = async (kind: string) =>
    (
      await gql(
        `mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) { key } }`,
        { input: { serviceId: service.data.createService.id, name: kind, kind } },
        token,
      )
    ).data.createIntegration.key as string;
  return { token, amKey: await key("ALERTMANAGER"), amKey2: await key("ALERTMANAGER"), v2Key: await key("EVENTS_V2") };
}

const send = (base: string, key: string, payload: unknown) =>
  fetch(`${base}/hooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(payload),
  });

/** A group of `size` alerts whose fingerprints name the group. */
const group = (name: string, size: number) =>
  alertmanagerPayload(
    Array.from({ length: size }, (_, i) => ({ fingerprint: `${name}-${String(i).padStart(4, "0")}`, labels: { alertname: name, i: String(i) } })),
    { groupKey: name },
  );

describe("the same notification many times at once (one instance, the backend under test)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("makes one alert per fingerprint and one incident, with every notification counted", async () => {
    const { amKey } = await setUp(server.gql, server.admin.token);
    const payload = group("dup", 5);
    const answers = await Promise.all(Array.from({ length: 12 }, () => send(server.base, amKey, payload)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    expect(await server.db.scalar("SELECT count(*) FROM alerts WHERE fingerprint LIKE 'dup-%'")).toBe(5);
    expect(await server.db.scalar("SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint LIKE 'dup-%'")).toBe(1);
    expect(await server.db.scalar("SELECT sum(event_count) FROM alerts WHERE fingerprint LIKE 'dup-%'")).toBe(60);
    expect(await server.db.scalar("SELECT count(*) FROM incident_logs WHERE kind = 'ALERT'")).toBe(5);
  });

  it("never leaves a firing alert on an incident its last alert's resolution resolved at the same moment", async () => {
    const { amKey, amKey2 } = await setUp(server.gql, server.admin.token, "Joiners");
    for (let round = 0; round < 20; round++) {
      const name = `join${round}`;
      const first = alertmanagerPayload([{ fingerprint: `${name}-a`, labels: { alertname: name, i: "a" } }], { groupKey: name });
      expect((await send(server.base, amKey, first)).status).toBe(200);
      const resolved = alertmanagerPayload([{ fingerprint: `${name}-a`, labels: { alertname: name, i: "a" }, status: "resolved" }], { groupKey: name });
      const joining = alertmanagerPayload([{ fingerprint: `${name}-b`, labels: { alertname: name, i: "b" } }], { groupKey: name });
      const answers = await Promise.all([send(server.base, amKey, resolved), send(server.base, amKey2, joining)]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    }
    expect(
      await server.db.scalar(
        `SELECT count(*) FROM alerts a JOIN incidents i ON i.id = a.incident_id
         WHERE a.fingerprint LIKE 'join%' AND a.status = 'FIRING' AND i.status NOT IN ('OPEN', 'INVESTIGATING')`,
      ),
    ).toBe(0);
  });
});

describe("resolutions racing on one incident (the backend under test; PostgreSQL deadlocked: run with TEST_DATABASE=postgres)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    // Every event recorded, inside the transactions that race (the outbox locks the incident too).
    const endpoint = await server.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
      { input: { url: "http://127.0.0.1:9/closed" } },
      server.admin.token,
    );
    expect(endpoint.errors).toBeUndefined();
  });
  afterAll(async () => {
    await server?.close();
  });

  const resolving = (name: string, fingerprint: string) =>
    alertmanagerPayload([{ fingerprint, labels: { alertname: name, i: fingerprint }, status: "resolved" }], { groupKey: name });
  const incidentOf = async (fingerprint: string) =>
    (await server.db.query<{ id: number; status: string }>(
      `SELECT i.id, i.status FROM incidents i JOIN alerts a ON a.incident_id = i.id WHERE a.fingerprint = '${fingerprint}'`,
    ))[0]!;
  const count = (sql: string) => server.db.scalar(sql);
  /** Sends a group of `size` firing alerts and finds the incident it opened. */
  const openGroup = async (amKey: string, name: string, size: number) => {
    const payload = group(name, size);
    expect((await send(server.base, amKey, payload)).status).toBe(200);
    const fingerprints = payload.alerts.map((alert) => alert.fingerprint);
    const { id } = await incidentOf(fingerprints[0]!);
    return { payload, fingerprints, id };
  };

  it("N requests at once, each resolving one alert of the incident, all succeed and the last resolves it (deadlock detected on PostgreSQL before)", async () => {
    const { amKey } = await setUp(server.gql, server.admin.token, "Resolvers");
    const size = 10;
    for (let round = 0; round < 2; round++) {
      const name = `res${round}`;
      const { fingerprints, id } = await openGroup(amKey, name, size);
      const answers = await Promise.all(fingerprints.map((fingerprint) => send(server.base, amKey, resolving(name, fingerprint))));
      expect(answers.map((answer) => answer.status)).toEqual(Array(size).fill(200));
      expect((await incidentOf(fingerprints[0]!)).status).toBe("RESOLVED");
      expect(await count(`SELECT count(*) FROM alerts WHERE incident_id = ${id} AND status = 'FIRING'`)).toBe(0);
      // Once each: an entry and an alert.resolved per alert, one status change and one incident.updated.
      expect(await count(`SELECT count(*) FROM incident_logs WHERE incident_id = ${id} AND kind = 'ALERT' AND message LIKE '% resolved'`)).toBe(size);
      expect(await count(`SELECT count(*) FROM incident_logs WHERE incident_id = ${id} AND kind = 'STATUS_CHANGE'`)).toBe(1);
      expect(await count(`SELECT count(*) FROM webhook_deliveries WHERE incident_id = ${id} AND event_type = 'ALERT_RESOLVED'`)).toBe(size);
      expect(await count(`SELECT count(*) FROM webhook_deliveries WHERE incident_id = ${id} AND event_type = 'INCIDENT_UPDATED'`)).toBe(1);
    }
  }, 60_000);

  it("a person's resolution racing alert resolutions succeeds, and each alert resolves once (INTERNAL_SERVER_ERROR on PostgreSQL before)", async () => {
    const { amKey } = await setUp(server.gql, server.admin.token, "Person");
    const size = 40;
    const racing = 6;
    for (let round = 0; round < 3; round++) {
      const name = `person${round}`;
      const { fingerprints, id } = await openGroup(amKey, name, size);
      const update = `mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { status } }`;
      expect((await server.gql(update, { id: String(id), status: "INVESTIGATING" }, server.admin.token)).errors).toBeUndefined();
      const [person, ...hooks] = await Promise.all([
        server.gql(update, { id: String(id), status: "RESOLVED" }, server.admin.token),
        ...fingerprints.slice(0, racing).map((fingerprint) => send(server.base, amKey, resolving(name, fingerprint))),
      ]);
      expect(person.errors).toBeUndefined();
      expect(person.data.updateIncident.status).toBe("RESOLVED");
      expect(hooks.map((answer) => answer.status)).toEqual(Array(racing).fill(200));
      expect(await count(`SELECT count(*) FROM alerts WHERE incident_id = ${id} AND status = 'FIRING'`)).toBe(0);
      // Each alert resolved once: by its request, or with the incident.
      expect(await count(`SELECT count(*) FROM incident_logs WHERE incident_id = ${id} AND kind = 'ALERT' AND message LIKE '% resolved%'`)).toBe(size);
      expect(await count(`SELECT count(*) FROM webhook_deliveries WHERE incident_id = ${id} AND event_type = 'ALERT_RESOLVED'`)).toBe(size);
    }
  }, 60_000);

  it("a merge racing its source's alert resolutions and repeats succeeds with every request (500s on PostgreSQL before)", async () => {
    const { amKey } = await setUp(server.gql, server.admin.token, "Merged");
    const size = 60;
    const racing = 8;
    for (let round = 0; round < 3; round++) {
      const name = `merged${round}`;
      const { payload, id: source } = await openGroup(amKey, name, size);
      const created = await server.gql(`mutation { createIncident(input: { title: "target ${round}" }) { id } }`, {}, server.admin.token);
      const target = created.data.createIncident.id as string;
      const [merge, ...hooks] = await Promise.all([
        server.gql(`mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`, { t: target, s: [String(source)] }, server.admin.token),
        ...payload.alerts.slice(0, racing).map((alert, i) =>
          send(server.base, amKey, { ...payload, alerts: [{ ...alert, status: i % 2 ? "resolved" : "firing" }] }),
        ),
      ]);
      expect(merge.errors).toBeUndefined();
      expect(hooks.map((answer) => answer.status)).toEqual(Array(racing).fill(200));
      expect(await count(`SELECT count(*) FROM alerts WHERE fingerprint LIKE '${name}-%' AND incident_id = ${target}`)).toBe(size);
      expect(await count(`SELECT count(*) FROM alerts WHERE fingerprint LIKE '${name}-%' AND status = 'RESOLVED'`)).toBe(racing / 2);
    }
  }, 60_000);

  it("a deletion racing the incident's alert resolutions succeeds with every request (500s on PostgreSQL before)", async () => {
    const { amKey } = await setUp(server.gql, server.admin.token, "Deleted");
    const size = 60;
    const racing = 6;
    for (let round = 0; round < 3; round++) {
      const name = `deleted${round}`;
      const { payload, id } = await openGroup(amKey, name, size);
      const [deletion, ...hooks] = await Promise.all([
        server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: String(id) }, server.admin.token),
        ...payload.alerts.slice(0, racing).map((alert) => send(server.base, amKey, resolving(name, alert.fingerprint))),
      ]);
      expect(deletion.errors).toBeUndefined();
      expect(hooks.map((answer) => answer.status)).toEqual(Array(racing).fill(200));
      expect(await count(`SELECT count(*) FROM incidents WHERE id = ${id}`)).toBe(0);
      expect(await count(`SELECT count(*) FROM alerts WHERE fingerprint LIKE '${name}-%'`)).toBe(0);
    }
  }, 60_000);
});

describe("two instances on one PostgreSQL database and one Redis (needs PostgreSQL and Redis)", () => {
  const PREFIX = `incident-api-test:${process.pid}-${randomBytes(4).toString("hex")}:`;
  const LIMIT = 40;
  let database: TestDatabase;
  let a: ChildServer;
  let b: ChildServer;
  let keys: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    database = await tempDatabase("incident-api-alerts-", "postgres");
    const env = { REDIS_URL, REDIS_PREFIX: PREFIX, INGEST_RATE_LIMIT: String(LIMIT) };
    a = await startChildServer({ dbPath: database.dbPath, env });
    b = await startChildServer({ dbPath: database.dbPath, env });
    keys = await setUp(a.gql);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const stale = await redis.keys(`${PREFIX}*`);
    if (stale.length > 0) await redis.del(...stale);
    await redis.quit();
    await database?.remove();
  });

  it("receiving the same notification at once make one alert and one incident", async () => {
    for (let round = 0; round < 10; round++) {
      const payload = group(`race${round}`, 4);
      const answers = await Promise.all([send(a.base, keys.amKey, payload), send(b.base, keys.amKey, payload), send(a.base, keys.amKey, payload)]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
      const bodies = await Promise.all(answers.map((answer) => answer.json() as Promise<{ incidents: string[] }>));
      expect(new Set(bodies.map((body) => body.incidents.join()))).toHaveProperty("size", 1);
    }
    expect(await database.scalar("SELECT count(*) FROM alerts WHERE fingerprint LIKE 'race%'")).toBe(40);
    expect(await database.scalar("SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint LIKE 'race%'")).toBe(10);
    expect(await database.scalar("SELECT count(*) FROM incidents")).toBe(10);
    expect(await database.scalar("SELECT min(event_count) FROM alerts WHERE fingerprint LIKE 'race%'")).toBe(3);
  });

  it("different alerts of one new group, sent at once to both instances, open one incident", async () => {
    // A service of its own: these requests would use up the other tests' rate limits.
    const own = await setUp(a.gql, keys.token, "Split");
    for (let round = 0; round < 10; round++) {
      const name = `split${round}`;
      const part = (from: number) =>
        alertmanagerPayload(
          [0, 1].map((i) => ({ fingerprint: `${name}-${from + i}`, labels: { alertname: name, i: String(from + i) } })),
          { groupKey: name },
        );
      const answers = await Promise.all([send(a.base, own.amKey, part(0)), send(b.base, own.amKey2, part(2)), send(a.base, own.amKey, part(4))]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    }
    expect(await database.scalar("SELECT count(*) FROM alerts WHERE fingerprint LIKE 'split%'")).toBe(60);
    expect(await database.scalar("SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint LIKE 'split%'")).toBe(10);
  });

  it("resolving the last alerts on both instances at once auto-resolves the incident", async () => {
    const payload = group("last", 2);
    await send(a.base, keys.amKey, payload);
    const [one, two] = payload.alerts.map((alert) => ({ ...payload, alerts: [{ ...alert, status: "resolved" }] }));
    const answers = await Promise.all([send(a.base, keys.amKey, one), send(b.base, keys.amKey, two)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const [incident] = await database.query<{ status: string }>(
      "SELECT status FROM incidents WHERE id = (SELECT incident_id FROM alerts WHERE fingerprint = 'last-0000')",
    );
    expect(incident!.status).toBe("RESOLVED");
  });

  it("share each integration's rate limit through Redis", async () => {
    // Away from a minute's edge, where the window would start again.
    if (new Date().getSeconds() > 45) await new Promise((resolve) => setTimeout(resolve, (61 - new Date().getSeconds()) * 1000));
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const answer = await send(i % 2 === 0 ? a.base : b.base, keys.amKey2, group(`limit${i}`, 1));
      statuses.push(answer.status);
    }
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    for (const server of [a, b]) {
      const over = await send(server.base, keys.amKey2, group("over", 1));
      expect(over.status).toBe(503);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    const v2 = await fetch(`${b.base}/v2/enqueue`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(triggerEvent(keys.v2Key)) });
    expect(v2.status).toBe(202);
  }, 90_000);
});

describe("many large alert requests at once on PostgreSQL (needs PostgreSQL)", () => {
  let database: TestDatabase;
  let server: ChildServer;
  afterAll(async () => {
    await server?.stop();
    await database?.remove();
  });

  it("ingests in at most half the pool, queues a few, asks the rest to retry, and other users' requests still get a connection", async () => {
    database = await tempDatabase("incident-api-ingest-slots-", "postgres");
    // A pool of 2: one ingest transaction at a time, and 16 requests waiting for it.
    server = await startChildServer({ dbPath: database.dbPath, env: { DB_POOL_SIZE: "2", INGEST_RATE_LIMIT: "100000" } });
    const { amKey, token } = await setUp(server.gql);
    const storm = Promise.all(Array.from({ length: 24 }, (_, i) => send(server.base, amKey, group(`slot${i}`, 1000))));
    // Once the storm holds the pool's ingest half, a read by someone else.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const read = await server.gql(`{ me { name } }`, {}, token);
    const readMs = Date.now() - started;
    const answers = await storm;
    expect(read.errors).toBeUndefined();
    // Without the slots, the read waited behind every ingest transaction for a connection (about a second each).
    expect(readMs).toBeLessThan(4_000);
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.every((status) => status === 200 || status === 503)).toBe(true);
    expect(statuses.filter((status) => status === 503).length).toBeGreaterThan(0);
    const refused = answers.find((answer) => answer.status === 503)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { message: string }).message).toContain("in progress");
    // Every request answered 200 stored its alerts; a refused one stored none.
    const accepted = statuses.filter((status) => status === 200).length;
    expect(await database.scalar("SELECT count(*) FROM alerts WHERE fingerprint LIKE 'slot%'")).toBe(accepted * 1000);
  }, 120_000);
});

describe("one integration flooding the ingest slots (the backend under test)", () => {
  let database: TestDatabase;
  let server: ChildServer;
  afterAll(async () => {
    await server?.stop();
    await database?.remove();
  });

  it("keeps another service's single requests admitted promptly, and refuses the flood its surplus", async () => {
    database = await tempDatabase("incident-api-ingest-fair-");
    // A pool of 2: one ingest slot. The global slots let one key's flood fill the slot and the whole queue, and
    // another service's every request was refused (0 of 86 in the review's run).
    server = await startChildServer({ dbPath: database.dbPath, env: { DB_POOL_SIZE: "2", INGEST_RATE_LIMIT: "100000" } });
    const flooder = await setUp(server.gql);
    const quiet = await setUp(server.gql, flooder.token, "Quiet");
    let stop = false;
    const floodStatuses: number[] = [];
    const flood = async (worker: number) => {
      for (let n = 0; !stop; n++) {
        const answer = await send(server.base, flooder.amKey, group(`flood${worker}-${n}`, 1000));
        floodStatuses.push(answer.status);
        await answer.arrayBuffer();
        // As a sender honouring Retry-After (1 s) does.
        if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    };
    const workers = Array.from({ length: 24 }, (_, worker) => flood(worker));
    // Until the flood holds the slot and its queue.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const quietAnswers: Array<{ status: number; ms: number }> = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const answer = await fetch(`${server.base}/v2/enqueue`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(triggerEvent(quiet.v2Key, { dedupKey: `quiet-${i}` })),
      });
      await answer.arrayBuffer();
      quietAnswers.push({ status: answer.status, ms: Date.now() - started });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    stop = true;
    await Promise.all(workers);
    expect(quietAnswers.map((answer) => answer.status)).toEqual(Array(6).fill(202));
    // Behind one ingest of 1,000 alerts at most (about a second on an idle machine), never behind the flood's queue.
    expect(Math.max(...quietAnswers.map((answer) => answer.ms))).toBeLessThan(10_000);
    // On SQLite an ingest transaction runs in one turn of the event loop: the slot never has a queue to refuse from.
    if (onPostgres) expect(floodStatuses.filter((status) => status === 503).length).toBeGreaterThan(0);
    expect(await database.scalar("SELECT count(*) FROM alerts WHERE fingerprint LIKE 'quiet-%'")).toBe(6);
  }, 120_000);
});

describe("a SIGKILL during a storm (the backend under test)", () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.remove();
  });

  it("loses no acknowledged alert and leaves no payload half-stored", async () => {
    database = await tempDatabase("incident-api-storm-");
    let server = await startChildServer({ dbPath: database.dbPath, env: {} });
    const { amKey } = await setUp(server.gql);
    const acknowledged: string[] = [];
    const sent: string[] = [];
    let stopped = false;
    const sender = async (worker: number) => {
      for (let i = 0; !stopped; i++) {
        const name = `s${worker}x${i}`;
        sent.push(name);
        try {
          const answer = await send(server.base, amKey, group(name, 20));
          if (answer.status === 200) acknowledged.push(name);
        } catch {
          return; // the server is gone
        }
      }
    };
    const senders = Array.from({ length: 8 }, (_, worker) => sender(worker));
    while (acknowledged.length < 30) await new Promise((resolve) => setTimeout(resolve, 10));
    await server.kill("SIGKILL");
    stopped = true;
    await Promise.all(senders);
    server = await startChildServer({ dbPath: database.dbPath, env: {} });
    try {
      const rows = await database.query<{ name: string; n: unknown }>(
        "SELECT group_key AS name, count(*) AS n FROM alerts GROUP BY group_key",
      );
      const stored = new Map(rows.map((row) => [row.name, Number(row.n)]));
      for (const name of acknowledged) expect(stored.get(name), name).toBe(20);
      for (const [name, n] of stored) {
        expect(sent).toContain(name);
        expect(n, name).toBe(20);
      }
      expect(await database.scalar("SELECT count(*) FROM alerts WHERE incident_id IS NULL")).toBe(0);
      expect(await database.integrityProblems()).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
