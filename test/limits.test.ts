import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** Sends a document and checks it was refused before anything ran: no SQL statement at all. */
async function refused(query: string, variables?: Record<string, unknown>) {
  const before = await server.metric("db_queries_total");
  const response = await server.gql(query, variables, server.admin.token);
  const after = await server.metric("db_queries_total");
  const error = onlyError(response);
  expect(error.extensions?.code).toBe("QUERY_TOO_COMPLEX");
  expect(response.data ?? null).toBeNull();
  expect(response.status).toBe(400);
  expect(after - before).toBe(0);
  return error;
}

// incidents(1) > nodes(2) > logs(3) > nodes(4) > incident(5) > logs(6) > nodes(7) > incident(8) > logs(9)
// > nodes(10) > incident(11) > ... : `leaf` sits at depth 12.
const twelveDeep = (leaf: string) =>
  `{ incidents(first: 1) { nodes { logs(first: 1) { nodes { incident { logs(first: 1) { nodes { incident { logs(first: 1) { nodes { incident { ${leaf} } } } } } } } } } } } }`;

describe("document limits", () => {
  it("refuses a document deeper than 12 levels, naming the limit but not its value", async () => {
    const error = await refused(twelveDeep("logs(first: 1) { totalCount }"));
    expect(error.message).toMatch(/depth/);
    expect(error.message).not.toMatch(/12/);
  });

  it("accepts a document exactly at the depth limit", async () => {
    const response = await server.gql(twelveDeep("id"), {}, server.admin.token);
    expect(response.errors).toBeUndefined();
  });

  it("refuses more than 50 aliases", async () => {
    const aliases = Array.from({ length: 51 }, (_, i) => `a${i}: __typename`).join(" ");
    expect((await refused(`{ ${aliases} }`)).message).toMatch(/alias/);
  });

  it("refuses more than 50 directives", async () => {
    const fields = Array.from({ length: 51 }, () => `__typename @include(if: true)`).join(" ");
    expect((await refused(`{ ${fields} }`)).message).toMatch(/directive/);
  });

  it("refuses more than 10,000 tokens before parsing the rest", async () => {
    const query = `{ ${"__typename ".repeat(10_001)} }`;
    const error = await refused(query);
    expect(error.message).toMatch(/token/);
    expect(error.message).not.toMatch(/10000|10,000/);
  });

  it("refuses more than 25,000 worst-case nodes (100 x 100 x 3 connections)", async () => {
    const query = `{ incidents(first: 100) { nodes { logs(first: 100) { nodes { id } } a: logs(first: 100) { nodes { id } } b: logs(first: 100) { nodes { id } } } } }`;
    expect((await refused(query)).message).toMatch(/node/);
  });

  it("counts first from variables and from the schema's defaults", async () => {
    const query = `query($n: Int) { incidents(first: $n) { nodes { logs { nodes { id } } a: logs { nodes { id } } b: logs { nodes { id } } c: logs { nodes { id } } d: logs { nodes { id } } e: logs { nodes { id } } } } }`;
    // 100 + 100 * 50 * 6 = 30,100 nodes with first: 100; 10 + 10 * 50 * 6 = 3,010 with first: 10.
    await refused(query, { n: 100 });
    expect((await server.gql(query, { n: 10 }, server.admin.token)).errors).toBeUndefined();
  });

  it("counts a variable left out as its declared default", async () => {
    const query = `query($n: Int = 100) { users(first: $n) { nodes { assignedIncidents(first: $n) { nodes { logs(first: $n) { totalCount } } } } } }`;
    await refused(query);
  });

  it("accepts the nested page a board asks for", async () => {
    const query = `{ incidents(first: 100) { nodes { reporter { name } logs(first: 100) { nodes { author { name } } } } } }`;
    expect((await server.gql(query, {}, server.admin.token)).errors).toBeUndefined();
  });

  it("lets introspection through in development", async () => {
    const query = `{ __schema { types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } } }`;
    expect((await server.gql(query, {}, server.admin.token)).errors).toBeUndefined();
  });
});

describe("configurable limits", () => {
  it("takes its thresholds from the environment", async () => {
    const strict = await startTestServer({ MAX_QUERY_DEPTH: "3", MAX_ALIASES: "1" });
    try {
      const deep = await strict.gql(`{ me { assignedIncidents { nodes { id } } } }`, {}, strict.admin.token);
      expect(onlyError(deep).extensions?.code).toBe("QUERY_TOO_COMPLEX");
      const aliased = await strict.gql(`{ a: __typename b: __typename }`, {}, strict.admin.token);
      expect(onlyError(aliased).extensions?.code).toBe("QUERY_TOO_COMPLEX");
    } finally {
      await strict.close();
    }
  });
});
