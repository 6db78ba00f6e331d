import { createClient, type Client } from "graphql-ws";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startChildServer, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";
import type { GraphQLResponse } from "./support/server.js";
import { until } from "./support/until.js";

// README "Running at scale": several instances on one PostgreSQL database and one Redis. Whatever TEST_DATABASE
// says, this file makes its own PostgreSQL database (127.0.0.1:5432, TEST_POSTGRES_URL) and uses the Redis at
// TEST_REDIS_URL (default redis://127.0.0.1:6379) under a key prefix of its own, which it empties at the end.

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `incident-api-test:${process.pid}-${randomBytes(4).toString("hex")}:`;

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id role } } }`;
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`;
const CREATE = `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id version } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id title version } }`;
const ADD_LOG = `mutation($id: ID!, $message: String!) { addIncidentLog(incidentId: $id, message: $message) { id } }`;
const DELETE = `mutation($id: ID!) { deleteIncident(id: $id) }`;
const READ = `query($id: ID!) { incident(id: $id) { title version logs(first: 100) { totalCount nodes { kind } } } }`;
const EVENTS = `subscription { incidentEvents { kind incidentId actor { id } log { message } } }`;

interface EventData {
  kind: string;
  incidentId: string;
  actor: { id: string } | null;
  log: { message: string } | null;
}

const describeResponse = (response: GraphQLResponse) => `${response.status} ${JSON.stringify(response.body)}`;

async function metric(server: ChildServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : Number.NaN;
}

