import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, type TestUser } from "./support/server.js";

// A page of incidents loads what its rows' fields read together: one statement for the rows, one for all their
// timelines, one for every user they name. These tests pin the count and check that the shortcut never changes
// an answer: aliases, variables, fragments, skipped fields and bad arguments behave as field-by-field loading would.
let server: TestServer;
let scribe: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  scribe = await server.user("RESPONDER", "Scribe");
  for (const title of ["Disk full", "Queue backlog", "TLS expiry"]) {
    const created = await server.gql(
      `mutation($title: String!, $assignee: ID) { createIncident(input: { title: $title, assigneeId: $assignee }) { id } }`,
      { title, assignee: scribe.id },
      server.admin.token,
    );
    const id = created.data.createIncident.id;
    for (const [message, token] of [
      [`${title}: paged`, server.admin.token],
      [`${title}: looking`, scribe.token],
      [`${title}: mitigated`, scribe.token],
    ] as const) {
      await server.gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id, m: message }, token);
    }
  }
});
afterAll(() => server.close());

async function read(query: string, variables: Record<string, unknown> = {}) {
  const before = await server.metric("db_queries_total");
  const response = await server.gql(query, variables, server.admin.token);
  const statements = (await server.metric("db_queries_total")) - before;
  return { ...response, statements };
}

const TREE = `query($n: Int!, $k: Int) {
  incidents(first: $n) { nodes { title reporter { name } assignee { name } logs(first: $k) { nodes { message author { name } } } } }
}`;

describe("a page of incidents with timelines and users", () => {
  it("takes four statements, whatever its size: the caller, the rows, their timelines, their users", async () => {
    const one = await read(TREE, { n: 1, k: 1 });
    const all = await read(TREE, { n: 3, k: 3 });
    expect(one.errors).toBeUndefined();
    expect(all.errors).toBeUndefined();
    expect(all.data.incidents.nodes).toHaveLength(3);
    expect(one.statements).toBe(4);
    expect(all.statements).toBe(4);
  });

  it("answers every row with its own timeline, oldest first, and its own users", async () => {
    const { data } = await read(TREE, { n: 3, k: 2 });
    for (const node of data.incidents.nodes) {
      expect(node.reporter).toEqual({ name: "Admin" });
      expect(node.assignee).toEqual({ name: "Scribe" });
      expect(node.logs.nodes).toEqual([
        { message: `${node.title}: paged`, author: { name: "Admin" } },
        { message: `${node.title}: looking`, author: { name: "Scribe" } },
      ]);
    }
  });

  it("loads the same way through edges and fragments", async () => {
    const viaEdges = await read(`query { incidents(first: 3) { edges { node { ...Row } } } }
      fragment Row on Incident { title assignee { name } logs(first: 1) { edges { node { ... on IncidentLog { message author { name } } } } } }`);
    expect(viaEdges.errors).toBeUndefined();
    expect(viaEdges.statements).toBe(4);
    for (const { node } of viaEdges.data.incidents.edges) {
      expect(node.logs.edges).toEqual([{ node: { message: `${node.title}: paged`, author: { name: "Admin" } } }]);
    }
  });

  it("gives two aliases with different ranges each their own range", async () => {
    const { data, errors } = await read(`query { incidents(first: 3) { nodes { title
      short: logs(first: 1) { nodes { message } }
      long: logs(first: 3) { nodes { message } } } } }`);
    expect(errors).toBeUndefined();
    for (const node of data.incidents.nodes) {
      expect(node.short.nodes.map((entry: any) => entry.message)).toEqual([`${node.title}: paged`]);
      expect(node.long.nodes.map((entry: any) => entry.message)).toEqual([
        `${node.title}: paged`,
        `${node.title}: looking`,
        `${node.title}: mitigated`,
      ]);
    }
  });

  it("continues each timeline after a cursor given by variable", async () => {
    const first = await read(`query { incidents(first: 1) { nodes { title logs(first: 1) { pageInfo { endCursor } } } } }`);
    const after = first.data.incidents.nodes[0].logs.pageInfo.endCursor;
    const next = await read(`query($after: String) { incidents(first: 1) { nodes { logs(first: 5, after: $after) { nodes { message } } } } }`, { after });
    expect(next.errors).toBeUndefined();
    const title = first.data.incidents.nodes[0].title;
    expect(next.data.incidents.nodes[0].logs.nodes.map((entry: any) => entry.message)).toEqual([`${title}: looking`, `${title}: mitigated`]);
  });

  it("leaves out, and does not load, a timeline or users skipped by @include(if: false) or @skip(if: true)", async () => {
    const skipped = await read(
      `query($with: Boolean!) { incidents(first: 2) { nodes { title reporter @skip(if: true) { name } logs @include(if: $with) { nodes { message } } } } }`,
      { with: false },
    );
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data.incidents.nodes[0]).toEqual({ title: expect.any(String) });
    expect(skipped.statements).toBe(2);
  });

  it("loads a range once for aliases that read different fields of it", async () => {
    const { data, errors, statements } = await read(`query { incidents(first: 3) { nodes { title
      ids: logs(first: 1) { nodes { id } }
      messages: logs(first: 1) { edges { node { message } } } } } }`);
    expect(errors).toBeUndefined();
    expect(statements).toBe(3);
    for (const node of data.incidents.nodes) {
      expect(node.ids.nodes).toEqual([{ id: expect.any(String) }]);
      expect(node.messages.edges).toEqual([{ node: { message: `${node.title}: paged` } }]);
    }
  });

  it("reports a timeline range out of bounds at each row's own field", async () => {
    const { data, errors } = await read(`query { incidents(first: 2) { nodes { title logs(first: 500) { nodes { message } } } } }`);
    expect(errors?.length).toBeGreaterThan(0);
    expect(errors![0]!.extensions?.code).toBe("BAD_USER_INPUT");
    expect(errors![0]!.path).toEqual(["incidents", "nodes", 0, "logs"]);
    expect(data).toBeNull();
  });

  it("reports a forged timeline cursor at the row's field", async () => {
    const { errors } = await read(`query { incidents(first: 1) { nodes { logs(after: "forged") { nodes { message } } } } }`);
    expect(errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(errors?.[0]?.path).toEqual(["incidents", "nodes", 0, "logs"]);
  });

  it("reads no timeline and no user when the page selects none", async () => {
    const { errors, statements } = await read(`query { incidents(first: 3) { nodes { id title } } }`);
    expect(errors).toBeUndefined();
    expect(statements).toBe(2);
  });
});

