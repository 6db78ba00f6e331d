import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

// A document that recurs is compiled by graphql-jit (the second time it is seen); these hold its answers with
// errors to graphql-js's, and its work to one execution.

let server: TestServer;
let incidentIds: string[];
beforeAll(async () => {
  server = await startTestServer();
  incidentIds = [];
  for (let i = 0; i < 3; i++) {
    const created = await server.gql(`mutation($t: String!) { createIncident(input: { title: $t }) { id } }`, { t: `Compiled ${i}` }, server.admin.token);
    incidentIds.push(created.data.createIncident.id);
    await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "note") { id } }`, { id: created.data.createIncident.id }, server.admin.token);
  }
  // Two of the three assigned: errors under some items of a list, not others.
  const me = (await server.gql(`{ me { id } }`, {}, server.admin.token)).data.me.id;
  for (const id of [incidentIds[0], incidentIds[2]]) {
    await server.gql(`mutation($id: ID!, $a: ID) { updateIncident(id: $id, input: { assigneeId: $a }) { id } }`, { id, a: me }, server.admin.token);
  }
});
afterAll(async () => {
  await server?.close();
});

/**
 * The same request three times, interpreted and then compiled: each answer, and whether the compiled runs did more
 * work than the interpreted one (statements counted; the fewer of the two compiled runs, as a background statement
 * of the webhook dispatcher may land in either).
 */
async function thrice(query: string, variables: Record<string, unknown>, token: string) {
  const answers: Array<{ status: number; body: unknown; text: string }> = [];
  const statements: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = await server.metric("db_queries_total");
    const response = await fetch(server.app.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    statements.push((await server.metric("db_queries_total")) - before);
    // The text itself, byte for byte, and parsed for the checks below.
    answers.push({ status: response.status, body: JSON.parse(text), text });
  }
  return { answers, extraStatements: Math.min(statements[1]!, statements[2]!) - statements[0]! };
}

describe("a compiled query whose resolvers raise errors", () => {
  const cases: Array<[string, string, () => Record<string, unknown>]> = [
    [
      "a bad cursor on a nested field, beside fields that read",
      `query($id: ID!, $after: String) { incident(id: $id) { id title logs(first: 2, after: $after) { nodes { message } } } incidents(first: 3) { nodes { id logs(first: 1) { nodes { message } } } } }`,
      () => ({ id: incidentIds[0], after: "not-a-cursor" }),
    ],
    [
      "the same bad cursor on every incident of a page",
      `query($after: String) { incidents(first: 3) { nodes { id title logs(first: 1, after: $after) { nodes { message } } } } }`,
      () => ({ after: "not-a-cursor" }),
    ],
  ];

  for (const [name, query, variables] of cases) {
    it(`answers as graphql-js does, running its statements once: ${name}`, async () => {
      const { answers, extraStatements } = await thrice(query, variables(), server.admin.token);
      const [interpreted, compiled, again] = answers;
      expect((interpreted!.body as { errors?: unknown[] }).errors?.length).toBeGreaterThan(0);
      expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
      expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
      expect(extraStatements).toBeLessThanOrEqual(0);
    });
  }

  it("answers as graphql-js does, running its statements once: a field the caller's role may not read, beside one it may", async () => {
    const viewer = await server.user("VIEWER");
    // The forbidden field is non-null, so the whole answer is null: the sibling reads no more than its own row, whose
    // statement starts in the same turn (a nested read could end after the answer, in the next count).
    const query = `query($id: ID!) { webhookEndpoints(first: 5) { nodes { id } } incident(id: $id) { id title } }`;
    const { answers, extraStatements } = await thrice(query, { id: incidentIds[1] }, viewer.token);
    const [interpreted, compiled, again] = answers;
    expect((interpreted!.body as { errors?: Array<{ extensions: { code: string } }> }).errors?.[0]?.extensions.code).toBe("FORBIDDEN");
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect(extraStatements).toBeLessThanOrEqual(0);
  });

  const severalPerParent: Array<[string, string]> = [
    [
      "two failing fields of one object in some items of a list, one of them non-null",
      `query { incidents(first: 3) { nodes { id assignee { id ...U b: assignedIncidents(first: 1, after: "bad2") { nodes { id } } } } } } fragment U on User { a: assignedIncidents(first: -5) { nodes { id } } }`,
    ],
    [
      "a failing field under some items of a list, beside a root field that reads",
      `query { x: incidents(first: 3) { nodes { id assignee { id assignedIncidents(first: 1, after: "bad") { nodes { id } } } } } y: incidents(first: 2) { nodes { title } } }`,
    ],
  ];

  for (const [name, query] of severalPerParent) {
    it(`answers as graphql-js does, byte for byte: ${name}`, async () => {
      const [interpreted, compiled, again] = (await thrice(query, {}, server.admin.token)).answers;
      expect((interpreted!.body as { errors?: unknown[] }).errors?.length).toBeGreaterThan(0);
      expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
      expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
    });
  }

  it("answers as graphql-js does when a variable bound in an input object is left out, which graphql-jit reads as null", async () => {
    // graphql-jit passes the left-out description as null, which similarIncidents refuses: the compiled answer was
    // an error and no data where graphql-js answers the ranking and the sibling incident.
    const query = `query($t: String!, $d: String, $id: ID!) { similarIncidents(to: { title: $t, description: $d }) { score incident { id } } incident(id: $id) { id title } }`;
    const [interpreted, compiled, again] = (await thrice(query, { t: "Compiled 1", id: incidentIds[1] }, server.admin.token)).answers;
    expect((interpreted!.body as { errors?: unknown[]; data: { similarIncidents: unknown[] } }).errors).toBeUndefined();
    expect((interpreted!.body as { data: { similarIncidents: unknown[] } }).data.similarIncidents.length).toBeGreaterThan(0);
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
  });

  it("answers as graphql-js does, locations included, when @include leaves out one node of a field that fails", async () => {
    const viewer = await server.user("VIEWER");
    const query = `query($i: Boolean = false) { webhookEndpoints(first: 5) { nodes { id } } webhookEndpoints(first: 5) @include(if: $i) { nodes { id } } }`;
    const [interpreted, compiled, again] = (await thrice(query, {}, viewer.token)).answers;
    expect((interpreted!.body as { errors?: Array<{ locations: unknown[] }> }).errors?.[0]?.locations).toHaveLength(1);
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
  });

  it("answers a field aliased __proto__ as graphql-js does, once the document recurs", async () => {
    const query = `query($id: ID!) { incident(id: $id) { __proto__: title constructor: id } }`;
    const [interpreted, compiled, again] = (await thrice(query, { id: incidentIds[0] }, server.admin.token)).answers;
    expect(interpreted!.text).toContain(`"__proto__":"Compiled 0"`);
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
  });

  it("answers a variable named $__proto__ as graphql-js does, once the document recurs", async () => {
    const query = `query($__proto__: Int) { incidents(first: $__proto__) { nodes { id } } }`;
    const variables = JSON.parse(`{"__proto__": 1}`) as Record<string, unknown>;
    const [interpreted, compiled, again] = (await thrice(query, variables, server.admin.token)).answers;
    expect((interpreted!.body as { data: { incidents: { nodes: unknown[] } } }).data.incidents.nodes).toHaveLength(1);
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
    expect([again!.status, again!.text]).toEqual([interpreted!.status, interpreted!.text]);
  });

  it("still answers a variable of the wrong type as graphql-js does, once compiled", async () => {
    const query = `query($id: ID!, $first: Int) { incident(id: $id) { logs(first: $first) { nodes { message } } } }`;
    const [interpreted, compiled] = (await thrice(query, { id: incidentIds[2], first: "ten" }, server.admin.token)).answers;
    expect(interpreted!.status).toBe(400);
    expect([compiled!.status, compiled!.text]).toEqual([interpreted!.status, interpreted!.text]);
  });
});
