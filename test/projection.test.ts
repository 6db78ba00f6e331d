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

// Pages of incidents fetch only the columns their selection reads: each field must still get what it reads, and
// cursors the sort column they encode, whatever else is (not) selected.
describe("incident pages read through a projection", () => {
  const fields = [
    "id",
    "title",
    "description",
    "status",
    "priority",
    "version",
    "createdAt",
    "updatedAt",
    "acknowledgedAt",
    "resolvedAt",
    "closedAt",
    "reporter { name }",
    "assignee { name }",
    "allowedTransitions",
    "logs { totalCount nodes { message } }",
  ];

  beforeAll(async () => {
    const responder = await server.user("RESPONDER", "Responder");
    for (const [title, priority] of [["Disk full", "HIGH"], ["TLS expiry", "LOW"], ["DNS flaps", "CRITICAL"]] as const) {
      const created = await server.gql(
        `mutation($title: String!, $priority: Priority, $assignee: ID) { createIncident(input: { title: $title, description: "Seen on ${title}", priority: $priority, assigneeId: $assignee }) { id } }`,
        { title, priority, assignee: responder.id },
        server.admin.token,
      );
      const id = created.data.createIncident.id;
      for (const status of ["INVESTIGATING", "RESOLVED"]) {
        await server.gql(`mutation($id: ID!, $s: IncidentStatus!) { updateIncident(id: $id, input: { status: $s }) { id } }`, { id, s: status }, server.admin.token);
      }
    }
  });

  it("answer each field, selected alone, as the whole row answers it", async () => {
    const ids = (await server.gql(`{ incidents(first: 10) { nodes { id } } }`, {}, server.admin.token)).data.incidents.nodes.map((node: any) => node.id);
    expect(ids.length).toBe(4);
    for (const field of fields) {
      const page = await server.gql(`{ incidents(first: 10) { nodes { ${field} } } }`, {}, server.admin.token);
      expect(page.errors, field).toBeUndefined();
      for (const [index, id] of ids.entries()) {
        const whole = await server.gql(`query($id: ID!) { incident(id: $id) { ${field} } }`, { id }, server.admin.token);
        expect(page.data.incidents.nodes[index], `${field} of incident ${id}`).toEqual(whole.data.incident);
      }
    }
  });

  it("continue after a cursor from a page that selected nothing but cursors, in every order", async () => {
    for (const field of ["CREATED_AT", "UPDATED_AT", "PRIORITY"]) {
      for (const direction of ["ASC", "DESC"]) {
        const orderBy = `orderBy: { field: ${field}, direction: ${direction} }`;
        const all = await server.gql(`{ incidents(first: 10, ${orderBy}) { nodes { id } } }`, {}, server.admin.token);
        const first = await server.gql(`{ incidents(first: 2, ${orderBy}) { edges { cursor } } }`, {}, server.admin.token);
        const after = first.data.incidents.edges[1].cursor;
        const rest = await server.gql(`query($after: String) { incidents(first: 10, after: $after, ${orderBy}) { nodes { id } } }`, { after }, server.admin.token);
        expect(rest.data.incidents.nodes, `${field} ${direction}`).toEqual(all.data.incidents.nodes.slice(2));
      }
    }
  });
});
