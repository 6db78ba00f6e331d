import { createClient } from "graphql-ws";
import { connect, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startChildServer, stopAllChildServers, tempDatabase } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";
import { deafWebSocket, upgradeRequest } from "./support/raw-websocket.js";
import { startTestServer } from "./support/server.js";
import { until } from "./support/until.js";

/** Reads from a raw socket until `count` complete HTTP responses (status lines) have arrived or it closes. */
function responses(socket: Socket, count: number): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const done = () => resolve(text);
    socket.on("data", (chunk) => {
      text += chunk.toString();
      if ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= count && /\r\n\r\n[\s\S]*\}\s*$/.test(text)) done();
    });
    socket.on("close", done);
    socket.on("error", done);
  });
}

describe("graceful shutdown", () => {
  it("finishes the request in flight, turns /readyz to 503, refuses new connections, then stops", async () => {
    const server = await startTestServer();
    const { port } = server.app;
    const body = JSON.stringify({ query: `mutation { createIncident(input: { title: "Written during shutdown" }) { id title } }` });

    // A mutation whose body is still arriving when shutdown begins.
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const received = responses(socket, 2);
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${server.admin.token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closed = server.app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));

    // New connections are refused while the old one drains.
    const refused = await fetch(`${server.base}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);

    // The rest of the body, and a readiness probe pipelined behind it on the same connection.
    socket.write(`${body.slice(20)}GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const text = await received;
    await closed;

    const [first, second] = text.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain('"title":"Written during shutdown"');
    expect(second).toMatch(/^HTTP\/1\.1 503/);
    socket.destroy();
    await server.close(); // idempotent; removes the temporary files
  });
});

describe("a stop with requests under way", () => {
  const send = (port: number, token: string, body: string) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.write(request(token, body));
    return socket;
  };
  const request = (token: string, body: string) =>
    `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `${token ? `Authorization: Bearer ${token}\r\n` : ""}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const mutation = (title: string) => JSON.stringify({ query: `mutation { createIncident(input: { title: "${title}" }) { id } }` });

  it("finishes the sign-ups of a client that hung up before the database closes", async () => {
    // One at a time per client, and each hashes its password off the event loop: the others wait their turn in the
    // server, over many turns, while their connections are gone.
    const server = await startTestServer({ MAX_CONCURRENT_REQUESTS_PER_CLIENT: "1" });
    try {
      const signUp = (i: number) =>
        JSON.stringify({
          query: `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`,
          variables: { input: { email: `queued${i}@example.com`, name: `Queued ${i}`, password: "correct horse battery" } },
        });
      const sockets = Array.from({ length: 8 }, (_, i) => send(server.app.port, "", signUp(i)));
      let received = 0;
      await new Promise<void>((resolve) =>
        server.app.httpServer.on("request", () => {
          if (++received === sockets.length) resolve();
        }),
      );
      for (const socket of sockets) socket.destroy();
      await server.app.close();
      expect(await server.db.scalar(`SELECT count(*) FROM users WHERE email LIKE 'queued%'`)).toBe(sockets.length);
    } finally {
      await server.close();
    }
  });

  it("answers a WebSocket upgrade sent as the stop begins with 503, without holding the stop", async () => {
    const server = await startTestServer();
    try {
      const socket = connect(server.app.port, "127.0.0.1");
      socket.on("error", () => {});
      await new Promise((resolve) => server.app.httpServer.once("connection", resolve));
      const answer = responses(socket, 1);
      const started = performance.now();
      const closing = server.app.close();
      socket.write(upgradeRequest);
      await closing;
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await answer).toMatch(/^HTTP\/1\.1 503/);
    } finally {
      await server.close();
    }
  });

  it("drops a WebSocket client that never answers the close frame two seconds into the stop, instead of waiting out the grace", async () => {
    const server = await startTestServer();
    try {
      // It answers no close frame (ws would wait 30 s for it).
      const socket = await deafWebSocket(server.app.port);
      const gone = new Promise((resolve) => socket.once("close", resolve));
      const started = performance.now();
      await server.app.close();
      const elapsed = performance.now() - started;
      await gone;
      expect(elapsed).toBeGreaterThan(1_500);
      expect(elapsed).toBeLessThan(5_000); // the grace is 10 s
    } finally {
      await server.close();
    }
  }, 20_000);

  it("answers every request already sent when the stop begins, resetting none", async () => {
    const server = await startTestServer();
    try {
      const sockets = Array.from({ length: 12 }, () => {
        const socket = connect(server.app.port, "127.0.0.1");
        socket.on("error", () => {});
        return socket;
      });
      await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once("connect", resolve))));
      const answers = sockets.map((socket) => responses(socket, 1));
      // Sent in the tick the stop begins: none of them read by the server yet, most not even accepted.
      for (const [i, socket] of sockets.entries()) socket.write(request(server.admin.token, mutation(`Request ${i}`)));
      await server.app.close();
      const statuses = (await Promise.all(answers)).map((text) => /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? "reset");
      // Each one executed (200) or was refused with the reason (503); a 200 was written.
      expect(statuses.filter((status) => status !== "200" && status !== "503")).toEqual([]);
      const written = await server.db.scalar(`SELECT count(*) FROM incidents WHERE title LIKE 'Request %'`);
      expect(written).toBe(statuses.filter((status) => status === "200").length);
    } finally {
      await server.close();
    }
  });
});

describe("an idle stop", () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await stopAllChildServers();
    await database?.remove();
  });

  it("takes well under half a second, with an unused connection, a kept-alive one and a subscriber open", async () => {
    database = await tempDatabase("incident-api-stop-");
    const server = await startChildServer({ dbPath: database.dbPath });
    const port = Number(new URL(server.url).port);
    const signedUp = await server.gql(`mutation { signUp(input: { email: "idle@example.com", name: "Idle", password: "correct horse battery" }) { token } }`);
    const token: string = signedUp.data.signUp.token;

    // A connection that never sends a request (a browser's preconnect), and that never closes its side either.
    const unused = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    unused.on("error", () => {});
    await new Promise((resolve) => unused.once("connect", resolve));
    // A kept-alive connection that has served a request (fetch keeps it open), and a subscriber.
    expect((await server.gql(`{ me { name } }`, {}, token)).data.me.name).toBe("Idle");
    const subscriber = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    let subscribed = false;
    subscriber.subscribe({ query: `subscription { incidentEvents { kind } }` }, { next: () => {}, error: () => {}, complete: () => {} });
    subscriber.on("connected", () => (subscribed = true));
    await until(() => subscribed, "the subscriber to connect");

    const started = performance.now();
    const exit = await server.stop(10_000);
    const elapsed = performance.now() - started;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsed).toBeLessThan(500);
    unused.destroy();
    await subscriber.dispose();
  }, 30_000);
});
