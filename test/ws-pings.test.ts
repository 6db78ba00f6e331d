import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { maxPingPayloadBytes } from "../src/realtime/ws-server.js";
import { startTestServer, type TestServer } from "./support/server.js";

// graphql-ws answers a ping with a pong that repeats its payload. A client that pings and never reads must not make
// the server keep those pongs; neither may a ping whose payload is large, from anyone, before connection_init too.

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
