import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";

// NUL cannot be stored by PostgreSQL, and a lone surrogate is no character (SQLite and PostgreSQL each keep a
// different replacement): such text is refused before anything runs, the same way on both backends.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const createService = `mutation($input: CreateServiceInput!) { createService(input: $input) { id name } }`;
const createIncident = `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id title description } }`;

async function refusedNaming(field: string, query: string, variables?: Record<string, unknown>) {
  const before = await server.metric("db_queries_total");
  const response = await server.gql(query, variables, server.admin.token);
  const after = await server.metric("db_queries_total");
  const error = onlyError(response);
  expect(error.extensions).toEqual({ code: "BAD_USER_INPUT", field });
  expect(error.message).toBe(`${field} must not hold a NUL character or a lone surrogate`);
  expect(response.data ?? null).toBeNull();
  expect(response.status).toBe(400);
  expect(after - before).toBe(0);
}

describe("text no backend can store", () => {
  it("refuses NUL in a variable, naming the input field (a service name)", async () => {
    await refusedNaming("name", createService, { input: { name: "a\u0000b" } });
  });

  it("refuses lone surrogates anywhere in the variables, nested in lists and objects", async () => {
    for (const text of ["x\ud800y", "\udfff", "a\udc00\ud800b"]) {
      await refusedNaming("title", createIncident, { input: { title: text, priority: "LOW" } });
      await refusedNaming("value", createIncident, { input: { title: "ok", priority: "LOW", labels: [{ key: "k", value: text }] } });
    }
  });

  it("refuses NUL written as an escape in the document itself", async () => {
    await refusedNaming("name", `mutation { createService(input: { name: "a\\u0000b" }) { id } }`);
    await refusedNaming("description", `mutation { createIncident(input: { title: "t", priority: LOW, description: "\\u{0}" }) { id } }`);
  });

  it("keeps characters outside the basic plane (surrogate pairs) exactly as sent", async () => {
    const title = "disk full 😀 on 𝔡𝔟-1";
    const response = await server.gql(createIncident, { input: { title, description: "🔥", priority: "LOW" } }, server.admin.token);
    expect(response.errors).toBeUndefined();
    const id = (response.data as { createIncident: { id: string } }).createIncident.id;
    const read = await server.gql(`query($id: ID!) { incident(id: $id) { title description } }`, { id }, server.admin.token);
    expect(read.data).toEqual({ incident: { title, description: "🔥" } });
  });
});

describe("variables nested deep", () => {
  const deep = (depth: number, inner = "[]") => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
  const post = (body: string) =>
    fetch(server.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${server.admin.token}` }, body });

  // Before, the check for unstorable text recursed through them and ran out of stack: an HTTP 500, for anyone.
  it("are walked without running out of stack, declared or not", async () => {
    for (const depth of [5_000, 100_000]) {
      const undeclared = await post(`{"query":"{__typename}","variables":{"a":${deep(depth)}}}`);
      expect(undeclared.status).toBe(200);
      expect(await undeclared.json()).toEqual({ data: { __typename: "Query" } });
      const declared = await post(`{"query":"query($s: [IncidentStatus!]) { incidents(filter: {status: $s}) { totalCount } }","variables":{"s":${deep(depth, '["OPEN"]')}}}`);
      expect(declared.status).toBe(400);
      expect(((await declared.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    }
  });

  it("still have their unstorable text found, however deep, in the variables the operation declares", async () => {
    const query = "query($s: [IncidentStatus!]) { incidents(filter: {status: $s}) { totalCount } }";
    const response = await post(`{"query":"${query}","variables":{"s":${deep(50_000, '["x\\u0000"]')}}}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]!.message).toBe("s must not hold a NUL character or a lone surrogate");
  });

  it("ignore the variables the operation does not declare, as GraphQL does, unstorable text included", async () => {
    const response = await post(`{"query":"{__typename}","variables":{"a":"x\\u0000"}}`);
    expect(response.status).toBe(200);
  });
});
