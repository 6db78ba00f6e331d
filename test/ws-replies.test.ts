import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { maxPingPayloadBytes } from "../src/realtime/ws-server.js";
import { wideIncident } from "./support/alerts.js";
import { deafWebSocket } from "./support/raw-websocket.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

// graphql-ws answers a ping with a pong that repeats its payload, and a refused subscribe with an error that can
// repeat its document. A client that sends such messages and never reads must not make the server keep the replies;
// neither may a ping whose payload is large or deep, from anyone, before connection_init too.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const open = async () => {
  const socket = new WebSocket(server.url.replace(/^http/, "ws"), "graphql-transport-ws");
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return socket;
};

/** A connection past connection_init with `token`. */
const openAcknowledged = async (token: string) => {
  const socket = await open();
  const acknowledged = new Promise((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)).type)));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  expect(await acknowledged).toBe("connection_ack");
  return socket;
};

const paused = (socket: WebSocket) => (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;

const closed = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: String(reason) })));

describe("graphql-ws pings", () => {
  it("answers a ping with a small payload with its pong, before connection_init as the protocol allows", async () => {
    const socket = await open();
    const pong = new Promise((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)))));
    socket.send(JSON.stringify({ type: "ping", payload: { at: 12 } }));
    expect(await pong).toEqual({ type: "pong", payload: { at: 12 } });
    socket.close();
  });

  it("closes with 4400 and no pong a connection whose ping payload passes the limit", async () => {
    const socket = await open();
    const messages: unknown[] = [];
    socket.on("message", (data) => messages.push(String(data)));
    const ended = closed(socket);
    socket.send(JSON.stringify({ type: "ping", payload: { pad: "x".repeat(100 * maxPingPayloadBytes) } }));
    const { code, reason } = await ended;
    expect(code).toBe(4400);
    expect(reason).toMatch(/Ping payload too large/);
    expect(messages).toEqual([]);
  });

  it("closes with 4400 a connection whose ping payload is short in characters but long once serialised", async () => {
    // 300 numbers of 23 characters each, and a string of control characters written \u0001 each: 7 KB and 6 KB.
    for (const payload of [`{"n":[${Array(300).fill("1.7976931348623157e308").join(",")}]}`, `{"s":"${"\\u0001".repeat(1_000)}"}`]) {
      const socket = await open();
      const ended = closed(socket);
      socket.send(`{"type":"ping","payload":${payload}}`);
      expect((await ended).code).toBe(4400);
    }
  });

  it("closes with 4400 a connection whose ping payload is nested 150,000 deep, as too large, not as an internal error", async () => {
    const socket = await open();
    const ended = closed(socket);
    socket.send(`{"type":"ping","payload":${'{"a":'.repeat(150_000)}1${"}".repeat(150_000)}}`);
    const { code, reason } = await ended;
    expect(code).toBe(4400);
    expect(reason).toMatch(/Ping payload too large/);
  });

  it("keeps a subscriber that falls behind on its events for a moment and pings meanwhile", async () => {
    const created = await server.gql(`mutation($d: String!) { createIncident(input: { title: "Big", description: $d }) { id } }`, { d: "d".repeat(9_000) }, server.admin.token);
    const id = created.data.createIncident.id;
    for (let i = 0; i < 40; i++) {
      await server.gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id, m: `m${i} ${"x".repeat(1_900)}` }, server.admin.token);
    }
    const socket = await open();
    const acknowledged = new Promise((resolve) => socket.once("message", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${server.admin.token}` } }));
    await acknowledged;
    let events = 0;
    let closeCode: number | undefined;
    socket.on("message", (data) => {
      if (JSON.parse(String(data)).type === "next") events++;
    });
    socket.on("close", (code) => (closeCode = code));
    const query = `subscription($id: ID) { incidentEvents(incidentId: $id) { kind incident { description logs(first: 40) { nodes { message } } } } }`;
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables: { id } } }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // About 85 KB an event (more than the 64 KB of pongs a connection may leave unsent), 100 of them: several MB
    // behind, more than the kernel holds.
    const sockets = socket as unknown as { _socket: { pause(): void; resume(): void } };
    sockets._socket.pause();
    const updates = 100;
    for (let i = 0; i < updates; i++) await server.gql(`mutation($id: ID!, $t: String!) { updateIncident(id: $id, input: { title: $t }) { id } }`, { id, t: `Big ${i}` }, server.admin.token);
    socket.send(JSON.stringify({ type: "ping" })); // a client's keepalive
    await new Promise((resolve) => setTimeout(resolve, 300));
    sockets._socket.resume();
    await until(() => events === updates || closeCode !== undefined, "every event, or a close", 10_000);
    expect(closeCode).toBeUndefined();
    expect(events).toBe(updates);
    socket.close();
  }, 30_000);

  it("cuts a connection that pings and reads none of its pongs, instead of keeping them", async () => {
    const socket = await openAcknowledged(server.admin.token);
    const ended = closed(socket);
    // The client stops reading: the kernel's buffers fill (a few MB), then the server's own.
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const pings = 20_000;
    const ping = JSON.stringify({ type: "ping", payload: { pad: "p".repeat(maxPingPayloadBytes - 20) } });
    for (let i = 0; i < pings; i++) socket.send(ping);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    let pongs = 0;
    socket.on("message", () => pongs++);
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const outcome = await Promise.race([ended.then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("still open"), 5_000))]);
    expect(outcome).toBe("closed");
    expect(pongs).toBeLessThan(pings);
    expect((await ended).code).toBe(1006); // cut, not closed
  }, 20_000);
});

describe("replies a client does not read", () => {
  it("cuts a connection that sends subscribes and reads none of the errors refusing them, instead of keeping them", async () => {
    const viewer = await server.user("VIEWER");
    const socket = await openAcknowledged(viewer.token);
    const ended = closed(socket);
    // graphql-ws prints a stack trace for each message it could not send; lost with a cut connection, none is an error.
    const printed = vi.spyOn(console, "error");
    paused(socket).pause();
    // Each error repeats the unknown field's name: 100 x 200 KB, far past the kernel's buffers. Before, the server
    // kept every one (2.6 MB of heap a message; one connection ran it out of heap in 95 s).
    const subscribes = 100;
    const name = "a".repeat(200_000);
    for (let i = 0; i < subscribes; i++) {
      socket.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: `subscription { ${name} }` } }));
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    let errors = 0;
    socket.on("message", () => errors++);
    paused(socket).resume();
    const outcome = await Promise.race([ended.then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("still open"), 5_000))]);
    expect(outcome).toBe("closed");
    expect(errors).toBeLessThan(subscribes);
    expect((await ended).code).toBe(1006); // cut, not closed
    await until(async () => (await server.metric("answers_unsent_bytes")) === 0, "its replies to be let go");
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
  }, 20_000);

  it("answers every refused subscribe of a client that reads, however many", async () => {
    const viewer = await server.user("VIEWER");
    const socket = await openAcknowledged(viewer.token);
    let errors = 0;
    socket.on("message", (data) => {
      if (JSON.parse(String(data)).type === "error") errors++;
    });
    const subscribes = 300;
    for (let i = 0; i < subscribes; i++) socket.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: `subscription { nope${i} }` } }));
    await until(() => errors === subscribes, "every error");
    expect(socket.readyState).toBe(socket.OPEN);
    socket.close();
  }, 20_000);

  it("drops a connection that never sends connection_init and never answers the close within seconds, not 33", async () => {
    // Each such socket held a file descriptor for graphql-ws's 3 s wait plus ws's 30 s for the close's answer: about
    // 610 new sockets a second from anyone kept a server at 20,000 descriptors and refused everyone else.
    const socket = await deafWebSocket(Number(new URL(server.url).port));
    const started = performance.now();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(performance.now() - started).toBeLessThan(8_000);
  }, 20_000);

  it("gives a slow reader its last event and the close's code, however long after the close it takes, while it reads", async () => {
    const own = await startTestServer();
    try {
      const { incidentId } = await wideIncident(own);
      const viewer = await own.user("VIEWER");
      // 13 MB an event: more than the kernel's buffers take, so that most of it waits in the server's.
      const selection = Array.from({ length: 10 }, (_, i) => `a${i}: alerts(first: 10) { nodes { labels { key value } annotations { key value } } }`).join(" ");
      const socket = new WebSocket(own.url.replace(/^http/, "ws"), "graphql-transport-ws", { maxPayload: 64 * 1024 * 1024 });
      await new Promise((resolve, reject) => {
        socket.once("open", resolve);
        socket.once("error", reject);
      });
      const acknowledged = new Promise((resolve) => socket.once("message", resolve));
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${viewer.token}` } }));
      await acknowledged;
      let event: any;
      socket.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (message.type === "next") event = message.payload;
      });
      const ended = closed(socket);
      const document = `subscription($id: ID!) { incidentEvents(incidentId: $id) { kind incident { ${selection} } } }`;
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: document, variables: { id: incidentId } } }));
      await until(async () => (await own.metric("graphql_subscriptions_active")) === 1, "the subscription to listen");
      // The client reads one chunk (64 KB at most) every 50 ms: the event takes it several seconds.
      const raw = paused(socket) as unknown as { pause(): void; resume(): void; once(event: string, listener: () => void): void };
      raw.pause();
      let chunks = 0;
      const reading = setInterval(() => {
        raw.once("data", () => {
          chunks++;
          raw.pause();
        });
        raw.resume();
      }, 50);
      await own.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { priority: CRITICAL }) { id } }`, { id: incidentId }, own.admin.token);
      // The whole message is handed to the socket at once: its first bytes read, the rest is queued.
      await until(() => chunks > 0, "the event to be on its way", 30_000);
      // The connection is closed (4401) at the next check of its token, a few seconds at most, the event still on its way.
      expect((await own.gql(`mutation { signOutEverywhere }`, {}, viewer.token)).data.signOutEverywhere).toBe(true);
      const { code, reason } = await ended;
      clearInterval(reading);
      expect(event?.data.incidentEvents.incident.a9.nodes).toHaveLength(10);
      expect([code, reason]).toEqual([4401, expect.stringMatching(/revoked/)]);
    } finally {
      await own.close();
    }
  }, 90_000);
});
