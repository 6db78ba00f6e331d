import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wideIncident } from "./support/alerts.js";
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

// Shapes the hostile review measured: list fields counted as nothing let these through at cost 1.
const nestedSimilar = (outer: number, inner: number, innermost: number) =>
  `{ searchIncidents(query: "disk", first: ${outer}) { incident { similar(first: ${inner}) { incident { similar(first: ${innermost}) { score } } } } } }`;
const metricsField = (i: number) =>
  `m${i}: incidentMetrics(input: { from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", bucket: DAY, groupBy: [SERVICE, PRIORITY, ASSIGNEE] }) { created timeToResolve { p50 } }`;

describe("list fields and ranking fields", () => {
  let incidentId: string;
  beforeAll(async () => {
    const created = await server.gql(`mutation { createIncident(input: { title: "Disk full on db-7" }) { id } }`, {}, server.admin.token);
    incidentId = created.data.createIncident.id;
  });

  it("multiplies by a list's first like a connection's: 100 rankings of 100 logs each is over the node limit", async () => {
    // Counted before as 100 nodes; it returned 34,961 log rows.
    await refused(`{ searchIncidents(query: "disk", first: 100) { incident { similar(first: 100) { incident { logs(first: 100) { nodes { id } } } } } } }`);
  });

  it("refuses nested rankings: search x similar x similar x similar, and 20 x 20 x 5", async () => {
    const deep = `{ searchIncidents(query: "zzqqzzqq", first: 100) { incident { similar(first: 100) { incident { similar(first: 100) { incident { similar(first: 100) { score } } } } } } } }`;
    expect((await refused(deep)).message).toMatch(/node/);
    await refused(nestedSimilar(20, 20, 5));
    await refused(nestedSimilar(5, 5, 5));
  });

  it("weighs each ranking call, so that aliases add up: 49 x similarIncidents(first: 100) and 25 x searchIncidents", async () => {
    const similar = Array.from({ length: 49 }, (_, i) => `s${i}: similarIncidents(to: { title: "zzqq${i}" }, first: 100) { score }`).join(" ");
    await refused(`{ ${similar} }`);
    // 25 x (1,000 + 1) nodes: even the smallest pages, once each call is weighed.
    const searches = Array.from({ length: 25 }, (_, i) => `s${i}: searchIncidents(query: "disk", first: 1) { score }`).join(" ");
    await refused(`{ ${searches} }`);
  });

  it("weighs each one-character search word as a metrics pass: five in a document are refused before any SQL, four accepted", async () => {
    await refused(`{ searchIncidents(query: "a b c d e", first: 1) { score } }`);
    await refused(`{ s1: searchIncidents(query: "a b c", first: 1) { score } s2: searchIncidents(query: "x y", first: 1) { score } }`);
    const four = await server.gql(`{ searchIncidents(query: "a b c d", first: 1) { score } }`, {}, server.admin.token);
    expect(four.errors).toBeUndefined();
    // Longer words weigh nothing more, and a one-character word that begins another word of the query adds nothing.
    const words = Array.from({ length: 5 }, (_, i) => `s${i}: searchIncidents(query: "d di disk", first: 1) { score }`).join(" ");
    expect((await server.gql(`{ ${words} }`, {}, server.admin.token)).errors).toBeUndefined();
  });

  it("weighs each metrics pass: 10 aliases of a year by day and every dimension are refused", async () => {
    await refused(`{ ${Array.from({ length: 10 }, (_, i) => metricsField(i)).join(" ")} }`);
  });

  it("counts metrics rows as their most (5,000) for the connections and rankings below them", async () => {
    const input = `input: { from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", groupBy: [SERVICE] }`;
    // 5,000 + 5,000 x 5 nodes.
    await refused(`{ incidentMetrics(${input}) { service { incidents(first: 5) { totalCount } } } }`);
    await refused(`{ incidentMetrics(${input}) { assignee { assignedIncidents(first: 1) { nodes { similar(first: 1) { score } } } } } }`);
  });

  it("accepts the ranking documents clients send: similar(first: 5), searchIncidents(first: 20), a draft, a nested pair, metrics", async () => {
    const accepted = [
      `query($id: ID!) { incident(id: $id) { similar(first: 5) { score reasons { kind weight } incident { id title } } } }`,
      `query($id: ID!) { incident(id: $id) { similar(first: 100, withinDays: 3650) { incident { id } } } }`,
      `{ searchIncidents(query: "disk", first: 20) { score highlights incident { id title } } }`,
      `{ searchIncidents(query: "disk", first: 100) { score } }`,
      `{ similarIncidents(to: { title: "Disk full" }) { score incident { id title } } }`,
      `query($id: ID!) { incident(id: $id) { similar(first: 5) { incident { similar(first: 5) { score } } } } }`,
      `{ ${Array.from({ length: 5 }, (_, i) => `s${i}: searchIncidents(query: "disk", first: 100) { score }`).join(" ")} }`,
      `{ ${metricsField(0)} ${metricsField(1)} }`,
      `{ incidentMetrics(input: { from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", groupBy: [SERVICE, ASSIGNEE] }) { service { name } assignee { name } created } }`,
    ];
    for (const query of accepted) {
      const response = await server.gql(query, { id: incidentId }, server.admin.token);
      expect(response.errors, query).toBeUndefined();
    }
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

  it("weighs ranking calls against MAX_NODES, whatever its value", async () => {
    const strict = await startTestServer({ MAX_NODES: "2000" });
    try {
      const one = await strict.gql(`{ similarIncidents(to: { title: "Disk full" }) { score } }`, {}, strict.admin.token);
      expect(one.errors).toBeUndefined();
      const two = await strict.gql(`{ a: similarIncidents(to: { title: "Disk full" }) { score } b: similarIncidents(to: { title: "Disk" }) { score } }`, {}, strict.admin.token);
      expect(onlyError(two).extensions?.code).toBe("QUERY_TOO_COMPLEX");
    } finally {
      await strict.close();
    }
  });
});

describe("response size", () => {
  const aliasedAlerts = (aliases: number, fields = "labels { key value } annotations { key value }") =>
    `query($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `a${i}: incident(id: $id) { alerts(first: 100) { nodes { ${fields} } } }`).join(" ")} }`;

  it("refuses with QUERY_TOO_COMPLEX, no data and a 400 a legal document whose answer would pass MAX_RESPONSE_BYTES: aliases of alerts' labels and annotations", async () => {
    const small = await startTestServer({ MAX_RESPONSE_BYTES: "1MB" });
    try {
      // 10 alerts of about 130 KB each: 1.3 MB an alias.
      const { incidentId } = await wideIncident(small);
      const viewer = await small.user("VIEWER");
      // Twice: the second time the document is compiled by graphql-jit, and the limit holds there too.
      for (let round = 0; round < 2; round++) {
        const response = await small.gql(aliasedAlerts(20), { id: incidentId }, viewer.token);
        const error = onlyError(response);
        expect(error.extensions?.code).toBe("QUERY_TOO_COMPLEX");
        expect(error.message).toMatch(/response size/);
        expect(response.data ?? null).toBeNull();
        expect(response.status).toBe(400);
      }
      // Under the limit the same incident still answers: one alias of the labels alone (about 650 KB).
      const one = await small.gql(aliasedAlerts(1, "labels { key value }"), { id: incidentId }, viewer.token);
      expect(one.errors).toBeUndefined();
      expect(one.data.a0.alerts.nodes).toHaveLength(10);
      expect(one.data.a0.alerts.nodes[0].labels).toHaveLength(64);
    } finally {
      await small.close();
    }
  });

  it("refuses an answer that repeats long descriptions under many aliases, counted in UTF-8 bytes, and answers the same page with a few", async () => {
    const small = await startTestServer({ MAX_RESPONSE_BYTES: "1MB" });
    try {
      // 10,000 characters of three bytes each: 30 KB of JSON a description.
      for (let i = 0; i < 3; i++) {
        const created = await small.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`,
          { input: { title: `Wide ${i}`, description: "漢".repeat(10_000) } }, small.admin.token);
        expect(created.errors).toBeUndefined();
      }
      const aliased = (n: number) => `{ incidents(first: 100) { nodes { id ${Array.from({ length: n }, (_, i) => `d${i}: description`).join(" ")} } } }`;
      // 3 x 12 x 30 KB = 1.08 MB: over, though only 120 KB of characters.
      const over = await small.gql(aliased(12), {}, small.admin.token);
      expect(onlyError(over).extensions?.code).toBe("QUERY_TOO_COMPLEX");
      expect(over.data ?? null).toBeNull();
      const under = await small.gql(aliased(8), {}, small.admin.token);
      expect(under.errors).toBeUndefined();
      expect(under.data.incidents.nodes).toHaveLength(3);
    } finally {
      await small.close();
    }
  });

  it("answers at the default limit a page of 50 incidents with 10 timeline entries each, descriptions and messages at their longest", async () => {
    const wide = "漢".repeat(10_000);
    for (let i = 0; i < 50; i++) {
      const created = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`,
        { input: { title: `Long ${i}`, description: wide } }, server.admin.token);
      const id = created.data.createIncident.id;
      for (let k = 0; k < 10; k++) {
        const note = await server.gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id, m: wide }, server.admin.token);
        expect(note.errors).toBeUndefined();
      }
    }
    const page = await server.gql(
      `{ incidents(first: 50) { nodes { id title description status reporter { name } logs(first: 10) { nodes { kind message author { name } createdAt } } } } }`,
      {},
      server.admin.token,
    );
    expect(page.errors).toBeUndefined();
    expect(page.data.incidents.nodes).toHaveLength(50);
    expect(page.data.incidents.nodes.every((n: { logs: { nodes: unknown[] } }) => n.logs.nodes.length === 10)).toBe(true);
  }, 60_000);
});
