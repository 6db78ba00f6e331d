import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { wideIncident, type AlertTarget } from "./support/alerts.js";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";
import { until } from "./support/until.js";

// Clients that stop reading leave their answers in the server's memory: Node keeps whatever the kernel does not take
// (about 4 MB a connection on loopback). Each answer is held to MAX_RESPONSE_BYTES, but the connections are many:
// before, 30 paused connections with 4 pipelined 6.5 MB answers each took the server from 129 to 1,184 MB, and a few
// hundred would have ended it. The sum is now bounded (8 x MAX_RESPONSE_BYTES) and the connections that have held an
// answer longest are cut past it. Real child servers, real sockets, on both backends.

const MAX_RESPONSE_MB = 8;
const UNSENT_LIMIT = 8 * MAX_RESPONSE_MB * 1024 * 1024;
const ALIASES = 5; // each reads the incident's 10 widest alerts: 1.3 MB, so 6.5 MB an answer

const selection = Array.from({ length: ALIASES }, (_, i) => `a${i}: alerts(first: 10) { nodes { labels { key value } annotations { key value } } }`).join(" ");

let db: TestDatabase;
let server: ChildServer;
let admin: string;
let viewer: string;
let incidentId: string;

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))![1]) / 1024;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

async function signUp(name: string): Promise<string> {
  const result = await server.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, {
    i: { email: `${name.toLowerCase()}@slow.test`, name, password: "correct horse battery" },
  });
  if (!result.data?.signUp) throw new Error(JSON.stringify(result.body));
  return result.data.signUp.token;
}

