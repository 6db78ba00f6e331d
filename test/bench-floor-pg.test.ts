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
import { startTestServer, type TestServer } from "./support/server.js";

const nested = (first: number, logs: number, filter = "") =>
  `query { incidents(first: ${first}${filter}) { nodes { id reporter { name } assignee { name } logs(first: ${logs}) { nodes { message author { name } } } } } }`;
const byId = "query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }";

/** Null when both texts are the same bytes; otherwise where they part, briefly. */
function difference(api: string, floor: string): string | null {
  if (api === floor) return null;
  let i = 0;
  while (i < api.length && i < floor.length && api[i] === floor[i]) i++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, i - 80), i + 80));
  return `first difference at character ${i} (API ${api.length}, floor ${floor.length} long): API …${around(api)}… floor …${around(floor)}…`;
}

describe.runIf(onPostgres)("needs PostgreSQL: the PostgreSQL raw floor answers byte for byte what the API answers", () => {
  let server: TestServer;
  let floor: Awaited<ReturnType<typeof startFloorPg>>;
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

  beforeAll(async () => {
    server = await startTestServer();
    const responder = await server.user("RESPONDER", "Rita Responder");
    const token = server.admin.token;

    // Some rows written by the API itself: a status change, an assignment, a note.
    const created = await server.gql(`mutation { createIncident(input: {title: "Made through the API", priority: HIGH}) { id } }`, {}, token);
    const id = created.data.createIncident.id as string;
    await server.gql(
      `mutation($id: ID!, $a: ID!) { updateIncident(id: $id, input: {status: INVESTIGATING, assigneeId: $a}) { id } }`,
      { id, a: responder.id },
      token,
    );
    await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "A note with \\"quotes\\" and ünïcödé") { id } }`, { id }, token);
    await server.gql(`mutation { createIncident(input: {title: "Unassigned, no entries beyond creation"}) { id } }`, {}, token);

    // The bulk straight into the server's database, newer than the API's rows: 60 incidents with 12 entries each.
    seeded = await seedPostgres(server.db.url, { incidents: 60, logsPerIncident: 12 });
    floor = await startFloorPg(server.db.url, 0, "127.0.0.1", 2);
  });

  afterAll(async () => {
    await floor?.close();
    await server?.close();
  });

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
