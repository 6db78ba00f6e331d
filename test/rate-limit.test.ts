import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";

// A page of 50 incidents with 10 entries each: 50 + 500 = 550 worst-case nodes, so 6 points (GitHub rounds).
const run = promisify(execFile);

const nestedPage = `{ incidents(first: 50) { nodes { id logs(first: 10) { nodes { id } } } } }`;
const rateLimitQuery = `{ rateLimit { limit cost used remaining resetAt } }`;

describe("the per-client cost budget (RATE_LIMIT_POINTS=20)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_POINTS: "20", RATE_LIMIT_WINDOW: "1h" });
  });
  afterAll(() => server.close());

  it("charges a request its worst-case nodes / 100, at least 1, and reports it in the headers and Query.rateLimit", async () => {
    const user = await server.signUp("Budget");
    const started = Date.now();
    const page = await server.gql(nestedPage, {}, user.token);
    expect(page.errors).toBeUndefined();
    expect(page.headers.get("x-ratelimit-limit")).toBe("20");
    expect(page.headers.get("x-ratelimit-remaining")).toBe("14");
    const reset = Number(page.headers.get("x-ratelimit-reset"));
    expect(reset * 1000).toBeGreaterThanOrEqual(started + 3600_000 - 1000);
    expect(reset * 1000).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);

    const own = await server.gql(rateLimitQuery, {}, user.token);
    expect(own.data.rateLimit).toMatchObject({ limit: 20, cost: 1, used: 7, remaining: 13 });
    expect(Math.abs(Date.parse(own.data.rateLimit.resetAt) / 1000 - reset)).toBeLessThan(1);
    expect(own.headers.get("x-ratelimit-remaining")).toBe("13");
  });

  it("refuses a request over the budget with RATE_LIMITED, retryAfter and HTTP 429, before any SQL", async () => {
    const user = await server.signUp("Spender");
    for (let i = 0; i < 3; i++) expect((await server.gql(nestedPage, {}, user.token)).errors).toBeUndefined(); // 18 points
    const before = await server.metric("db_queries_total");
    const refused = await server.gql(nestedPage, {}, user.token);
    expect(await server.metric("db_queries_total")).toBe(before);
    expect(refused.status).toBe(429);
    const error = onlyError(refused);
    expect(error.extensions?.code).toBe("RATE_LIMITED");
    expect(error.extensions?.retryAfter).toBeGreaterThan(3500);
    expect(Number(refused.headers.get("retry-after"))).toBe(error.extensions?.retryAfter);
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
  });

  it("keeps one user's budget apart from another's", async () => {
    const first = await server.signUp("First");
    const second = await server.signUp("Second");
    for (let i = 0; i < 4; i++) await server.gql(nestedPage, {}, first.token);
    expect((await server.gql(nestedPage, {}, first.token)).status).toBe(429);
    const other = await server.gql(nestedPage, {}, second.token);
    expect(other.errors).toBeUndefined();
    expect(other.headers.get("x-ratelimit-remaining")).toBe("14");
  });

  it("reports the budget, uncharged, on an answer refused before it was priced", async () => {
    const user = await server.signUp("Typo");
    await server.gql(`{ me { id } }`, {}, user.token);
    const broken = await server.gql(`{ me { id `, {}, user.token);
    expect(onlyError(broken).extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(broken.headers.get("x-ratelimit-remaining")).toBe("19");
  });

  it("charges a WebSocket subscribe to the same budget, and refuses one over it with RATE_LIMITED", async () => {
    const user = await server.signUp("Listener");
    for (let i = 0; i < 3; i++) expect((await server.gql(nestedPage, {}, user.token)).errors).toBeUndefined(); // 18 points
    const client = createClient({ url: server.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${user.token}` } });
    const subscribe = () =>
      new Promise<{ code?: unknown; retryAfter?: unknown } | "listening">((resolve) => {
        const stop = client.subscribe(
          { query: `subscription { incidentEvents { kind incidentId } }` },
          { next: () => {}, error: (errors) => resolve((errors as Array<{ extensions?: Record<string, unknown> }>)[0]?.extensions ?? {}), complete: () => {} },
        );
        // No error within a moment: the subscription is listening.
        setTimeout(() => {
          stop();
          resolve("listening");
        }, 300);
      });
    try {
      expect(await subscribe()).toBe("listening"); // 19
      expect(await subscribe()).toBe("listening"); // 20
      const refused = await subscribe();
      expect(refused).toMatchObject({ code: "RATE_LIMITED" });
      expect((refused as { retryAfter: number }).retryAfter).toBeGreaterThan(3500);
      expect((await server.gql(rateLimitQuery, {}, user.token)).status).toBe(429);
    } finally {
      await client.dispose();
    }
  });

  it("charges a ranking call 1,000 nodes and a metrics pass 5,000, on top of the rows they return", async () => {
    const user = await server.signUp("Ranker");
    // similarIncidents(first: 5): 5 + 1,000 nodes, 10 points; searchIncidents(first: 20): 20 + 1,000, 10 points.
    const draft = await server.gql(`{ rateLimit { cost } similarIncidents(to: { title: "Disk full" }) { score } }`, {}, user.token);
    expect(draft.errors).toBeUndefined();
    expect(draft.data.rateLimit.cost).toBe(10);
    const search = await server.gql(`{ rateLimit { cost } searchIncidents(query: "disk", first: 20) { score } }`, {}, user.token);
    expect(search.data.rateLimit.cost).toBe(10);
    expect(search.headers.get("x-ratelimit-remaining")).toBe("0");
    // A metrics pass: 50 points, more than the whole budget of another user.
    const other = await server.signUp("Dashboard");
    const metrics = await server.gql(`{ incidentMetrics(input: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }) { created } }`, {}, other.token);
    expect(metrics.status).toBe(429);
    expect(onlyError(metrics).extensions?.code).toBe("RATE_LIMITED");
  });

  it("charges anonymous requests to the client's address", async () => {
    const response = await server.gql(`{ me { id } }`);
    expect(onlyError(response).extensions?.code).toBe("UNAUTHENTICATED");
    expect(response.headers.get("x-ratelimit-limit")).toBe("20");
  });
});

describe("without a budget (development, RATE_LIMIT_POINTS unset)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: "development" });
  });
  afterAll(() => server.close());

  it("sends no x-ratelimit headers and answers rateLimit with null", async () => {
    const response = await server.gql(rateLimitQuery, {}, server.admin.token);
    expect(response.errors).toBeUndefined();
    expect(response.data.rateLimit).toBeNull();
    expect(response.headers.get("x-ratelimit-limit")).toBeNull();
  });
});

describe("the per-client concurrency gate", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONCURRENT_REQUESTS_PER_CLIENT: "1", MAX_QUEUED_REQUESTS_PER_CLIENT: "2" });
  });
  afterAll(() => server.close());

  it("queues a client's requests beyond its slots, refuses those beyond its queue with 429, and serves others", async () => {
    const flooder = await server.signUp("Flooder");
    for (let i = 0; i < 20; i++) {
      await server.gql(`mutation { createIncident(input: { title: "Incident ${i}" }) { id } }`, {}, server.admin.token);
    }
    await server.gql(`{ me { id } }`, {}, flooder.token); // its token verified once, as a client's usually is
    // A burst counts only if its requests meet at the server: on a busy machine the burst client can be descheduled
    // between its writes, and a request on SQLite waits for no I/O, so each may finish before the next is read. A
    // few bursts, then, until one arrives together; a gate that never refuses fails all of them.
    let answers: Array<{ status: number; head: string; body: string }> = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      answers = await burst(server.url, nestedPage, flooder.token, 20);
      expect(answers.every((answer) => answer.status === 200 || answer.status === 429)).toBe(true);
      if (answers.some((answer) => answer.status === 429)) break;
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // the refusals' retry-after
    }
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(3);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length, `statuses: ${answers.map((answer) => answer.status).join(",")}`).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.head).toMatch(/^retry-after: 1$/m);
      expect(JSON.parse(answer.body).errors[0].extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: 1 });
    }
    expect((await server.gql(`{ me { name } }`, {}, server.admin.token)).data.me.name).toBe("Admin");
  });
});

/** `count` requests that reach the server in one pass of its event loop (test/support/burst-client.mjs). */
async function burst(url: string, query: string, token: string, count: number): Promise<Array<{ status: number; head: string; body: string }>> {
  const script = fileURLToPath(new URL("./support/burst-client.mjs", import.meta.url));
  const { stdout } = await run(process.execPath, [script, url, token, String(count), query]);
  return JSON.parse(stdout);
}
