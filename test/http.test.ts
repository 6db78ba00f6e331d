import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

let server: TestServer;
const logs: Array<Record<string, any>> = [];
beforeAll(async () => {
  server = await startTestServer({}, { logs });
});
afterAll(() => server.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(server.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("the HTTP surface", () => {
  it("answers /healthz with ok", async () => {
    const response = await fetch(`${server.base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 while the database answers", async () => {
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
  });

  it("exposes the contract's metrics in Prometheus format", async () => {
    await server.gql(`{ me { id } }`, {}, server.admin.token);
    const text = await (await fetch(`${server.base}/metrics`)).text();
    expect(text).toMatch(/^graphql_operations_total\{.*\} \d+/m);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{/m);
    expect(text).toMatch(/^db_queries_total \d+/m);
  });

  it("counts every SQL statement in db_queries_total", async () => {
    const before = await server.metric("db_queries_total");
    await server.gql(`{ me { id } }`, {}, server.admin.token);
    // One statement: the caller's user row, read once for authentication.
    expect((await server.metric("db_queries_total")) - before).toBe(1);
  });

  it("echoes the caller's x-request-id and mints one otherwise", async () => {
    const echoed = await fetch(`${server.base}/healthz`, { headers: { "x-request-id": "trace-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-123");
    const minted = await fetch(`${server.base}/healthz`);
    expect(minted.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("puts the request id on every log line of the request", async () => {
    await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "log-probe-1" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    const lines = logs.filter((line) => line.requestId === "log-probe-1");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.requestId === "log-probe-1")).toBe(true);
  });

  it("serves queries over GET with an Authorization header and no preflight header", async () => {
    const url = `${server.url}?query=${encodeURIComponent("{ me { id } }")}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${server.admin.token}` } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.me.id).toBe(server.admin.id);
  });

  it("refuses a GET without any CSRF-safe header", async () => {
    const response = await fetch(`${server.url}?query=${encodeURIComponent("{ __typename }")}`);
    expect(response.status).toBe(400);
  });

  it("refuses mutations over GET", async () => {
    const query = encodeURIComponent(`mutation { signOutEverywhere }`);
    const response = await fetch(`${server.url}?query=${query}`, { headers: { authorization: `Bearer ${server.admin.token}` } });
    expect(response.status).toBe(405);
  });

  it("answers CORS preflights on /graphql and on no other path", async () => {
    const preflight = (path: string) =>
      fetch(`${server.base}${path}`, {
        method: "OPTIONS",
        headers: { origin: "https://board.example.com", "access-control-request-method": "POST" },
      });
    const graphql = await preflight("/graphql");
    expect(graphql.status).toBe(204);
    expect(graphql.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const health = await preflight("/healthz");
    expect(health.status).toBe(404);
    expect(health.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("leaves a body that is not JSON unparsed, for Apollo's CSRF check to refuse", async () => {
    const response = await fetch(server.url, { method: "POST", headers: { "content-type": "text/plain" }, body: `{"query":"{ __typename }"}` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].message).toMatch(/Cross-Site Request Forgery/);
  });

  it("serves a request without a Host header (HTTP/1.0) or with a malformed one", async () => {
    const { request } = await import("node:net").then(({ connect }) => ({
      request: (raw: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(Number(new URL(server.base).port), "127.0.0.1", () => socket.end(raw));
          let answer = "";
          socket.on("data", (chunk) => (answer += chunk));
          socket.on("close", () => resolve(answer));
          socket.on("error", reject);
        }),
    }));
    const query = "GET /graphql?query=%7B__typename%7D";
    for (const raw of [
      `${query} HTTP/1.0\r\napollo-require-preflight: 1\r\n\r\n`,
      `${query} HTTP/1.1\r\nHost: a b\r\napollo-require-preflight: 1\r\nConnection: close\r\n\r\n`,
    ]) {
      const answer = await request(raw);
      expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
      expect(answer).toContain(`{"data":{"__typename":"Query"}}`);
    }
  });

  it("answers a path that cannot be decoded with a JSON 400 and a request id", async () => {
    const response = await fetch(`${server.base}/graphql/%zz`);
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(((await response.json()) as any).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("routes paths as before: a trailing slash and any case reach the same route", async () => {
    expect((await fetch(`${server.base}/healthz/`)).status).toBe(200);
    expect((await fetch(`${server.base}/HEALTHZ`)).status).toBe(200);
  });

  it("refuses a body in another charset or a compressed body with 415, rather than misreading it", async () => {
    const body = JSON.stringify({ query: "{ __typename }" });
    expect((await post(body, { "content-type": "application/json; charset=utf-16" })).status).toBe(415);
    expect((await post(body, { "content-encoding": "gzip" })).status).toBe(415);
    expect((await post(body, { "content-type": "application/json; charset=UTF-8" })).status).toBe(200);
  });

  it("lets Apollo answer the methods it does not serve", async () => {
    const response = await fetch(server.url, { method: "DELETE", headers: { "apollo-require-preflight": "true" } });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toMatch(/GET, POST/);
  });

  it("refuses batched bodies", async () => {
    const response = await post(JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]));
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].message).toMatch(/batch/i);
  });

  it("answers malformed JSON with a 400 and a JSON error", async () => {
    const response = await post("{ not json");
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
    expect(((await response.json()) as any).errors[0].message).not.toMatch(/at .*\.js/);
  });

  it("answers a body over 1 MB with 413 and a JSON error", async () => {
    const response = await post(JSON.stringify({ query: `{ __typename } # ${"x".repeat(1024 * 1024)}` }));
    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("serves Apollo Sandbox to a browser in development", async () => {
    const response = await fetch(server.url, { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/sandbox/i);
  });

  it("keeps graphql-js codes for parse and validation errors", async () => {
    expect(onlyError(await server.gql(`{ me { id `)).extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(onlyError(await server.gql(`{ me { nope } }`, {}, server.admin.token)).extensions?.code).toBe(
      "GRAPHQL_VALIDATION_FAILED",
    );
  });
});

describe("unexpected failures", () => {
  it("are masked for the client and logged with the request id", async () => {
    const created = await server.gql(`mutation { createIncident(input: { title: "Disk full" }) { id } }`, {}, server.admin.token);
    const id = created.data.createIncident.id;
    // Break the schema under the running server, as a botched manual change would.
    await server.db.exec("ALTER TABLE incident_logs RENAME TO incident_logs_moved");
    try {
      const response = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${server.admin.token}`, "x-request-id": "boom-1" },
        body: JSON.stringify({ query: `query($id: ID!) { incident(id: $id) { logs { nodes { id } } } }`, variables: { id } }),
      });
      const text = await response.text();
      const error = JSON.parse(text).errors[0];
      expect(error).toEqual({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
      expect(text).not.toMatch(/select|incident_logs|sqlite|stack/i);
      const logged = logs.find((line) => line.requestId === "boom-1" && line.level >= 50);
      expect(logged?.err?.message ?? "").toMatch(/incident_logs/);
    } finally {
      await server.db.exec("ALTER TABLE incident_logs_moved RENAME TO incident_logs");
    }
  });
});

describe("variable errors", () => {
  it("name the input field at fault", async () => {
    const response = await server.gql(
      `query($f: IncidentFilter) { incidents(filter: $f) { totalCount } }`,
      { f: { createdAfter: "yesterday" } },
      server.admin.token,
    );
    const error = onlyError(response);
    expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field: "createdAfter" });
  });

  it("name the variable when the value itself is wrong", async () => {
    const response = await server.gql(`query($n: Int) { incidents(first: $n) { totalCount } }`, { n: "x" }, server.admin.token);
    expect(onlyError(response).extensions).toEqual({ code: "BAD_USER_INPUT", field: "n" });
  });
});

describe("WebSocket upgrades", () => {
  it("carry the caller's x-request-id like every HTTP response", async () => {
    const { WebSocket } = await import("ws");
    const socket = new WebSocket(server.url.replace(/^http/, "ws"), "graphql-transport-ws", {
      headers: { "x-request-id": "ws-probe 7" },
    });
    const header = await new Promise<string | undefined>((resolve, reject) => {
      socket.once("upgrade", (response) => resolve(response.headers["x-request-id"] as string | undefined));
      socket.once("error", reject);
    });
    socket.close();
    expect(header).toBe("ws-probe 7");
  });
});

describe("clients slow to send their requests", () => {
  // REQUEST_HEADERS_TIMEOUT 1 s, REQUEST_TIMEOUT 2 s. Before, a connection that sent nothing stayed open for good,
  // and one that sent part of its headers for 60-90 s: enough open sockets and no one else could connect.
  let timed: TestServer;
  beforeAll(async () => {
    timed = await startTestServer({ REQUEST_HEADERS_TIMEOUT: "1s", REQUEST_TIMEOUT: "2s" });
  });
  afterAll(() => timed.close());

  /** Opens a raw connection, sends `start`, then `trickle` every 300 ms; resolves with what came back and when it closed. */
  const slowClient = async (start: string, trickle = "") => {
    const { connect } = await import("node:net");
    return new Promise<{ answer: string; closedAfterMs: number }>((resolve, reject) => {
      const started = Date.now();
      let answer = "";
      const socket = connect(Number(new URL(timed.base).port), "127.0.0.1", () => start && socket.write(start));
      const drip = trickle ? setInterval(() => socket.writable && socket.write(trickle), 300) : undefined;
      socket.on("data", (chunk) => (answer += chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(drip);
        resolve({ answer, closedAfterMs: Date.now() - started });
      });
      setTimeout(() => reject(new Error("still open after 10 s")), 10_000).unref();
    });
  };

  it("closes a connection that sends nothing once the headers' time has passed", async () => {
    const { answer, closedAfterMs } = await slowClient("");
    expect(answer).toBe("");
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(4_000);
  });

  it("answers 408 to headers that do not end in time, even while bytes keep coming", async () => {
    const { answer, closedAfterMs } = await slowClient("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n");
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(closedAfterMs).toBeLessThan(4_000);
  });

  it("answers 408 to a body that does not arrive within the request's time", async () => {
    const head = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"query":"`;
    const { answer, closedAfterMs } = await slowClient(head, "a".repeat(10));
    expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(closedAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(closedAfterMs).toBeLessThan(5_000);
  });

  it("times neither an upgraded WebSocket connection nor a keep-alive connection between its requests", async () => {
    const { WebSocket } = await import("ws");
    const socket = new WebSocket(timed.url.replace(/^http/, "ws"), "graphql-transport-ws");
    const messages: string[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data)).type));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${timed.admin.token}` } }));
    const { connect } = await import("node:net");
    const keptAlive = connect(Number(new URL(timed.base).port), "127.0.0.1");
    let answers = "";
    keptAlive.on("data", (chunk) => (answers += chunk));
    keptAlive.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    socket.send(JSON.stringify({ type: "ping" }));
    keptAlive.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => messages.includes("pong"), "the pong");
    expect(messages).toEqual(["connection_ack", "pong"]);
    await until(() => answers.split("HTTP/1.1 200 OK").length === 3, "both answers on the kept-alive connection");
    socket.close();
    keptAlive.destroy();
  });
});