describe("two instances on one PostgreSQL database and one Redis (needs PostgreSQL and Redis)", () => {
  let database: TestDatabase | undefined;
  let redis: Redis;
  let a: ChildServer | undefined;
  let b: ChildServer | undefined;
  let admin: { id: string; token: string };
  const clients: Client[] = [];

  const gql = (server: ChildServer, query: string, variables: Record<string, unknown>, token?: string) =>
    server.gql(query, variables, token);

  /** Subscribes to every incident's events on `server` and waits until Redis delivers that channel to it. */
  async function subscribe(server: ChildServer, token: string) {
    const events: EventData[] = [];
    const errors: unknown[] = [];
    const before = await metric(server, "graphql_subscriptions_active");
    const channel = `${PREFIX}INCIDENT_EVENTS`;
    const [, subscribersBefore] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
    const client = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    client.subscribe<{ incidentEvents: EventData }>(
      { query: EVENTS },
      {
        next: (result) => {
          if (result.errors) errors.push(...result.errors);
          if (result.data) events.push(result.data.incidentEvents);
        },
        error: (error) => errors.push(error),
        complete: () => {},
      },
    );
    await until(async () => (await metric(server, "graphql_subscriptions_active")) > before, "the subscription to be active");
    // The instance subscribes to the Redis channel asynchronously: events published before that would be lost.
    // (One SUBSCRIBE per channel and instance, so this waits only for the instance's first subscriber.)
    if (subscribersBefore === 0) {
      await until(async () => Number(((await redis.pubsub("NUMSUB", channel)) as [string, number])[1]) > 0, "the redis subscription");
    }
    return {
      events,
      errors,
      received: (count: number, timeoutMs?: number) => until(() => events.length >= count && events, `${count} events`, timeoutMs),
    };
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    database = await tempDatabase("incident-api-multi-", "postgres");
    const env = { REDIS_URL, REDIS_PREFIX: PREFIX, DB_POOL_SIZE: "5", RATE_LIMIT_POINTS: "1000" };
    // One after the other: each applies pending migrations at start-up.
    a = await startChildServer({ dbPath: database.dbPath, env });
    b = await startChildServer({ dbPath: database.dbPath, env });
    const signedUp = await gql(a, SIGN_UP, { input: { email: "admin@multi.test", name: "Admin", password: "correct horse battery" } });
    expect(signedUp.errors, describeResponse(signedUp)).toBeUndefined();
    expect(signedUp.data.signUp.user.role).toBe("ADMIN");
    admin = { id: signedUp.data.signUp.user.id, token: signedUp.data.signUp.token };
  });

  afterAll(async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.dispose()));
    await Promise.allSettled([a?.stop(), b?.stop()]);
    try {
      if (redis) {
        const keys: string[] = [];
        let cursor = "0";
        do {
          const [next, batch] = await redis.scan(cursor, "MATCH", `${PREFIX}*`, "COUNT", 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== "0");
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
    } finally {
      await database?.remove();
    }
  });

  it("both instances are ready, their readiness including Redis", async () => {
    for (const server of [a!, b!]) {
      const response = await fetch(`${server.base}/readyz`);
      expect(response.status).toBe(200);
    }
  });

  it("an instance whose Redis does not answer is up but not ready", async () => {
    const orphan = await startChildServer({
      dbPath: database!.dbPath,
      env: { REDIS_URL: "redis://127.0.0.1:1", REDIS_PREFIX: PREFIX },
    });
    try {
      expect((await fetch(`${orphan.base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${orphan.base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "unavailable" });
      // The throttle cannot count: login fails rather than go unthrottled, and does not hang.
      const started = Date.now();
      const login = await gql(orphan, LOGIN, { email: "admin@multi.test", password: "correct horse battery" });
      expect(login.errors?.[0]?.extensions?.code, describeResponse(login)).toBe("INTERNAL_SERVER_ERROR");
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      const exit = await orphan.stop();
      expect(exit.code, orphan.output()).toBe(0);
    }
  });

  it("a subscriber on A gets every change made on B, once each and in order; one on B gets them too", async () => {
    const onA = await subscribe(a!, admin.token);
    const onB = await subscribe(b!, admin.token);

    const created = await gql(b!, CREATE, { input: { title: "Across instances" } }, admin.token);
    expect(created.errors, describeResponse(created)).toBeUndefined();
    const id: string = created.data.createIncident.id;
    const steps: Array<[string, Record<string, unknown>]> = [
      [UPDATE, { id, input: { title: "Across instances, renamed" } }],
      [UPDATE, { id, input: { status: "INVESTIGATING" } }],
      [ADD_LOG, { id, message: "note 1" }],
      [ADD_LOG, { id, message: "note 2" }],
      [UPDATE, { id, input: { priority: "HIGH" } }],
      [ADD_LOG, { id, message: "note 3" }],
      [UPDATE, { id, input: { status: "RESOLVED" } }],
    ];
    for (const [query, variables] of steps) {
      const result = await gql(b!, query, variables, admin.token);
      expect(result.errors, describeResponse(result)).toBeUndefined();
    }
    const expected = [
      ["CREATED", null],
      ["UPDATED", null],
      ["UPDATED", null],
      ["LOG_ADDED", "note 1"],
      ["LOG_ADDED", "note 2"],
      ["UPDATED", null],
      ["LOG_ADDED", "note 3"],
      ["UPDATED", null],
    ];
    // Every log entry still exists while these are delivered; the deletion comes after.
    await onA.received(expected.length);
    await onB.received(expected.length);
    const deleted = await gql(b!, DELETE, { id }, admin.token);
    expect(deleted.errors, describeResponse(deleted)).toBeUndefined();
    expected.push(["DELETED", null]);
    await onA.received(expected.length);
    await onB.received(expected.length);
    // Anything delivered twice would show up within this pause.
    await new Promise((resolve) => setTimeout(resolve, 500));

    for (const listener of [onA, onB]) {
      expect(listener.errors).toEqual([]);
      expect(listener.events.map((event) => [event.kind, event.log?.message ?? null])).toEqual(expected);
      expect(new Set(listener.events.map((event) => event.incidentId))).toEqual(new Set([id]));
      expect(new Set(listener.events.map((event) => event.actor?.id))).toEqual(new Set([admin.id]));
    }
  });

  it("24 concurrent guarded updates spread over both instances: exactly one succeeds, the rest get CONFLICT", async () => {
    const created = await gql(a!, CREATE, { input: { title: "Contended across instances" } }, admin.token);
    expect(created.errors, describeResponse(created)).toBeUndefined();
    const id: string = created.data.createIncident.id;
    const titles = Array.from({ length: 24 }, (_, i) => `contender ${i + 1}`);
    const responses = await Promise.all(
      titles.map((title, i) => gql(i % 2 === 0 ? a! : b!, UPDATE, { id, input: { title, expectedVersion: 1 } }, admin.token)),
    );
    const successes = responses.filter((response) => !response.errors && response.data?.updateIncident);
    const conflicts = responses.filter((response) => response.errors?.length === 1 && response.errors[0]!.extensions?.code === "CONFLICT");
    expect(successes, responses.map(describeResponse).join("\n")).toHaveLength(1);
    expect(conflicts, responses.map(describeResponse).join("\n")).toHaveLength(titles.length - 1);
    const winner = successes[0]!.data.updateIncident;
    expect(winner.version).toBe(2);

    for (const server of [a!, b!]) {
      const read = await gql(server, READ, { id }, admin.token);
      expect(read.errors, describeResponse(read)).toBeUndefined();
      expect(read.data.incident.title).toBe(winner.title);
      expect(read.data.incident.version).toBe(2);
      expect(read.data.incident.logs.nodes.map((log: { kind: string }) => log.kind)).toEqual(["EDIT"]);
    }
  });

  it("failed logins on A and B count against one limit: the 11th attempt is RATE_LIMITED on either", async () => {
    const email = "throttled@multi.test";
    const password = "the right password";
    const signedUp = await gql(b!, SIGN_UP, { input: { email, name: "Throttled", password } });
    expect(signedUp.errors, describeResponse(signedUp)).toBeUndefined();

    for (let attempt = 1; attempt <= 10; attempt++) {
      const server = attempt % 2 === 0 ? a! : b!;
      const failed = await gql(server, LOGIN, { email, password: `wrong password ${attempt}` });
      expect(failed.errors?.[0]?.extensions?.code, describeResponse(failed)).toBe("UNAUTHENTICATED");
    }
    for (const server of [a!, b!]) {
      // Even the right password: the email has used up its failures for the window.
      const refused = await gql(server, LOGIN, { email: email.toUpperCase(), password });
      expect(refused.errors?.[0]?.extensions?.code, describeResponse(refused)).toBe("RATE_LIMITED");
      const retryAfter = refused.errors![0]!.extensions!.retryAfter as number;
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    }

    // One small counter, namespaced, expiring with its window.
    const key = `${PREFIX}login:email:${email}`;
    expect(await redis.get(key)).toBe("10");
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);

    // Another email is not affected.
    const other = await gql(a!, LOGIN, { email: "admin@multi.test", password: "correct horse battery" });
    expect(other.errors, describeResponse(other)).toBeUndefined();
  });

  it("a user's cost budget is the deployment's: points spent on A count on B", async () => {
    const user = await gql(a!, SIGN_UP, { input: { email: "budget@multi.test", name: "Budget", password: "correct horse battery" } });
    const token = user.data.signUp.token;
    for (let i = 0; i < 3; i++) {
      const page = await gql(a!, `{ incidents(first: 50) { nodes { id logs(first: 10) { nodes { id } } } } }`, {}, token); // 6 points
      expect(page.errors, describeResponse(page)).toBeUndefined();
    }
    const onB = await gql(b!, `{ rateLimit { limit cost used remaining } }`, {}, token);
    expect(onB.data.rateLimit).toEqual({ limit: 1000, cost: 1, used: 19, remaining: 981 });
    expect(onB.headers.get("x-ratelimit-remaining")).toBe("981");
    expect(await redis.get(`${PREFIX}points:user:${user.data.signUp.user.id}`)).toBe("19");
  });

  it("both instances shut down cleanly, closing their Redis connections", async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.dispose()));
    for (const server of [a!, b!]) {
      const exit = await server.stop();
      expect(exit, server.output()).toEqual({ code: 0, signal: null });
    }
  });
});
