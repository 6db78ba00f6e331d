import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { maxPingPayloadBytes } from "../src/realtime/ws-server.js";
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
    const socket = await open();
    const acknowledged = new Promise((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)).type)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${server.admin.token}` } }));
    expect(await acknowledged).toBe("connection_ack");
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
    const socket = await open();
    const acknowledged = new Promise((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)).type)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${viewer.token}` } }));
    expect(await acknowledged).toBe("connection_ack");
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
    const socket = await open();
    const acknowledged = new Promise((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)).type)));
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${viewer.token}` } }));
    expect(await acknowledged).toBe("connection_ack");
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
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    socket.on("error", () => {});
    const upgraded = new Promise<string>((resolve) => socket.once("data", (chunk) => resolve(chunk.toString())));
    socket.write(
      "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
    );
    expect(await upgraded).toMatch(/^HTTP\/1\.1 101/);
    const started = performance.now();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(performance.now() - started).toBeLessThan(8_000);
  }, 20_000);
});
