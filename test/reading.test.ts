import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type GraphQLResponse, type TestServer, type TestUser } from "./support/server.js";

// Reading the API back: Relay connections, page bounds, cursors, orderings, filters, batched loading
// (CONTRACT.md sections 3 and 5). Everything is seeded once through the API; the tests only read.

type Priority = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW";
type Status = "OPEN" | "INVESTIGATING" | "RESOLVED" | "CLOSED";
type Era = "A" | "B" | "C";

const PRIORITIES: Priority[] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const URGENCY: Record<Priority, number> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1 };
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What the seed wrote, as the test believes it: the oracle every read is checked against. */
interface SeededIncident {
  key: string;
  id: string;
  title: string;
  description: string;
  priority: Priority;
  status: Status;
  reporterId: string;
  assigneeId: string | null;
  /** A before t1, B between t1 and t2, C after t2. */
  era: Era;
  createdAt: string;
}

interface TimelineEntry {
  kind: "NOTE" | "STATUS_CHANGE";
  message?: string;
  toStatus?: Status;
  authorId: string;
}

// ---------------------------------------------------------------------------------------------------------------
// GraphQL documents

const PAGE = `totalCount pageInfo { hasNextPage endCursor hasPreviousPage startCursor } edges { cursor node { id } }`;

const INCIDENTS = `query Incidents($first: Int, $after: String, $filter: IncidentFilter, $orderBy: IncidentOrder) {
  incidents(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    ${PAGE}
    nodes { id title priority status createdAt updatedAt reporter { id } assignee { id } }
  }
}`;

const USERS = `query Users($first: Int, $after: String) {
  users(first: $first, after: $after) {
    ${PAGE}
    nodes { id name role createdAt assignedIncidents(first: 100) { totalCount } }
  }
}`;

const LOGS = `query Logs($id: ID!, $first: Int, $after: String) {
  incident(id: $id) {
    logs(first: $first, after: $after) {
      ${PAGE}
      nodes { id kind message toStatus createdAt author { id } }
    }
  }
}`;

const ASSIGNED = `query Assigned($id: ID!, $first: Int, $after: String, $status: [IncidentStatus!]) {
  user(id: $id) {
    assignedIncidents(first: $first, after: $after, status: $status) {
      ${PAGE}
      nodes { id status createdAt assignee { id } }
    }
  }
}`;

const CREATE = `mutation Create($input: CreateIncidentInput!) {
  createIncident(input: $input) { id createdAt }
}`;
const UPDATE = `mutation Update($id: ID!, $input: UpdateIncidentInput!) {
  updateIncident(id: $id, input: $input) { id status priority }
}`;
const ADD_LOG = `mutation AddLog($id: ID!, $message: String!) {
  addIncidentLog(incidentId: $id, message: $message) { id }
}`;

// ---------------------------------------------------------------------------------------------------------------
// State shared by the tests

let server: TestServer;
/** A VIEWER that takes part in nothing: every read runs as this user. */
let reader: TestUser;
/** R0..R6. R0-R2 report general incidents, R0/R1 the load set; R4-R6 write the notes. */
let responders: TestUser[];
const R = (k: number) => responders[k]!;
const seeded: SeededIncident[] = [];
const keyById = new Map<string, string>();
let walkIncident: { id: string; timeline: TimelineEntry[] };
let t1: string;
let t2: string;
const allUsers: TestUser[] = [];

const byKey = (key: string) => seeded.find((incident) => incident.key === key)!;
const keyOf = (id: string) => keyById.get(id) ?? `unknown:${id}`;
const sorted = (values: string[]) => [...values].sort();
const keysWhere = (predicate: (incident: SeededIncident) => boolean) => sorted(seeded.filter(predicate).map((i) => i.key));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function expectNoErrors(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  expect(response.status).toBe(200);
}

async function read<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await server.gql<T>(query, variables, reader.token);
  expectNoErrors(response);
  return response.data!;
}

async function write<T = any>(token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await server.gql<T>(query, variables, token);
  if (response.errors || !response.data) throw new Error(`seed failed: ${JSON.stringify(response.body)}`);
  return response.data;
}

/** Runs `work` over `items`, `size` at a time; for writes whose relative order does not matter. */
async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<R>) {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) {
    const batch = items.slice(start, start + size).map((item, offset) => work(item, start + offset));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

function expectBadUserInput(response: GraphQLResponse, field: string) {
  const error = onlyError(response);
  expect(error.extensions?.code, JSON.stringify(error)).toBe("BAD_USER_INPUT");
  expect(error.extensions?.field).toBe(field);
}

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
  hasPreviousPage: boolean;
  startCursor: string | null;
}

interface Page<N extends { id: string } = any> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: { cursor: string; node: { id: string } }[];
  nodes: N[];
}

/** The Relay shape of one page, whatever the connection. */
function checkPageShape(page: Page, after: string | null) {
  expect(page.edges.map((edge) => edge.node.id)).toEqual(page.nodes.map((node) => node.id));
  for (const edge of page.edges) {
    expect(typeof edge.cursor).toBe("string");
    expect(edge.cursor.length).toBeGreaterThan(0);
  }
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  expect(typeof page.pageInfo.hasNextPage).toBe("boolean");
  expect(typeof page.pageInfo.hasPreviousPage).toBe("boolean");
  // Nothing comes before the first page. (Relay lets later pages answer false as well, so only this is fixed.)
  if (after === null) expect(page.pageInfo.hasPreviousPage).toBe(false);
  expect(Number.isInteger(page.totalCount)).toBe(true);
}

/**
 * Follows endCursor until hasNextPage is false. Every page but the last is full; the last is not empty
 * (unless there is nothing at all), so hasNextPage never promised a page that did not come.
 */
