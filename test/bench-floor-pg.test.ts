// Needs PostgreSQL: runs with TEST_DATABASE=postgres (`npm run test:pg`), skipped on the SQLite run.
// The PostgreSQL raw floor (bench/raw-floor-pg.ts) must answer exactly what the API answers on PostgreSQL, byte for
// byte, or the API/floor ratios of `npm run bench -- --pg` compare different work. Nothing here is timed.
// The pattern of test/bench-floor.test.ts: a real server on a database of its own, a few rows written through the
// API, the bulk seeded below it (bench/seed-pg.ts), then the same documents asked of both.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFloorPg } from "../bench/raw-floor-pg.js";
import { seedPostgres } from "../bench/seed-pg.js";
import type { SeedResult } from "../bench/seed.js";
import { onPostgres } from "./support/database.js";
import * as compare from "./support/floor-comparison.js";
import { difference, incidentById as byId, nestedRead as nested, pageShapes, shapeRequests } from "./support/floor-comparison.js";
import { startTestServer, type TestServer } from "./support/server.js";

describe.runIf(onPostgres)("needs PostgreSQL: the PostgreSQL raw floor answers byte for byte what the API answers", () => {
  let server: TestServer;
  let floor: Awaited<ReturnType<typeof startFloorPg>>;
  let seeded: SeedResult;

  const apiText = (query: string, variables?: Record<string, unknown>) => compare.apiText(server, query, variables);
  const floorText = (path: string, body: unknown) => compare.floorText(floor.port, path, body);

  beforeAll(async () => {
    server = await startTestServer();
    await compare.writeThroughApi(server);

    // The bulk straight into the server's database, newer than the API's rows: 60 incidents with 12 entries each.
    seeded = await seedPostgres(server.db.url, { incidents: 60, logsPerIncident: 12 });
    floor = await startFloorPg(server.db.url, 0, "127.0.0.1", 2);
  });

  afterAll(async () => {
    await floor?.close();
    await server?.close();
  });

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
