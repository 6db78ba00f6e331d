import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

// Timelines are read with only the columns a query selects: every way of selecting a field must still get it.
let server: TestServer;
let incidentId: string;

beforeAll(async () => {
  server = await startTestServer();
  const created = await server.gql(`mutation { createIncident(input: { title: "Queue backlog" }) { id } }`, {}, server.admin.token);
  incidentId = created.data.createIncident.id;
  await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: INVESTIGATING }) { id } }`, { id: incidentId }, server.admin.token);
  await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "Scaled consumers") { id } }`, { id: incidentId }, server.admin.token);
});
afterAll(() => server.close());

const everyField = { id: expect.any(String), kind: expect.any(String), message: expect.any(String), fromStatus: "OPEN", toStatus: "INVESTIGATING", createdAt: expect.stringMatching(/Z$/), author: { name: "Admin" }, incident: { title: "Queue backlog" } };

async function firstEntry(selection: string, fragments = "") {
  const response = await server.gql(`query($id: ID!) { incident(id: $id) { logs { ${selection} } } } ${fragments}`, { id: incidentId }, server.admin.token);
  expect(response.errors).toBeUndefined();
  return response.data.incident.logs;
}

describe("timeline entries read through a projection", () => {
  const fields = "id kind message fromStatus toStatus createdAt author { name } incident { title }";

  it("carry every field selected under nodes", async () => {
    expect((await firstEntry(`nodes { ${fields} }`)).nodes[0]).toEqual(everyField);
  });

  it("carry every field selected under edges.node, with a cursor", async () => {
    const logs = await firstEntry(`edges { cursor node { ${fields} } }`);
    expect(logs.edges[0].node).toEqual(everyField);
    expect(logs.edges[0].cursor).toEqual(expect.any(String));
  });

  it("carry fields selected through a named fragment", async () => {
    const logs = await firstEntry(`nodes { ...Entry }`, `fragment Entry on IncidentLog { ${fields} }`);
    expect(logs.nodes[0]).toEqual(everyField);
  });

  it("carry fields selected only through an inline fragment", async () => {
    const logs = await firstEntry(`nodes { id ... on IncidentLog { message createdAt author { name } } }`);
    expect(logs.nodes[0]).toEqual({ id: expect.any(String), message: expect.any(String), createdAt: expect.stringMatching(/Z$/), author: { name: "Admin" } });
  });

  it("page correctly when only the cursor is selected", async () => {
    const first = await firstEntry(`edges { cursor } pageInfo { hasNextPage }`);
    expect(first.edges).toHaveLength(2);
  });
});