describe("an incident by id", () => {
  const firstId = async () => (await server.gql(`{ incidents(first: 1) { nodes { id } } }`, {}, server.admin.token)).data.incidents.nodes[0].id;

  it("reads its reporter and assignee with the incident: two statements, the caller and one join", async () => {
    const id = await firstId();
    const result = await read(`query($id: ID!) { incident(id: $id) { title reporter { name } assignee { name } } }`, { id });
    expect(result.errors).toBeUndefined();
    expect(result.data.incident).toEqual({ title: "TLS expiry", reporter: { name: "Admin" }, assignee: { name: "Scribe" } });
    expect(result.statements).toBe(2);
  });

  it("answers the same through a fragment, without an assignee, and for an id that names nothing", async () => {
    const id = await firstId();
    const viaFragment = await read(`query($id: ID!) { incident(id: $id) { ...People } } fragment People on Incident { reporter { name } }`, { id });
    expect(viaFragment.data.incident).toEqual({ reporter: { name: "Admin" } });
    expect(viaFragment.statements).toBe(2);
    const unassigned = await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { assigneeId: null }) { id } }`, { id }, server.admin.token);
    expect(unassigned.errors).toBeUndefined();
    const alone = await read(`query($id: ID!) { incident(id: $id) { assignee { name } reporter { name } } }`, { id });
    expect(alone.data.incident).toEqual({ assignee: null, reporter: { name: "Admin" } });
    const missing = await read(`{ incident(id: "999999") { reporter { name } } }`);
    expect(missing.data).toEqual({ incident: null });
  });

  it("reads no user when the selection names none", async () => {
    const result = await read(`query($id: ID!) { incident(id: $id) { title } }`, { id: await firstId() });
    expect(result.data.incident.title).toBe("TLS expiry");
    expect(result.statements).toBe(2);
  });
});