async function walk<N extends { id: string }>(pageSize: number, fetchPage: (after: string | null) => Promise<Page<N>>) {
  const nodes: N[] = [];
  const totals: number[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    if (pages > 300) throw new Error("pagination never ends");
    const page: Page<N> = await fetchPage(after);
    checkPageShape(page, after);
    totals.push(page.totalCount);
    nodes.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) {
      expect(page.nodes.length).toBeLessThanOrEqual(pageSize);
      if (pages > 1) expect(page.nodes.length).toBeGreaterThan(0);
      return { nodes, ids: nodes.map((node) => node.id), totals, pages };
    }
    expect(page.nodes).toHaveLength(pageSize);
    after = page.pageInfo.endCursor;
  }
}

function expectEachOnce(ids: string[]) {
  expect(new Set(ids).size).toBe(ids.length);
}

const incidentsPage = async (variables: Record<string, unknown>): Promise<Page> =>
  (await read(INCIDENTS, variables)).incidents;
const usersPage = async (variables: Record<string, unknown>): Promise<Page> => (await read(USERS, variables)).users;
const logsPage = async (variables: Record<string, unknown>): Promise<Page> => (await read(LOGS, variables)).incident.logs;
const assignedPage = async (variables: Record<string, unknown>): Promise<Page> =>
  (await read(ASSIGNED, variables)).user.assignedIncidents;

/** All incidents matching `filter` in `orderBy`, read as one page of 100 (the seed holds fewer). */
async function onePage(filter?: Record<string, unknown>, orderBy?: Record<string, unknown>) {
  const page = await incidentsPage({ first: 100, filter, orderBy });
  checkPageShape(page, null);
  expect(page.pageInfo.hasNextPage).toBe(false);
  expect(page.totalCount).toBe(page.nodes.length);
  return page;
}

async function keysMatching(filter: Record<string, unknown>) {
  const page = await onePage(filter);
  expectEachOnce(page.nodes.map((node: { id: string }) => node.id));
  return sorted(page.nodes.map((node: { id: string }) => keyOf(node.id)));
}

async function countStatements(query: string, variables: Record<string, unknown>) {
  const before = await server.metric("db_queries_total");
  const response = await server.gql(query, variables, reader.token);
  const after = await server.metric("db_queries_total");
  expectNoErrors(response);
  expect(Number.isFinite(before) && Number.isFinite(after)).toBe(true);
  return { statements: after - before, data: response.data };
}

