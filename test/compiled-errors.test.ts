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
  const answers: Array<{ status: number; body: unknown }> = [];
  const statements: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = await server.metric("db_queries_total");
    const answer = await server.gql(query, variables, token);
    statements.push((await server.metric("db_queries_total")) - before);
    answers.push({ status: answer.status, body: answer.body });
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
      expect(compiled).toEqual(interpreted);
      expect(again).toEqual(interpreted);
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
    expect(compiled).toEqual(interpreted);
    expect(again).toEqual(interpreted);
    expect(extraStatements).toBeLessThanOrEqual(0);
  });

  it("still answers a variable of the wrong type as graphql-js does, once compiled", async () => {
    const query = `query($id: ID!, $first: Int) { incident(id: $id) { logs(first: $first) { nodes { message } } } }`;
    const [interpreted, compiled] = (await thrice(query, { id: incidentIds[2], first: "ten" }, server.admin.token)).answers;
    expect(interpreted!.status).toBe(400);
    expect(compiled).toEqual(interpreted);
  });
});