/** Samples unsent bytes and the server's RSS until `done` settles; the largest of each. */
async function sampleWhile(done: Promise<unknown>) {
  let settled = false;
  void done.finally(() => (settled = true));
  const peak = { unsent: 0, rss: 0 };
  while (!settled) {
    peak.unsent = Math.max(peak.unsent, await metric("answers_unsent_bytes"));
    peak.rss = Math.max(peak.rss, rssMb());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await done;
  return peak;
}

/** Resolves once unsent bytes and cuts have not moved for a second: the server has done what the flood asked. */
async function settled() {
  let last = "";
  let since = Date.now();
  await until(async () => {
    const now = `${await metric("answers_unsent_bytes")}/${await metric("answers_cut_total")}`;
    if (now !== last) [last, since] = [now, Date.now()];
    return Date.now() - since > 1_000;
  }, "the flood to settle", 60_000);
}

beforeAll(async () => {
  db = await tempDatabase("incident-api-slow-readers-");
  server = await startChildServer({ dbPath: db.dbPath, env: { MAX_RESPONSE_BYTES: `${MAX_RESPONSE_MB}MB` } });
  admin = await signUp("Admin");
  viewer = await signUp("Viewer");
  const target: AlertTarget = { base: server.base, gql: server.gql, admin: { token: admin } };
  ({ incidentId } = await wideIncident(target));
}, 60_000);

afterAll(async () => {
  await stopAllChildServers();
  await db?.remove();
});

describe("clients that stop reading their answers", () => {
  it("over HTTP: unsent answers stay under 8 x MAX_RESPONSE_BYTES; the slowest connections are cut and a reading client is answered", async () => {
    const query = `{ ${Array.from({ length: ALIASES }, (_, i) => `i${i}: incident(id: "${incidentId}") { id }`).join(" ")} i: incident(id: "${incidentId}") { ${selection} } }`;
    const request = `GET /graphql?query=${encodeURIComponent(query)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${viewer}\r\n\r\n`;
    const rssBefore = rssMb();

    // 30 connections, each with 4 requests pipelined and nothing read: 120 answers of 6.5 MB (780 MB) asked for.
    const sockets: Socket[] = [];
    const received = new Map<Socket, number>();
    const flood = (async () => {
      for (let i = 0; i < 30; i++) {
        const socket = connect(Number(new URL(server.base).port), "127.0.0.1");
        received.set(socket, 0);
        socket.on("data", (chunk: Buffer) => received.set(socket, received.get(socket)! + chunk.length));
        socket.on("error", () => {});
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
        socket.pause();
        socket.write(request.repeat(4));
        sockets.push(socket);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Meanwhile a client that reads is answered in full, every time.
      for (let k = 0; k < 3; k++) {
        const answer = await fetch(`${server.url}?query=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${admin}` } });
        expect(answer.status).toBe(200);
        const body = (await answer.json()) as any;
        expect(body.errors).toBeUndefined();
        expect(body.data.i.a4.nodes).toHaveLength(10);
      }
      await settled();
    })();
    const peak = await sampleWhile(flood);

    expect(peak.unsent).toBeLessThanOrEqual(UNSENT_LIMIT);
    expect(await metric("answers_cut_total")).toBeGreaterThan(0);
    // Before: 1,050 MB more (120 answers unread); now 200-260 MB, most of it the heap that built the answers.
    expect(peak.rss - rssBefore).toBeLessThan(500);

    // Read now: the cut connections end early; the others get every answer.
    const ended = sockets.map((socket) => new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      socket.once("end", () => resolve(true));
      setTimeout(() => resolve(false), 5_000);
    }));
    for (const socket of sockets) socket.resume();
    const closed = await Promise.all(ended);
    const answerBytes = 6.5e6;
    const cut = sockets.filter((socket, i) => closed[i] && received.get(socket)! < 4 * answerBytes);
    expect(cut.length).toBeGreaterThan(0);
    for (const socket of sockets) socket.destroy();
    await until(async () => (await metric("answers_unsent_bytes")) === 0, "unsent answers to be let go");
    expect((await server.gql(`{ me { name } }`, {}, viewer)).data.me.name).toBe("Viewer");
  }, 120_000);

  it("over WebSocket: one event's unsent messages stay under 8 x MAX_RESPONSE_BYTES; the slowest connections are cut and a reading subscriber gets it", async () => {
    const cutBefore = await metric("answers_cut_total");
    const document = `subscription($id: ID!) { incidentEvents(incidentId: $id) { kind incident { ${selection} } } }`;
    const open = (token: string) =>
      new Promise<{ socket: WebSocket; events: any[]; closed: Promise<number> }>((resolve, reject) => {
        const socket = new WebSocket(server.url.replace(/^http/, "ws"), "graphql-transport-ws", { maxPayload: 64 * 1024 * 1024 });
        const events: any[] = [];
        const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
        socket.on("error", reject);
        socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
        socket.on("message", (data) => {
          const message = JSON.parse(String(data));
          if (message.type === "connection_ack") {
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: document, variables: { id: incidentId } } }));
            resolve({ socket, events, closed });
          } else if (message.type === "next") events.push(message.payload);
        });
      });
    const reader = await open(admin);
    const paused = [];
    for (let i = 0; i < 30; i++) paused.push(await open(viewer));
    await until(async () => (await metric("graphql_subscriptions_active")) >= 31, "31 subscriptions to listen");
    for (const { socket } of paused) (socket as any)._socket.pause();
    const rssBefore = rssMb();

    // One change: 31 events of 6.5 MB (200 MB) to send, 30 of them to clients that do not read.
    const update = await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { priority: CRITICAL }) { id } }`, { id: incidentId }, admin);
    expect(update.errors).toBeUndefined();
    const peak = await sampleWhile((async () => {
      await until(() => reader.events.length > 0, "the reading subscriber's event", 60_000);
      await settled();
    })());

    expect(reader.events[0].errors).toBeUndefined();
    expect(reader.events[0].data.incidentEvents.incident.a4.nodes).toHaveLength(10);
    expect(peak.unsent).toBeLessThanOrEqual(UNSENT_LIMIT);
    expect(await metric("answers_cut_total")).toBeGreaterThan(cutBefore);
    // 30 x 6.5 MB held before (290 MB more); the heap that builds 31 events is most of what is left.
    expect(peak.rss - rssBefore).toBeLessThan(500);

    // Read now: the cut connections close without their event; the others get it whole.
    for (const { socket } of paused) (socket as any)._socket.resume();
    const outcomes = await Promise.all(paused.map(async ({ events, closed }) => {
      const code = await Promise.race([closed, until(() => events.length > 0, "an event", 10_000).then(() => "event" as const)]);
      return code;
    }));
    expect(outcomes.filter((outcome) => outcome === 1006).length).toBeGreaterThan(0);
    for (const outcome of outcomes) expect([1006, "event"]).toContain(outcome);
    for (const { socket } of [reader, ...paused]) socket.terminate();
    await until(async () => (await metric("answers_unsent_bytes")) === 0, "unsent events to be let go");
    // Every subscription of a cut connection let go of its event source too.
    await until(async () => (await metric("graphql_subscriptions_active")) === 0, "the subscriptions to end");
  }, 120_000);
});