/** Changes one character of `text` at `index` to another base64url character. */
function changeCharacter(text: string, index: number) {
  const replacement = text[index] === "A" ? "B" : "A";
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

// ---------------------------------------------------------------------------------------------------------------
// Seed

/** Titles and descriptions of the general incidents that the search tests look for. */
const SEARCHABLE: Record<number, { title: string; description: string }> = {
  3: { title: "Payment ÉCLAIR gateway timeout", description: "Card authorisations fail after the upstream deploy" },
  8: { title: "Checkout errors", description: "The éclair cache returns stale prices" },
  14: { title: "Éclair dashboards blank", description: "Grafana panels stay empty" },
  21: { title: "Database replica lag", description: "Primary writes fine, the replica is minutes behind" },
  27: { title: "DATABASE failover drill", description: "Scheduled test of the standby" },
  33: { title: "Login page slow", description: "The database connection pool is exhausted under load" },
};

/** Status changes applied to general incident i, by i % 7: covers every status, and a reopen. */
const STATUS_PATHS: Status[][] = [
  [],
  ["INVESTIGATING"],
  ["INVESTIGATING", "RESOLVED"],
  ["INVESTIGATING", "RESOLVED", "CLOSED"],
  [],
  ["INVESTIGATING"],
  ["INVESTIGATING", "RESOLVED", "INVESTIGATING"],
];

const GENERAL_COUNT = 40;
const LOAD_COUNT = 20;

async function createIncident(
  key: string,
  era: Era,
  reporter: TestUser,
  input: { title: string; description: string; priority: Priority; assigneeId: string | null },
) {
  const { createIncident: created } = await write(reporter.token, CREATE, { input });
  const incident: SeededIncident = {
    key,
    id: created.id,
    era,
    createdAt: created.createdAt,
    title: input.title,
    description: input.description,
    priority: input.priority,
    status: "OPEN",
    reporterId: reporter.id,
    assigneeId: input.assigneeId,
  };
  seeded.push(incident);
  keyById.set(incident.id, key);
  return incident;
}

function createGeneral(index: number, era: Era) {
  const text = SEARCHABLE[index] ?? {
    title: `Routine incident ${index}`,
    description: `Nothing special about number ${index}`,
  };
  const reporter = [R(0), R(1), R(2)][index % 3]!;
  const assignee = [server.admin, R(0), R(2), R(3), null][index % 5];
  return createIncident(`g${index}`, era, reporter, {
    ...text,
    priority: PRIORITIES[index % 4]!,
    assigneeId: assignee?.id ?? null,
  });
}

/** Moves a general incident along its status path (and bumps some priorities), one change at a time. */
async function evolveGeneral(incident: SeededIncident) {
  const index = Number(incident.key.slice(1));
  const reporter = responders.find((user) => user.id === incident.reporterId)!;
  if (index % 9 === 4) {
    const { updateIncident } = await write(reporter.token, UPDATE, { id: incident.id, input: { priority: "CRITICAL" } });
    incident.priority = updateIncident.priority;
  }
  for (const status of STATUS_PATHS[index % 7]!) {
    const { updateIncident } = await write(reporter.token, UPDATE, { id: incident.id, input: { status } });
    incident.status = updateIncident.status;
  }
}

/** An incident whose timeline is written strictly in order: notes and status changes interleaved. */
async function seedTimeline() {
  const incident = await createIncident("walk", "C", R(0), {
    title: "Timeline walk",
    description: "",
    priority: "HIGH",
    assigneeId: null,
  });
  const timeline: TimelineEntry[] = [];
  let note = 0;
  const addNotes = async (count: number) => {
    for (let n = 0; n < count; n++) {
      note += 1;
      const author = R(4 + (note % 3));
      const message = `walk note ${note}`;
      await write(author.token, ADD_LOG, { id: incident.id, message });
      timeline.push({ kind: "NOTE", message, authorId: author.id });
    }
  };
  const changeStatus = async (status: Status) => {
    await write(R(0).token, UPDATE, { id: incident.id, input: { status } });
    incident.status = status;
    timeline.push({ kind: "STATUS_CHANGE", toStatus: status, authorId: R(0).id });
  };
  await addNotes(10);
  await changeStatus("INVESTIGATING");
  await addNotes(10);
  await changeStatus("RESOLVED");
  await addNotes(3);
  walkIncident = { id: incident.id, timeline };
}

/** The newest 20 incidents: 10-12 notes each, reporters, assignees and note authors all distinct sets. */
async function seedLoadSet() {
  const load = await inBatches(Array.from({ length: LOAD_COUNT }, (_, j) => j), 5, (j) =>
    createIncident(`load${j}`, "C", [R(0), R(1)][j % 2]!, {
      title: `Load sample ${j}`,
      description: "Statement counting",
      priority: PRIORITIES[(j + 1) % 4]!,
      assigneeId: [R(2).id, R(3).id, null][j % 3]!,
    }),
  );
  const notes = load.flatMap((incident, j) =>
    Array.from({ length: 10 + (j % 3) }, (_, n) => ({ incident, author: R(4 + ((j + n) % 3)), message: `load ${j} note ${n}` })),
  );
  await inBatches(notes, 20, ({ incident, author, message }) =>
    write(author.token, ADD_LOG, { id: incident.id, message }),
  );
}

beforeAll(async () => {
  server = await startTestServer();
  allUsers.push(server.admin);
  responders = [];
  for (let k = 0; k < 7; k++) responders.push(await server.user("RESPONDER", `Responder ${k}`));
  allUsers.push(...responders);
  reader = await server.user("VIEWER", "Reader");
  allUsers.push(reader);

  const indexes = Array.from({ length: GENERAL_COUNT }, (_, i) => i);
  await inBatches(indexes.slice(0, 20), 5, (i) => createGeneral(i, "A"));
  await sleep(15);
  t1 = new Date().toISOString();
  await sleep(15);
  await inBatches(indexes.slice(20), 5, (i) => createGeneral(i, "B"));
  await sleep(15);
  t2 = new Date().toISOString();
  await sleep(15);
  await seedTimeline();
  await sleep(5);
  await seedLoadSet();
  await inBatches(
    seeded.filter((incident) => incident.key.startsWith("g")),
    8,
    evolveGeneral,
  );
}, 120_000);

afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------------------------

describe("the seed", () => {
  it("is what the tests expect, so that every expectation below has something to find", () => {
    expect(seeded).toHaveLength(GENERAL_COUNT + 1 + LOAD_COUNT);
    for (const status of ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"] as const) {
      expect(seeded.some((incident) => incident.status === status)).toBe(true);
    }
    for (const priority of PRIORITIES) expect(seeded.some((incident) => incident.priority === priority)).toBe(true);
    expect(walkIncident.timeline).toHaveLength(25);
  });

  it("reads back as written: fields of every incident match what the mutations returned", async () => {
    const page = await onePage();
    const listed = new Map(page.nodes.map((node: any) => [node.id, node]));
    for (const incident of seeded) {
      const node: any = listed.get(incident.id);
      expect(node, incident.key).toBeDefined();
      expect(node.title).toBe(incident.title);
      expect(node.priority).toBe(incident.priority);
      expect(node.status).toBe(incident.status);
      expect(node.createdAt).toBe(incident.createdAt);
      expect(node.reporter.id).toBe(incident.reporterId);
      expect(node.assignee?.id ?? null).toBe(incident.assigneeId);
    }
  });
});

describe("Relay connections: walking every page", () => {
  it.each([1, 7, 20])("incidents, %i at a time: each incident once, in order, with the full totalCount", async (size) => {
    const reference = (await onePage()).nodes.map((node: { id: string }) => node.id);
    const { ids, totals } = await walk(size, (after) => incidentsPage({ first: size, after }));
    expectEachOnce(ids);
    expect(ids).toEqual(reference);
    expect(sorted(ids)).toEqual(sorted(seeded.map((incident) => incident.id)));
    expect(new Set(totals)).toEqual(new Set([seeded.length]));
  });

  it.each([1, 2, 4])("users, %i at a time: each user once, in order, with the full totalCount", async (size) => {
    const reference = (await usersPage({ first: 100 })).nodes.map((node) => node.id);
    const { ids, totals, nodes } = await walk(size, (after) => usersPage({ first: size, after }));
    expectEachOnce(ids);
    expect(ids).toEqual(reference);
    expect(sorted(ids)).toEqual(sorted(allUsers.map((user) => user.id)));
    expect(new Set(totals)).toEqual(new Set([allUsers.length]));
    for (const node of nodes) {
      const assigned = seeded.filter((incident) => incident.assigneeId === node.id).length;
      expect(node.assignedIncidents.totalCount, node.name).toBe(assigned);
    }
  });

  it.each([1, 4, 50])("Incident.logs, %i at a time: the whole timeline, oldest first", async (size) => {
    const { nodes, totals } = await walk(size, (after) => logsPage({ id: walkIncident.id, first: size, after }));
    expectEachOnce(nodes.map((node) => node.id));
    expect(
      nodes.map((node: any) => ({
        kind: node.kind,
        ...(node.kind === "NOTE" ? { message: node.message } : { toStatus: node.toStatus }),
        authorId: node.author?.id,
      })),
    ).toEqual(walkIncident.timeline);
    const times = nodes.map((node: any) => Date.parse(node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(totals)).toEqual(new Set([walkIncident.timeline.length]));
  });

  it.each([1, 4])("User.assignedIncidents, %i at a time: each assigned incident once, newest first", async (size) => {
    const assignee = R(2);
    const expected = keysWhere((incident) => incident.assigneeId === assignee.id);
    expect(expected.length).toBeGreaterThan(8);
    const reference = (await assignedPage({ id: assignee.id, first: 100 })).nodes.map((node) => node.id);
    const { ids, nodes, totals } = await walk(size, (after) => assignedPage({ id: assignee.id, first: size, after }));
    expectEachOnce(ids);
    expect(ids).toEqual(reference);
    expect(sorted(ids.map(keyOf))).toEqual(expected);
    for (const node of nodes) expect(node.assignee.id).toBe(assignee.id);
    const times = nodes.map((node: any) => Date.parse(node.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(totals)).toEqual(new Set([expected.length]));
  });

  it("User.assignedIncidents filtered by status pages consistently and counts only the matches", async () => {
    const assignee = R(2);
    const statuses: Status[] = ["OPEN", "RESOLVED"];
    const expected = keysWhere((incident) => incident.assigneeId === assignee.id && statuses.includes(incident.status));
    expect(expected.length).toBeGreaterThan(3);
    const { ids, nodes, totals } = await walk(3, (after) => assignedPage({ id: assignee.id, first: 3, after, status: statuses }));
    expectEachOnce(ids);
    expect(sorted(ids.map(keyOf))).toEqual(expected);
    for (const node of nodes) expect(statuses).toContain(node.status);
    expect(new Set(totals)).toEqual(new Set([expected.length]));
  });

  it("resumes right after any edge's cursor, not only after endCursor", async () => {
    const reference = (await onePage()).nodes.map((node: { id: string }) => node.id);
    const first = await incidentsPage({ first: 10 });
    for (const index of [0, 4, 9]) {
      const next = await incidentsPage({ first: 5, after: first.edges[index]!.cursor });
      expect(next.nodes.map((node) => node.id)).toEqual(reference.slice(index + 1, index + 6));
    }
    const logs = await logsPage({ id: walkIncident.id, first: 6 });
    const resumed = await logsPage({ id: walkIncident.id, first: 3, after: logs.edges[2]!.cursor });
    expect(resumed.nodes.map((node) => node.id)).toEqual(logs.nodes.slice(3, 6).map((node) => node.id));
  });
});

describe("page size: first is 0 to 100", () => {
  const connections = [
    {
      name: "incidents",
      query: `query($first: Int) { incidents(first: $first) { ${PAGE} nodes { id } } }`,
      variables: () => ({}),
      pick: (data: any) => data.incidents,
      total: () => seeded.length,
      defaultSize: 20,
    },
    {
      name: "users",
      query: `query($first: Int) { users(first: $first) { ${PAGE} nodes { id } } }`,
      variables: () => ({}),
      pick: (data: any) => data.users,
      total: () => allUsers.length,
      defaultSize: 20,
    },
    {
      name: "Incident.logs",
      query: `query($id: ID!, $first: Int) { incident(id: $id) { logs(first: $first) { ${PAGE} nodes { id } } } }`,
      variables: () => ({ id: walkIncident.id }),
      pick: (data: any) => data.incident.logs,
      total: () => walkIncident.timeline.length,
      defaultSize: 50,
    },
    {
      name: "User.assignedIncidents",
      query: `query($id: ID!, $first: Int) { user(id: $id) { assignedIncidents(first: $first) { ${PAGE} nodes { id } } } }`,
      variables: () => ({ id: R(2).id }),
      pick: (data: any) => data.user.assignedIncidents,
      total: () => seeded.filter((incident) => incident.assigneeId === R(2).id).length,
      defaultSize: 20,
    },
  ];

  it.each(connections)("$name: first 0 returns no nodes, says more exist, and still counts them", async (connection) => {
    const page: Page = connection.pick(await read(connection.query, { ...connection.variables(), first: 0 }));
    checkPageShape(page, null);
    expect(page.nodes).toEqual([]);
    expect(page.edges).toEqual([]);
    expect(page.pageInfo.startCursor).toBeNull();
    expect(page.pageInfo.endCursor).toBeNull();
    expect(page.pageInfo.hasNextPage).toBe(true);
    expect(page.totalCount).toBe(connection.total());
  });

  it.each(connections)("$name: first 100 is accepted", async (connection) => {
    const page: Page = connection.pick(await read(connection.query, { ...connection.variables(), first: 100 }));
    checkPageShape(page, null);
    expect(page.nodes).toHaveLength(Math.min(100, connection.total()));
    expect(page.pageInfo.hasNextPage).toBe(connection.total() > 100);
  });

  it.each(connections)("$name: first omitted uses the schema default", async (connection) => {
    const page: Page = connection.pick(await read(connection.query, connection.variables()));
    expect(page.nodes).toHaveLength(Math.min(connection.defaultSize, connection.total()));
    expect(page.pageInfo.hasNextPage).toBe(connection.total() > connection.defaultSize);
  });

  it.each(connections.flatMap((connection) => [-1, 101, 1000].map((first) => ({ ...connection, first }))))(
    "$name: first $first is BAD_USER_INPUT naming first",
    async (connection) => {
      const response = await server.gql(connection.query, { ...connection.variables(), first: connection.first }, reader.token);
      expectBadUserInput(response, "first");
    },
  );

  it("first 0 on a filter that matches nothing says there is no next page", async () => {
    const page = await incidentsPage({ first: 0, filter: { search: "nosuchwordanywhere" } });
    expect(page.nodes).toEqual([]);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(page.totalCount).toBe(0);
  });
});

describe("cursors this server did not issue are BAD_USER_INPUT", () => {
  let realCursor: string;

  beforeAll(async () => {
    realCursor = (await incidentsPage({ first: 5 })).pageInfo.endCursor!;
    // The cursor is good, so whatever is refused below is refused for the change that was made to it.
    expect((await incidentsPage({ first: 5, after: realCursor })).nodes).toHaveLength(5);
  });

  const refusedByIncidents = async (after: string, orderBy?: Record<string, unknown>) =>
    expectBadUserInput(await server.gql(INCIDENTS, { first: 5, after, orderBy }, reader.token), "after");

  it.each([
    ["a word", "garbage"],
    ["the empty string", ""],
    ["a space", " "],
    ["a number", "0"],
    ["null spelt out", "null"],
    ["base64 of text", "Zm9vYmFy"],
    ["two dotted parts", "a.b"],
    ["three dotted parts", "a.b.c"],
    ["non-ASCII", "\u00e9\u00e9\u00e9"],
    ["2,000 characters", "x".repeat(2000)],
  ])("garbage: %s", async (_label, cursor) => {
    await refusedByIncidents(cursor);
  });

  it("a real cursor with any one character changed", async () => {
    const dot = realCursor.indexOf(".");
    const positions = [0, 1, Math.floor(realCursor.length / 3), dot > 0 ? dot - 1 : 2, dot + 1, realCursor.length - 1];
    for (const position of new Set(positions)) {
      const tampered = changeCharacter(realCursor, position);
      expect(tampered).not.toBe(realCursor);
      await refusedByIncidents(tampered);
    }
    await refusedByIncidents(realCursor.slice(0, -1));
    await refusedByIncidents(realCursor.slice(1));
  });

  it("a real cursor with characters added to it, or its signature spelt another way", async () => {
    const [payload, signature] = realCursor.split(".") as [string, string];
    const variants = [
      `${realCursor}x`,
      `${realCursor}A`,
      `${realCursor}==`,
      `${realCursor}\n`,
      `${payload}.${signature.slice(0, 4)} ${signature.slice(4)}`,
      `${payload}.${signature.slice(0, 8)}*${signature.slice(8)}`,
      `x${realCursor}`,
    ];
    // The same signature in the standard base64 alphabet, when this server's cursors give us one that differs.
    const edges = (await incidentsPage({ first: 100 })).edges;
    const urlSafe = edges.map((edge) => edge.cursor).find((cursor) => /[-_]/.test(cursor.split(".")[1]!));
    if (urlSafe) {
      const [p, s] = urlSafe.split(".") as [string, string];
      variants.push(`${p}.${s.replace(/-/g, "+").replace(/_/g, "/")}`);
    }
    const accepted: string[] = [];
    for (const variant of variants) {
      const response = await server.gql(INCIDENTS, { first: 5, after: variant }, reader.token);
      if (response.errors?.[0]?.extensions?.code !== "BAD_USER_INPUT") accepted.push(JSON.stringify(variant));
    }
    expect(accepted, "cursors that differ from every issued cursor but were accepted").toEqual([]);
  });

  it("base64 of JSON made by the client", async () => {
    const [payload, signature] = realCursor.split(".");
    const someone = byKey("g5");
    const forgedKey = ["incidents:createdAt:desc", Date.parse(someone.createdAt), Number(someone.id)];
    const forgeries = [
      Buffer.from(JSON.stringify({ id: someone.id })).toString("base64"),
      base64url({ createdAt: someone.createdAt, id: someone.id }),
      base64url(forgedKey),
      `${base64url(forgedKey)}.${signature}`,
      `${base64url(forgedKey)}.AAAAAAAAAAAAAAAA`,
      Buffer.from(payload!, "base64url").toString("utf8"),
      Buffer.from(`cursor:${someone.id}`).toString("base64"),
      `${payload}.`,
      `.${signature}`,
    ];
    for (const forged of forgeries) await refusedByIncidents(forged);
  });

  it("a cursor issued for another ordering", async () => {
    await refusedByIncidents(realCursor, { field: "CREATED_AT", direction: "ASC" });
    await refusedByIncidents(realCursor, { field: "UPDATED_AT", direction: "DESC" });
    await refusedByIncidents(realCursor, { field: "PRIORITY", direction: "DESC" });
    const byPriority = (await incidentsPage({ first: 3, orderBy: { field: "PRIORITY", direction: "ASC" } })).pageInfo.endCursor!;
    await refusedByIncidents(byPriority);
    await refusedByIncidents(byPriority, { field: "PRIORITY", direction: "DESC" });
    await refusedByIncidents(byPriority, { field: "UPDATED_AT", direction: "ASC" });
  });

  it("a cursor issued by another connection", async () => {
    const usersCursor = (await usersPage({ first: 2 })).pageInfo.endCursor!;
    const logsCursor = (await logsPage({ id: walkIncident.id, first: 2 })).pageInfo.endCursor!;
    const assignedCursor = (await assignedPage({ id: R(2).id, first: 2 })).pageInfo.endCursor!;

    await refusedByIncidents(usersCursor);
    await refusedByIncidents(logsCursor);
    await refusedByIncidents(assignedCursor);
    expectBadUserInput(await server.gql(USERS, { first: 2, after: realCursor }, reader.token), "after");
    expectBadUserInput(await server.gql(USERS, { first: 2, after: logsCursor }, reader.token), "after");
    expectBadUserInput(await server.gql(LOGS, { id: walkIncident.id, first: 2, after: realCursor }, reader.token), "after");
    expectBadUserInput(await server.gql(LOGS, { id: walkIncident.id, first: 2, after: usersCursor }, reader.token), "after");
    expectBadUserInput(await server.gql(ASSIGNED, { id: R(2).id, first: 2, after: realCursor }, reader.token), "after");
    expectBadUserInput(await server.gql(ASSIGNED, { id: R(2).id, first: 2, after: logsCursor }, reader.token), "after");
  });

  it("a cursor issued by another server instance", async () => {
    const other = await startTestServer();
    try {
      const created = await other.gql(CREATE, { input: { title: "Elsewhere" } }, other.admin.token);
      expectNoErrors(created);
      const foreign = await other.gql(INCIDENTS, { first: 1 }, other.admin.token);
      expectNoErrors(foreign);
      const foreignUsers = await other.gql(USERS, { first: 1 }, other.admin.token);
      await refusedByIncidents(foreign.data.incidents.pageInfo.endCursor);
      expectBadUserInput(
        await server.gql(USERS, { first: 2, after: foreignUsers.data.users.pageInfo.endCursor }, reader.token),
        "after",
      );
    } finally {
      await other.close();
    }
  });
});

describe("ordering", () => {
  const orderings = (["CREATED_AT", "UPDATED_AT", "PRIORITY"] as const).flatMap((field) =>
    (["ASC", "DESC"] as const).map((direction) => ({ field, direction })),
  );
  const sortKey = (node: any, field: string) =>
    field === "PRIORITY" ? URGENCY[node.priority as Priority] : Date.parse(field === "CREATED_AT" ? node.createdAt : node.updatedAt);

  it.each(orderings)("$field $direction sorts every incident by its key", async ({ field, direction }) => {
    const { nodes } = await onePage(undefined, { field, direction });
    expectEachOnce(nodes.map((node: any) => node.id));
    expect(nodes).toHaveLength(seeded.length);
    const keys = nodes.map((node: any) => sortKey(node, field));
    const expected = [...keys].sort((a, b) => (direction === "ASC" ? a - b : b - a));
    expect(keys).toEqual(expected);
  });

  it.each(orderings)("$field $direction pages 7 at a time exactly as one page", async ({ field, direction }) => {
    const orderBy = { field, direction };
    const reference = (await onePage(undefined, orderBy)).nodes.map((node: any) => node.id);
    const { ids, totals } = await walk(7, (after) => incidentsPage({ first: 7, after, orderBy }));
    expect(ids).toEqual(reference);
    expect(new Set(totals)).toEqual(new Set([seeded.length]));
  });

  it.each(["CREATED_AT", "UPDATED_AT", "PRIORITY"] as const)(
    "%s breaks ties consistently: DESC is exactly ASC reversed",
    async (field) => {
      const ascending = (await onePage(undefined, { field, direction: "ASC" })).nodes.map((node: any) => node.id);
      const descending = (await onePage(undefined, { field, direction: "DESC" })).nodes.map((node: any) => node.id);
      expect(descending).toEqual([...ascending].reverse());
    },
  );

  it("PRIORITY DESC puts CRITICAL first, then HIGH, MEDIUM and LOW, each group whole", async () => {
    const { nodes } = await onePage(undefined, { field: "PRIORITY", direction: "DESC" });
    const groups = nodes.map((node: any) => node.priority).filter((p: string, i: number, all: string[]) => p !== all[i - 1]);
    expect(groups).toEqual(["CRITICAL", "HIGH", "MEDIUM", "LOW"]);
    for (const priority of PRIORITIES) {
      expect(nodes.filter((node: any) => node.priority === priority).map((node: any) => keyOf(node.id)).sort()).toEqual(
        keysWhere((incident) => incident.priority === priority),
      );
    }
  });

  it("PRIORITY pages cut inside a group of equal priority without losing or repeating anything", async () => {
    const orderBy = { field: "PRIORITY", direction: "DESC" };
    for (const size of [1, 3]) {
      const { ids } = await walk(size, (after) => incidentsPage({ first: size, after, orderBy }));
      expect(ids).toEqual((await onePage(undefined, orderBy)).nodes.map((node: any) => node.id));
    }
  });

  it("defaults to CREATED_AT DESC: newest first", async () => {
    const implicit = (await onePage()).nodes.map((node: any) => node.id);
    const explicit = (await onePage(undefined, { field: "CREATED_AT", direction: "DESC" })).nodes.map((node: any) => node.id);
    expect(implicit).toEqual(explicit);
    const created = implicit.map((id: string) => Date.parse(byKey(keyOf(id)).createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    // The load set was created last, era A first.
    expect(keyOf(implicit[0]!)).toMatch(/^load/);
    expect(byKey(keyOf(implicit.at(-1)!)).era).toBe("A");
  });

  it("UPDATED_AT differs from CREATED_AT once incidents have been changed", async () => {
    const byCreated = (await onePage(undefined, { field: "CREATED_AT", direction: "ASC" })).nodes.map((node: any) => node.id);
    const byUpdated = (await onePage(undefined, { field: "UPDATED_AT", direction: "ASC" })).nodes.map((node: any) => node.id);
    expect(byUpdated).not.toEqual(byCreated);
    // Changed general incidents were updated after the load set was created, so they come last.
    const last = byUpdated.slice(-5).map(keyOf);
    for (const key of last) expect(key).toMatch(/^g/);
  });
});

describe("filters", () => {
  const generalSearch = {
    eclair: ["g14", "g3", "g8"],
    database: ["g21", "g27", "g33"],
  };

  it.each([
    { name: "status [OPEN]", filter: () => ({ status: ["OPEN"] }), expected: (i: SeededIncident) => i.status === "OPEN" },
    {
      name: "status [RESOLVED, CLOSED]",
      filter: () => ({ status: ["RESOLVED", "CLOSED"] }),
      expected: (i: SeededIncident) => i.status === "RESOLVED" || i.status === "CLOSED",
    },
    {
      name: "status: all four",
      filter: () => ({ status: ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"] }),
      expected: () => true,
    },
    { name: "priority [LOW]", filter: () => ({ priority: ["LOW"] }), expected: (i: SeededIncident) => i.priority === "LOW" },
    {
      name: "priority [CRITICAL, HIGH]",
      filter: () => ({ priority: ["CRITICAL", "HIGH"] }),
      expected: (i: SeededIncident) => i.priority === "CRITICAL" || i.priority === "HIGH",
    },
    {
      name: "assigneeId of a responder",
      filter: () => ({ assigneeId: R(3).id }),
      expected: (i: SeededIncident) => i.assigneeId === R(3).id,
    },
    {
      name: "assigneeId of the admin",
      filter: () => ({ assigneeId: server.admin.id }),
      expected: (i: SeededIncident) => i.assigneeId === server.admin.id,
    },
    {
      name: "reporterId",
      filter: () => ({ reporterId: R(1).id }),
      expected: (i: SeededIncident) => i.reporterId === R(1).id,
    },
    { name: "createdAfter t1", filter: () => ({ createdAfter: t1 }), expected: (i: SeededIncident) => i.era !== "A" },
    { name: "createdBefore t1", filter: () => ({ createdBefore: t1 }), expected: (i: SeededIncident) => i.era === "A" },
    {
      name: "createdAfter t1 and createdBefore t2",
      filter: () => ({ createdAfter: t1, createdBefore: t2 }),
      expected: (i: SeededIncident) => i.era === "B",
    },
    { name: "createdAfter t2", filter: () => ({ createdAfter: t2 }), expected: (i: SeededIncident) => i.era === "C" },
    {
      name: "status and priority",
      filter: () => ({ status: ["INVESTIGATING", "RESOLVED"], priority: ["CRITICAL", "HIGH"] }),
      expected: (i: SeededIncident) =>
        ["INVESTIGATING", "RESOLVED"].includes(i.status) && ["CRITICAL", "HIGH"].includes(i.priority),
    },
    {
      name: "assignee and status",
      filter: () => ({ assigneeId: R(2).id, status: ["OPEN"] }),
      expected: (i: SeededIncident) => i.assigneeId === R(2).id && i.status === "OPEN",
    },
    {
      name: "reporter, priority and createdBefore",
      filter: () => ({ reporterId: R(0).id, priority: ["MEDIUM", "LOW"], createdBefore: t2 }),
      expected: (i: SeededIncident) =>
        i.reporterId === R(0).id && ["MEDIUM", "LOW"].includes(i.priority) && i.era !== "C",
    },
    {
      name: "search and status",
      filter: () => ({ search: "database", status: ["INVESTIGATING"] }),
      expected: (i: SeededIncident) => generalSearch.database.includes(i.key) && i.status === "INVESTIGATING",
    },
    {
      name: "search, reporter and the date window",
      filter: () => ({ search: "éclair", reporterId: R(2).id, createdBefore: t1 }),
      expected: (i: SeededIncident) => generalSearch.eclair.includes(i.key) && i.reporterId === R(2).id && i.era === "A",
    },
  ])("$name", async ({ filter, expected }) => {
    const want = keysWhere(expected);
    expect(want.length, "the seed must give this filter something to find").toBeGreaterThan(0);
    expect(await keysMatching(filter())).toEqual(want);
  });

  describe("search: every word, in title or description, ignoring case", () => {
    it.each([
      ["éclair", generalSearch.eclair],
      ["ÉCLAIR", generalSearch.eclair],
      ["Éclair", generalSearch.eclair],
      ["ÉCLAIR gateway", ["g3"]],
      ["éclair STALE", ["g8"]],
      ["database", generalSearch.database],
      ["DataBase", generalSearch.database],
      ["database replica", ["g21"]],
      ["failover standby", ["g27"]],
      ["pool DATABASE", ["g33"]],
      ["  database \t  Replica  ", ["g21"]],
      ["database nosuchword", []],
      ["éclair database", []],
    ])("%j", async (search, keys) => {
      expect(await keysMatching({ search })).toEqual(sorted(keys));
    });
  });

  it.each([
    ["assigneeId", "abc"],
    ["assigneeId", "999999999"],
    ["assigneeId", "0"],
    ["assigneeId", "-1"],
    ["assigneeId", ""],
    ["reporterId", "abc"],
    ["reporterId", "999999999"],
    ["reporterId", "1.5"],
  ])("%s %j names nothing: an empty page, not an error", async (field, id) => {
    const response = await server.gql(INCIDENTS, { first: 10, filter: { [field]: id } }, reader.token);
    expectNoErrors(response);
    const page: Page = response.data.incidents;
    checkPageShape(page, null);
    expect(page.nodes).toEqual([]);
    expect(page.totalCount).toBe(0);
    expect(page.pageInfo.hasNextPage).toBe(false);
  });

  it("an existing user with no incidents gives an empty page", async () => {
    expect(await keysMatching({ assigneeId: reader.id })).toEqual([]);
    expect(await keysMatching({ reporterId: reader.id })).toEqual([]);
  });

  it.each([
    {
      name: "status, PRIORITY DESC, 4 a page",
      filter: () => ({ status: ["OPEN", "INVESTIGATING"] }),
      orderBy: { field: "PRIORITY", direction: "DESC" },
      size: 4,
      expected: (i: SeededIncident) => i.status === "OPEN" || i.status === "INVESTIGATING",
    },
    {
      name: "assignee, UPDATED_AT ASC, 3 a page",
      filter: () => ({ assigneeId: R(2).id }),
      orderBy: { field: "UPDATED_AT", direction: "ASC" },
      size: 3,
      expected: (i: SeededIncident) => i.assigneeId === R(2).id,
    },
    {
      name: "priority and createdAfter, CREATED_AT ASC, 2 a page",
      filter: () => ({ priority: ["HIGH", "CRITICAL"], createdAfter: t1 }),
      orderBy: { field: "CREATED_AT", direction: "ASC" },
      size: 2,
      expected: (i: SeededIncident) => ["HIGH", "CRITICAL"].includes(i.priority) && i.era !== "A",
    },
    {
      name: "reporter and search, default order, 3 a page",
      filter: () => ({ reporterId: R(0).id, search: "ROUTINE" }),
      orderBy: undefined,
      size: 3,
      expected: (i: SeededIncident) => i.reporterId === R(0).id && i.title.startsWith("Routine"),
    },
  ])("with pagination ($name): consistent totalCount, each match once", async ({ filter, orderBy, size, expected }) => {
    const want = keysWhere(expected);
    expect(want.length).toBeGreaterThan(size);
    const reference = (await onePage(filter(), orderBy)).nodes.map((node: any) => node.id);
    const { ids, totals } = await walk(size, (after) => incidentsPage({ first: size, after, filter: filter(), orderBy }));
    expectEachOnce(ids);
    expect(ids).toEqual(reference);
    expect(sorted(ids.map(keyOf))).toEqual(want);
    expect(new Set(totals)).toEqual(new Set([want.length]));
  });
});

describe("loading: a fixed number of SQL statements whatever the page sizes", () => {
  const INCIDENT_TREE = `query Tree($n: Int!, $k: Int!) {
    incidents(first: $n) {
      nodes {
        id
        reporter { name }
        assignee { name }
        logs(first: $k) { nodes { message author { name } } }
      }
    }
  }`;

  const INCIDENT_TREE_WITH_PAGES = `query TreeWithPages($n: Int!, $k: Int!) {
    incidents(first: $n) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id reporter { name } assignee { name } } }
      nodes {
        id
        logs(first: $k) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { cursor node { message author { name } } }
        }
      }
    }
  }`;

  const USER_TREE = `query Users($n: Int!, $k: Int!) {
    users(first: $n) { nodes { assignedIncidents(first: $k) { nodes { id } } } }
  }`;

  const USER_TREE_WITH_PAGES = `query UsersWithPages($n: Int!, $k: Int!) {
    users(first: $n) {
      totalCount
      nodes {
        name
        assignedIncidents(first: $k) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { id reporter { name } assignee { name } }
        }
      }
    }
  }`;

  it("incidents with reporter, assignee and K logs with authors: (N=2, K=2) costs the same as (N=20, K=10)", async () => {
    const small = await countStatements(INCIDENT_TREE, { n: 2, k: 2 });
    const large = await countStatements(INCIDENT_TREE, { n: 20, k: 10 });

    // The large page really is large: 20 incidents of 10 entries, written by several distinct users.
    expect(small.data.incidents.nodes).toHaveLength(2);
    for (const node of small.data.incidents.nodes) expect(node.logs.nodes).toHaveLength(2);
    const nodes = large.data.incidents.nodes;
    expect(nodes).toHaveLength(20);
    for (const node of nodes) expect(node.logs.nodes).toHaveLength(10);
    const names = (list: (string | undefined)[]) => new Set(list.filter(Boolean));
    expect(names(nodes.map((node: any) => node.reporter.name)).size).toBeGreaterThanOrEqual(2);
    expect(names(nodes.map((node: any) => node.assignee?.name)).size).toBeGreaterThanOrEqual(2);
    expect(names(nodes.flatMap((node: any) => node.logs.nodes.map((log: any) => log.author?.name))).size).toBeGreaterThanOrEqual(3);

    expect(small.statements).toBeGreaterThan(0);
    expect(large.statements, `N=2: ${small.statements}, N=20: ${large.statements}`).toBe(small.statements);
  });

  it("the same with totalCount, pageInfo and edges selected at both levels", async () => {
    const small = await countStatements(INCIDENT_TREE_WITH_PAGES, { n: 2, k: 2 });
    const medium = await countStatements(INCIDENT_TREE_WITH_PAGES, { n: 7, k: 5 });
    const large = await countStatements(INCIDENT_TREE_WITH_PAGES, { n: 20, k: 10 });
    expect(large.data.incidents.nodes).toHaveLength(20);
    expect(large.data.incidents.totalCount).toBe(seeded.length);
    for (const node of large.data.incidents.nodes) {
      expect(node.logs.edges).toHaveLength(10);
      expect(node.logs.totalCount).toBeGreaterThanOrEqual(10);
    }
    expect(small.statements).toBeGreaterThan(0);
    expect([medium.statements, large.statements]).toEqual([small.statements, small.statements]);
  });

  it("users with their assigned incidents: (N=2, K=1) costs the same as (N=20, K=10)", async () => {
    const small = await countStatements(USER_TREE, { n: 2, k: 1 });
    const large = await countStatements(USER_TREE, { n: 20, k: 10 });
    expect(small.data.users.nodes).toHaveLength(2);
    for (const node of small.data.users.nodes) expect(node.assignedIncidents.nodes).toHaveLength(1);
    expect(large.data.users.nodes).toHaveLength(allUsers.length);
    const withIncidents = large.data.users.nodes.filter((node: any) => node.assignedIncidents.nodes.length > 0);
    expect(withIncidents.length).toBeGreaterThanOrEqual(4);
    expect(small.statements).toBeGreaterThan(0);
    expect(large.statements, `N=2: ${small.statements}, N=20: ${large.statements}`).toBe(small.statements);
  });

  it("users with counted pages of assigned incidents and their people: the same for any N and K", async () => {
    const small = await countStatements(USER_TREE_WITH_PAGES, { n: 2, k: 1 });
    const large = await countStatements(USER_TREE_WITH_PAGES, { n: 20, k: 10 });
    expect(large.data.users.nodes).toHaveLength(allUsers.length);
    expect(small.statements).toBeGreaterThan(0);
    expect(large.statements, `N=2: ${small.statements}, N=20: ${large.statements}`).toBe(small.statements);
  });
});

describe("representation", () => {
  it("IDs are strings and times are ISO-8601 UTC with milliseconds", async () => {
    const closed = seeded.find((incident) => incident.status === "CLOSED")!;
    const data = await read(
      `query($id: ID!) {
        incident(id: $id) {
          id createdAt updatedAt acknowledgedAt resolvedAt closedAt
          reporter { id createdAt }
          assignee { id createdAt }
          logs { nodes { id createdAt incident { id } author { id } } }
        }
        users(first: 100) { nodes { id createdAt } }
        incidents(first: 100) { nodes { id createdAt updatedAt } }
      }`,
      { id: closed.id },
    );
    const incident = data.incident;
    const ids = [
      incident.id,
      incident.reporter.id,
      ...(incident.assignee ? [incident.assignee.id] : []),
      ...incident.logs.nodes.flatMap((log: any) => [log.id, log.incident.id, log.author.id]),
      ...data.users.nodes.map((user: any) => user.id),
      ...data.incidents.nodes.map((node: any) => node.id),
    ];
    for (const id of ids) expect(typeof id).toBe("string");

    const times = [
      incident.createdAt,
      incident.updatedAt,
      incident.acknowledgedAt,
      incident.resolvedAt,
      incident.closedAt,
      incident.reporter.createdAt,
      ...incident.logs.nodes.map((log: any) => log.createdAt),
      ...data.users.nodes.map((user: any) => user.createdAt),
      ...data.incidents.nodes.flatMap((node: any) => [node.createdAt, node.updatedAt]),
    ];
    expect(incident.logs.nodes.length).toBeGreaterThanOrEqual(3);
    for (const time of times) {
      expect(time).toMatch(ISO_UTC_MS);
      expect(new Date(time).toISOString()).toBe(time);
    }
  });
});
