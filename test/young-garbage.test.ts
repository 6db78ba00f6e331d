import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";

// What a request allocates should die young: V8's young-generation collection copies only what is still reachable,
// and whatever survives two of them is promoted, to be freed only by a full collection of the whole heap. Queries
// reached graphql-jit through Apollo's gateway interface, whose per-request object holds a getter closing over the
// request; V8 keeps accessors in the old generation, so every request's context, loaders and result were promoted
// (10-12 KB a request for incident by id, 70 KB for a page of 50 incidents). The server runs with V8's GC trace,
// which states the bytes promoted by each young collection.

let db: TestDatabase;
let server: ChildServer;
let token: string;
let incidentId: string;

/** What V8 reported of its young-generation collections so far: their count and the bytes they promoted. */
const young = { collections: 0, promoted: 0 };

function watchYoungCollections(child: ChildServer) {
  let pending = "";
  child.process.stdout!.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.includes(" gc=s ")) continue;
      young.collections += 1;
      young.promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
    }
  });
}

async function promotedPerRequest(query: string, variables: Record<string, unknown>, requests: number): Promise<{ bytes: number; collections: number }> {
  const send = async () => {
    const result = await server.gql(query, variables, token);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
  };
  for (let i = 0; i < 200; i++) await send(); // compiled by now, and past start-up's own promotions
  const before = { ...young };
  for (let i = 0; i < requests; i++) await send();
  return { bytes: (young.promoted - before.promoted) / requests, collections: young.collections - before.collections };
}

beforeAll(async () => {
  db = await tempDatabase("incident-api-young-garbage-");
  server = await startChildServer({ dbPath: db.dbPath, nodeArgs: ["--trace-gc-nvp"] });
  watchYoungCollections(server);
  const signUp = await server.gql(`mutation { signUp(input: { email: "young@gc.test", name: "Young", password: "correct horse battery" }) { token } }`);
  token = signUp.data.signUp.token;
  // A page of 30 incidents with 10 timeline entries each.
  for (let i = 0; i < 30; i++) {
    const created = await server.gql(`mutation($title: String!) { createIncident(input: { title: $title }) { id } }`, { title: `Disk full on db-${i}` }, token);
    incidentId = created.data.createIncident.id;
    for (let j = 0; j < 10; j++) {
      await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "checked the volume") { id } }`, { id: incidentId }, token);
    }
  }
}, 60_000);

afterAll(async () => {
  await stopAllChildServers();
  await db?.remove();
});

describe("young garbage (V8's GC trace of a child server)", () => {
  it("promotes a few hundred bytes a request for incident by id, not each request's context", async () => {
    const query = "query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }";
    const { bytes, collections } = await promotedPerRequest(query, { id: incidentId }, 3_000);
    expect(collections).toBeGreaterThanOrEqual(3);
    expect(bytes).toBeLessThan(2_000);
  }, 120_000);

  it("promotes a few hundred bytes a request for a page of 30 incidents with their timelines, not its rows and result", async () => {
    const query = "query { incidents(first: 30) { nodes { id reporter { name } assignee { name } logs(first: 10) { nodes { message author { name } } } } } }";
    const { bytes, collections } = await promotedPerRequest(query, {}, 3_000);
    expect(collections).toBeGreaterThanOrEqual(3);
    expect(bytes).toBeLessThan(2_000);
  }, 120_000);
});
