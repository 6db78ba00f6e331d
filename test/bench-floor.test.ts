// The benchmark's raw floor (bench/raw-floor.ts) must answer exactly what the API answers, byte for byte, or the
// API/floor ratios of `npm run bench` compare different work. Nothing here is timed.
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFloor } from "../bench/raw-floor.js";
import { seedIncidents, type SeedResult } from "../bench/seed.js";
import { startTestServer, type TestServer } from "./support/server.js";

const nested = (first: number, logs: number, filter = "") =>
  `query { incidents(first: ${first}${filter}) { nodes { id reporter { name } assignee { name } logs(first: ${logs}) { nodes { message author { name } } } } } }`;
const byId = "query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }";

let server: TestServer;
let floor: Awaited<ReturnType<typeof startFloor>>;
let seeded: SeedResult;

async function apiText(query: string, variables?: Record<string, unknown>): Promise<string> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.admin.token}` },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  return response.text();
}

async function floorText(path: string, body: unknown): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${floor.port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.text();
}

/** Null when both texts are the same bytes; otherwise where they part, briefly (a whole page would drown the report). */
function difference(api: string, floor: string): string | null {
  if (api === floor) return null;
  let i = 0;
  while (i < api.length && i < floor.length && api[i] === floor[i]) i++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, i - 80), i + 80));
  return `first difference at character ${i} (API ${api.length}, floor ${floor.length} long): API …${around(api)}… floor …${around(floor)}…`;
}

/** Statements the API runs for one request, read from /metrics around it. */
async function statementsFor(query: string): Promise<number> {
  const before = await server.metric("db_queries_total");
  const text = await apiText(query);
  const after = await server.metric("db_queries_total");
  expect(JSON.parse(text).errors).toBeUndefined();
  return after - before;
}

beforeAll(async () => {
  server = await startTestServer();
  const responder = await server.user("RESPONDER", "Rita Responder");
  const token = server.admin.token;

  // Some rows written by the API itself: a status change (system-looking entries with from/to), an assignment, a note.
  const created = await server.gql(`mutation { createIncident(input: {title: "Made through the API", priority: HIGH}) { id } }`, {}, token);
  const id = created.data.createIncident.id as string;
  await server.gql(
    `mutation($id: ID!, $a: ID!) { updateIncident(id: $id, input: {status: INVESTIGATING, assigneeId: $a}) { id } }`,
    { id, a: responder.id },
    token,
  );
  await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "A note with \\"quotes\\" and ünïcödé") { id } }`, { id }, token);
  await server.gql(`mutation { createIncident(input: {title: "Unassigned, no entries beyond creation"}) { id } }`, {}, token);

  // The bulk straight into the server's file, newer than the API's rows: 60 incidents with 12 entries each.
  const db = new Database(server.dbPath, { timeout: 5000 });
  db.pragma("foreign_keys = ON");
  try {
    seeded = seedIncidents(db, { incidents: 60, logsPerIncident: 12 });
  } finally {
    db.close();
  }

  floor = await startFloor(server.dbPath);
});

afterAll(async () => {
  await floor?.close();
  await server?.close();
});

describe("the raw floor answers byte for byte what the API answers", () => {
  const shapes: Array<{ name: string; first: number; logs: number; status?: string[] }> = [
    { name: "the benchmark's page (50 incidents, 10 entries each)", first: 50, logs: 10 },
    { name: "a page covering every row, API-written ones included", first: 100, logs: 50 },
    { name: "a small page", first: 3, logs: 2 },
    { name: "an empty page", first: 0, logs: 10 },
    { name: "a filtered page", first: 50, logs: 10, status: ["OPEN"] },
    { name: "a filtered page on two statuses", first: 20, logs: 5, status: ["INVESTIGATING", "CLOSED"] },
  ];
  for (const shape of shapes) {
    it(`nested read: ${shape.name}`, async () => {
      const filter = shape.status ? `, filter: {status: [${shape.status.join(", ")}]}` : "";
      const api = await apiText(nested(shape.first, shape.logs, filter));
      const raw = await floorText("/nested", { first: shape.first, logs: shape.logs, ...(shape.status ? { status: shape.status } : {}) });
      expect(JSON.parse(api).errors).toBeUndefined();
      expect(difference(api, raw)).toBeNull();
    });
  }

  it("the page really holds what it should (so identical is not trivially empty)", async () => {
    const body = JSON.parse(await apiText(nested(100, 50)));
    const nodes = body.data.incidents.nodes as Array<{ assignee: unknown; logs: { nodes: Array<{ author: unknown }> } }>;
    expect(nodes).toHaveLength(62);
    expect(nodes.some((node) => node.assignee === null)).toBe(true);
    expect(nodes.some((node) => node.logs.nodes.some((entry) => entry.author === null))).toBe(true);
    expect(nodes.some((node) => node.logs.nodes.length === 12)).toBe(true);
  });

  it("incident by id: found with and without an assignee, missing, and malformed ids", async () => {
    const ids = [
      ...seeded.incidentIds.slice(0, 4).map(String),
      "1",
      "2",
      String(seeded.incidentIds.at(-1)! + 1000),
      "0",
      "-1",
      "abc",
      "1.5",
      "99999999999999999999",
    ];
    let found = 0;
    for (const id of ids) {
      const api = await apiText(byId, { id });
      const raw = await floorText("/incident", { id });
      expect(difference(api, raw), `incident(id: ${JSON.stringify(id)})`).toBeNull();
      if (JSON.parse(api).data.incident) found++;
    }
    expect(found).toBe(6);
  });
});

describe("statements per nested read", () => {
  it("are the same for a small and a large page", async () => {
    const small = await statementsFor(nested(2, 2));
    const large = await statementsFor(nested(50, 10));
    const largest = await statementsFor(nested(100, 50));
    expect(small).toBeGreaterThan(0);
    expect(large).toBe(small);
    expect(largest).toBe(small);
  });
});
