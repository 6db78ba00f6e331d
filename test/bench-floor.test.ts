// The benchmark's raw floor (bench/raw-floor.ts) must answer exactly what the API answers, byte for byte, or the
// API/floor ratios of `npm run bench` compare different work. Nothing here is timed.
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFloor } from "../bench/raw-floor.js";
import { seedIncidents, type SeedResult } from "../bench/seed.js";
import * as compare from "./support/floor-comparison.js";
import { difference, incidentById as byId, nestedRead as nested, pageShapes, shapeRequests } from "./support/floor-comparison.js";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
let floor: Awaited<ReturnType<typeof startFloor>>;
let seeded: SeedResult;

const apiText = (query: string, variables?: Record<string, unknown>) => compare.apiText(server, query, variables);
const floorText = (path: string, body: unknown) => compare.floorText(floor.port, path, body);

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
  await compare.writeThroughApi(server);

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
  for (const shape of pageShapes) {
    it(`nested read: ${shape.name}`, async () => {
      const { query, floorBody } = shapeRequests(shape);
      const api = await apiText(query);
      const raw = await floorText("/nested", floorBody);
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
