import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, alertSetup, createService, sendAlertmanager } from "./support/alerts.js";
import { onPostgres } from "./support/database.js";
import { onlyError, startTestServer, type TestServer, type TestUser } from "./support/server.js";

// Section 10: full-text search over titles, descriptions and notes, and similar incidents with their reasons.

let server: TestServer;
let responder: TestUser;
let viewer: TestUser;
beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER");
  viewer = await server.user("VIEWER");
});
afterAll(async () => {
  await server?.close();
});

const create = async (input: Record<string, unknown>) => {
  const result = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input }, responder.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.createIncident.id as string;
};
const note = (incidentId: string, message: string) =>
  server.gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id: incidentId, m: message }, responder.token);
const search = (query: string, extra: Record<string, unknown> = {}) =>
  server.gql(
    `query($q: String!, $filter: IncidentFilter, $first: Int) { searchIncidents(query: $q, filter: $filter, first: $first) { incident { id title } score highlights } }`,
    { q: query, ...extra },
    viewer.token,
  );
const ids = (response: any) => response.data.searchIncidents.map((hit: any) => hit.incident.id);

describe("searchIncidents", () => {
  it("matches every word as a prefix in title, description and notes, ignoring case and accents, title first", async () => {
    const inTitle = await create({ title: "Zanzibar gateway timeouts on checkout", description: "nothing else" });
    const inDescription = await create({ title: "Slow pages", description: "The zanzibar gateway answers with timeouts" });
    const inNotes = await create({ title: "Users complain", description: "unclear" });
    await note(inNotes, "Root cause: the Zanzibar gateway pool was exhausted, timeouts everywhere");
    const unrelated = await create({ title: "Zanzibar office wifi down" });

    const hits = await search("ZANZIB timeout");
    expect(ids(hits)).toEqual([inTitle, inDescription, inNotes]);
    expect(hits.data.searchIncidents[0].score).toBeGreaterThan(hits.data.searchIncidents[1].score);
    expect(hits.data.searchIncidents[0].highlights[0]).toBe("**Zanzibar** gateway **timeouts** on checkout");
    expect(hits.data.searchIncidents[2].highlights).toEqual([expect.stringContaining("**Zanzibar** gateway pool was exhausted, **timeouts**")]);
    expect(ids(await search("zanzíbar"))).toContain(unrelated);
    const accented = await create({ title: "Erreur de déploiement à Zürich" });
    expect(ids(await search("deploiement zurich"))).toEqual([accented]);
    expect(ids(await search("DÉPLOIEMENT"))).toEqual([accented]);
  });

  it("finds a new or edited incident or note as soon as its mutation has returned", async () => {
    const id = await create({ title: "Quokka queue backlog" });
    expect(ids(await search("quokka"))).toEqual([id]);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { title: "Wombat queue backlog" }) { id } }`, { id }, responder.token);
    expect(ids(await search("quokka"))).toEqual([]);
    expect(ids(await search("wombat"))).toEqual([id]);
    await note(id, "Platypus consumer restarted");
    expect(ids(await search("platypus wombat"))).toEqual([id]);
    await server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id }, server.admin.token);
    expect(ids(await search("wombat"))).toEqual([]);
  });

  it("applies the filter, including IncidentFilter.search, and first", async () => {
    const service = await createService(server);
    const a = await create({ title: "Narwhal cache eviction storm", priority: "CRITICAL", serviceId: service.id, labels: [{ key: "region", value: "eu" }] });
    const b = await create({ title: "Narwhal cache eviction", priority: "LOW" });
    expect(ids(await search("narwhal", { filter: { priority: ["CRITICAL"] } }))).toEqual([a]);
    expect(ids(await search("narwhal", { filter: { serviceId: [service.id] } }))).toEqual([a]);
    expect(ids(await search("narwhal", { filter: { labels: [{ key: "region", value: "eu" }] } }))).toEqual([a]);
    expect(ids(await search("narwhal", { filter: { search: "storm" } }))).toEqual([a]);
    // The filter's words are the title's and description's, as on incidents(): a word in a note does not pass it.
    await note(b, "storm of evictions after the deploy");
    expect(ids(await search("narwhal", { filter: { search: "storm" } }))).toEqual([a]);
    expect(ids(await search("narwhal storm"))).toEqual(expect.arrayContaining([a, b]));
    expect(ids(await search("narwhal", { filter: { serviceId: ["nope"] } }))).toEqual([]);
    expect(ids(await search("narwhal", { first: 1 }))).toHaveLength(1);
    expect(ids(await search("narwhal", { first: 0 }))).toEqual([]);
    expect(new Set(ids(await search("narwhal")))).toEqual(new Set([a, b]));
  });

  it("answers FTS syntax as plain words, an empty query with nothing, and refuses oversized ones", async () => {
    const id = await create({ title: "Ocelot NEAR limit: error-rate 5%" });
    for (const query of ['"ocelot', "ocelot*", "ocelot NEAR", "-ocelot", "ocelot:", "NEAR(ocelot limit)", "ocelot error-rate 5%", "(ocelot", "^ocelot", "ocelot + {near}"]) {
      const hits = await search(query);
      expect(hits.errors, query).toBeUndefined();
      expect(ids(hits), query).toContain(id);
    }
    for (const query of ["", "   ", '"', "*", "-", ":", "()"]) {
      const hits = await search(query);
      expect(hits.errors, JSON.stringify(query)).toBeUndefined();
      expect(hits.data.searchIncidents).toEqual([]);
    }
    for (const [query, extra] of [
      [Array.from({ length: 1000 }, (_, i) => `word${i}`).join(" "), {}],
      ["ocelot", { first: 101 }],
      ["ocelot", { first: -1 }],
    ] as const) {
      expect(onlyError(await search(query, extra)).extensions?.code).toBe("BAD_USER_INPUT");
    }
  });

  it("is refused without a token", async () => {
    const response = await server.gql(`{ searchIncidents(query: "x") { score } }`);
    expect(onlyError(response).extensions?.code).toBe("UNAUTHENTICATED");
  });
});

const SIMILAR = `incident { id title status } score reasons { kind detail weight }`;
const similarOf = (id: string, args = "") =>
  server.gql(`query($id: ID!) { incident(id: $id) { similar${args} { ${SIMILAR} } } }`, { id }, viewer.token);

describe("similar incidents", () => {
  it("ranks by text, service, rare labels and shared alerts, explains each part, and leaves out the incident itself", async () => {
    const service = await createService(server);
    const other = await createService(server);
    const source = await create({
      title: "Kafka consumer lag growing on orders topic",
      description: "Consumers of the orders topic fall behind; lag above 1M messages on partition 7",
      serviceId: service.id,
      labels: [{ key: "team", value: "payments" }, { key: "env", value: "prod" }],
    });
    const twin = await create({
      title: "Orders topic consumer lag keeps growing",
      description: "Kafka lag on orders consumers, 800k messages behind",
      serviceId: service.id,
      labels: [{ key: "team", value: "payments" }],
    });
    const sameWordsOtherService = await create({ title: "Kafka consumer lag on invoices topic", serviceId: other.id });
    const unrelated = await create({ title: "TLS certificate expired on login page", serviceId: service.id });
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: INVESTIGATING }) { id } }`, { id: twin }, responder.token);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: RESOLVED }) { id } }`, { id: twin }, responder.token);

    const result = await similarOf(source);
    expect(result.errors).toBeUndefined();
    const similar = result.data.incident.similar;
    const listed = similar.map((entry: any) => entry.incident.id);
    expect(listed[0]).toBe(twin);
    expect(listed).toContain(sameWordsOtherService);
    expect(listed).not.toContain(source);
    expect(listed).not.toContain(unrelated);
    const top = similar[0];
    expect(top.score).toBeGreaterThan(similar[1].score);
    expect(top.score).toBeLessThanOrEqual(1);
    expect(top.reasons.map((reason: any) => reason.kind)).toEqual(["TEXT", "SERVICE", "LABELS"]);
    expect(top.reasons[0].detail).toMatch(/orders|kafka|consumer|lag|topic/);
    expect(top.reasons[2].detail).toBe("team=payments");
    const sum = top.reasons.reduce((total: number, reason: any) => total + reason.weight, 0);
    expect(sum).toBeCloseTo(top.score, 5);
    for (const entry of similar) expect(entry.score).toBeGreaterThan(0);

    const scoped = await similarOf(source, "(sameServiceOnly: true)");
    expect(scoped.data.incident.similar.map((entry: any) => entry.incident.id)).toEqual([twin]);
  });

  it("matches shorthand with the words it stands for (DB conns: database connections)", async () => {
    const source = await create({ title: "Quillfeather DB conns maxed out" });
    const related = await create({ title: "Database connections exhausted, pool empty" });
    const listed = (await similarOf(source)).data.incident.similar.map((entry: any) => entry.incident.id);
    expect(listed).toContain(related);
  });

  it("counts shared alerts, by alertname or fingerprint", async () => {
    const { amKey } = await alertSetup(server);
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([{ labels: { alertname: "PostgresReplicationLagHigh", severity: "critical" }, annotations: { summary: "Replication lag high on pg-3" } }], { groupKey: "g1" }));
    const firstId = first.body.incidents[0];
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: INVESTIGATING }) { id } }`, { id: firstId }, responder.token);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: RESOLVED }) { id } }`, { id: firstId }, responder.token);
    const second = await sendAlertmanager(server, amKey, alertmanagerPayload([{ labels: { alertname: "PostgresReplicationLagHigh", severity: "critical" }, annotations: { summary: "Replication lag high on pg-9" }, fingerprint: "other" }], { groupKey: "g2" }));
    const similar = (await similarOf(second.body.incidents[0])).data.incident.similar;
    expect(similar[0].incident.id).toBe(firstId);
    expect(similar[0].reasons.find((reason: any) => reason.kind === "ALERT")?.detail).toBe("PostgresReplicationLagHigh");
  });

  it("compares an incident by its first 200 alerts: a storm's later alerts are not read", async () => {
    const { amKey } = await alertSetup(server);
    const storm = (name: string, from: number, count: number) =>
      alertmanagerPayload(
        Array.from({ length: count }, (_, i) => ({ labels: { alertname: name, pod: `p${from + i}` }, fingerprint: `${name}-${from + i}` })),
        { groupKey: "storm-g" },
      );
    const stormId = (await sendAlertmanager(server, amKey, storm("QueueBacklogGrowing", 0, 200))).body.incidents[0];
    expect((await sendAlertmanager(server, amKey, storm("LateOnlyAlertName", 200, 5))).body.incidents).toEqual([stormId]);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: INVESTIGATING }) { id } }`, { id: stormId }, responder.token);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: RESOLVED }) { id } }`, { id: stormId }, responder.token);
    const compare = async (alertname: string) => {
      const sent = await sendAlertmanager(server, amKey, alertmanagerPayload([{ labels: { alertname, pod: "x" }, fingerprint: `${alertname}-x` }], { groupKey: `g-${alertname}` }));
      const similar = (await similarOf(sent.body.incidents[0])).data.incident.similar as any[];
      return similar.find((entry) => entry.incident.id === stormId)?.reasons.find((reason: any) => reason.kind === "ALERT")?.detail;
    };
    expect(await compare("QueueBacklogGrowing")).toBe("QueueBacklogGrowing");
    expect(await compare("LateOnlyAlertName")).toBeUndefined();
  });

  it("similarIncidents(to:) puts open and investigating incidents first", async () => {
    const open = await create({ title: "Elasticsearch cluster red, shards unassigned" });
    const resolved = await create({ title: "Elasticsearch cluster red after node loss, shards unassigned" });
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: INVESTIGATING }) { id } }`, { id: resolved }, responder.token);
    await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { status: RESOLVED }) { id } }`, { id: resolved }, responder.token);
    const result = await server.gql(
      `query($to: SimilarToInput!) { similarIncidents(to: $to) { ${SIMILAR} } }`,
      { to: { title: "ES cluster status red: unassigned shards after node loss" } },
      viewer.token,
    );
    expect(result.errors).toBeUndefined();
    const listed = result.data.similarIncidents.map((entry: any) => entry.incident.id);
    expect(listed.slice(0, 2)).toEqual([open, resolved]);
  });

  it("refuses bad arguments with BAD_USER_INPUT and answers an unknown id with null", async () => {
    const id = await create({ title: "Anything at all" });
    for (const args of ["(first: -1)", "(first: 101)", "(withinDays: 0)", "(withinDays: 100000)"]) {
      expect(onlyError(await similarOf(id, args)).extensions?.code, args).toBe("BAD_USER_INPUT");
    }
    expect((await similarOf("999999999")).data.incident).toBeNull();
    expect((await similarOf(id, "(first: 0)")).data.incident.similar).toEqual([]);
    for (const to of [{ title: "" }, { title: "x".repeat(201) }, { title: "ok", labels: [{ key: "Bad Key", value: "x" }] }]) {
      const response = await server.gql(`query($to: SimilarToInput!) { similarIncidents(to: $to) { score } }`, { to }, viewer.token);
      expect(onlyError(response).extensions?.code).toBe("BAD_USER_INPUT");
    }
    for (const serviceId of ["abc", "999999999"]) {
      const response = await server.gql(`query($to: SimilarToInput!) { similarIncidents(to: $to) { score } }`, { to: { title: "Disk full", serviceId } }, viewer.token);
      expect(onlyError(response).extensions).toMatchObject({ code: "NOT_FOUND", field: "serviceId" });
    }
    const symbols = await server.gql(`query { similarIncidents(to: { title: "\\"*NEAR -: ()" }) { score } }`, {}, viewer.token);
    expect(symbols.errors).toBeUndefined();
  });

  it(`reads a fixed number of statements, whatever the number of candidates${onPostgres ? " (PostgreSQL)" : ""}`, async () => {
    const seed = await create({ title: "Redis sentinel failover loop", description: "sentinel flaps master every minute" });
    await create({ title: "Redis sentinel failover again", description: "master flaps" });
    const statements = async () => {
      const before = await server.metric("db_queries_total");
      const result = await similarOf(seed, "(first: 20)");
      expect(result.errors).toBeUndefined();
      return (await server.metric("db_queries_total")) - before;
    };
    const few = await statements();
    for (let i = 0; i < 11; i++) await create({ title: `Redis sentinel failover ${i}`, description: "master flaps" });
    expect(await statements()).toBe(few);
  });
});
