import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type GraphQLResponse, type TestServer, type TestUser } from "./support/server.js";

// Incident rules of CONTRACT.md section 5, and the error codes of section 6, exercised over real HTTP.

type Status = "OPEN" | "INVESTIGATING" | "RESOLVED" | "CLOSED";
type Priority = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW";

interface Log {
  id: string;
  kind: string;
  message: string;
  fromStatus: Status | null;
  toStatus: Status | null;
  createdAt: string;
  author: { id: string } | null;
}

interface Incident {
  id: string;
  title: string;
  description: string;
  status: Status;
  priority: Priority;
  version: number;
  allowedTransitions: Status[];
  createdAt: string;
  updatedAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  reporter: { id: string };
  assignee: { id: string } | null;
  logs: { totalCount: number; nodes: Log[] };
}

const ISO_MS_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATUSES: Status[] = ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"];
/** Section 5's table, and no other transition. */
const ALLOWED: Record<Status, Status[]> = {
  OPEN: ["INVESTIGATING"],
  INVESTIGATING: ["RESOLVED"],
  RESOLVED: ["INVESTIGATING", "CLOSED"],
  CLOSED: [],
};
/** The shortest allowed path from a new (OPEN) incident to each status. */
const PATH_TO: Record<Status, Status[]> = {
  OPEN: [],
  INVESTIGATING: ["INVESTIGATING"],
  RESOLVED: ["INVESTIGATING", "RESOLVED"],
  CLOSED: ["INVESTIGATING", "RESOLVED", "CLOSED"],
};
/** Ids that name nothing, in every form a client might send. */
const MISSING_IDS = ["999999", "abc", "-1", "1.5", ""];

const FIELDS = `
  id title description status priority version allowedTransitions
  createdAt updatedAt acknowledgedAt resolvedAt closedAt
  reporter { id } assignee { id }
  logs { totalCount nodes { id kind message fromStatus toStatus createdAt author { id } } }
`;

let server: TestServer;
let responder: TestUser;
let colleague: TestUser;
let viewer: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER", "Rita Responder");
  colleague = await server.user("RESPONDER", "Colin Colleague");
  viewer = await server.user("VIEWER", "Vera Viewer");
});
afterAll(() => server?.close());

// ---------------------------------------------------------------------------------------------------------------
// helpers

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for the server's millisecond clock to move between two writes. */
const tick = () => sleep(5);

function createRaw(input: Record<string, unknown>, token = responder.token) {
  return server.gql<{ createIncident: Incident }>(
    `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { ${FIELDS} } }`,
    { input },
    token,
  );
}

async function create(input: Record<string, unknown> = {}, token = responder.token): Promise<Incident> {
  const result = await createRaw({ title: "Database latency spike", ...input }, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.createIncident;
}

function updateRaw(id: string, input: Record<string, unknown>, token = responder.token) {
  return server.gql<{ updateIncident: Incident }>(
    `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { ${FIELDS} } }`,
    { id, input },
    token,
  );
}

async function update(id: string, input: Record<string, unknown>, token = responder.token): Promise<Incident> {
  const result = await updateRaw(id, input, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.updateIncident;
}

async function read(id: string, token = responder.token): Promise<Incident | null> {
  const result = await server.gql<{ incident: Incident | null }>(
    `query($id: ID!) { incident(id: $id) { ${FIELDS} } }`,
    { id },
    token,
  );
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.incident;
}

async function mustRead(id: string): Promise<Incident> {
  const incident = await read(id);
  expect(incident).not.toBeNull();
  return incident!;
}

function addLogRaw(incidentId: string, message: string, token = responder.token) {
  return server.gql<{ addIncidentLog: Log }>(
    `mutation($incidentId: ID!, $message: String!) {
       addIncidentLog(incidentId: $incidentId, message: $message) {
         id kind message fromStatus toStatus createdAt author { id }
       }
     }`,
    { incidentId, message },
    token,
  );
}

function deleteRaw(id: string, token = server.admin.token) {
  return server.gql<{ deleteIncident: string }>(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id }, token);
}

async function incidentCount(): Promise<number> {
  const result = await server.gql(`{ incidents(first: 0) { totalCount } }`, {}, responder.token);
  expect(result.errors).toBeUndefined();
  return result.data.incidents.totalCount;
}

/** A new incident walked along allowed transitions to `status`. */
async function createIn(status: Status, input: Record<string, unknown> = {}): Promise<Incident> {
  let incident = await create(input);
  for (const step of PATH_TO[status]) incident = await update(incident.id, { status: step });
  expect(incident.status).toBe(status);
  return incident;
}

/** The one error of a response, asserting its code (and field when given) and that no data came back. */
function expectError(response: GraphQLResponse, code: string, field?: string) {
  const error = onlyError(response);
  expect(error.extensions?.code, error.message).toBe(code);
  if (field !== undefined) expect(error.extensions?.field).toBe(field);
  expect(response.data ?? null).toBeNull();
  return error;
}

/** The incident has not changed at all: same fields, same version, same timeline. */
async function expectUnchanged(before: Incident) {
  expect(await read(before.id)).toEqual(before);
}

function expectTimestamp(value: string | null | undefined) {
  expect(value).toMatch(ISO_MS_UTC);
}

const kinds = (incident: Incident) => incident.logs.nodes.map((log) => log.kind);
const newLogs = (before: Incident, after: Incident) => after.logs.nodes.slice(before.logs.nodes.length);
const sorted = (values: readonly string[]) => [...values].sort();

// ---------------------------------------------------------------------------------------------------------------

describe("createIncident", () => {
  it("creates an OPEN incident at version 1, reported by the caller, with the defaults", async () => {
    const incident = await create({ title: "Checkout returns 502" });
    expect(incident).toMatchObject({
      title: "Checkout returns 502",
      description: "",
      priority: "MEDIUM",
      status: "OPEN",
      version: 1,
      reporter: { id: responder.id },
      assignee: null,
      allowedTransitions: ["INVESTIGATING"],
      acknowledgedAt: null,
      resolvedAt: null,
      closedAt: null,
    });
    expectTimestamp(incident.createdAt);
    expectTimestamp(incident.updatedAt);
    expect(await read(incident.id)).toEqual(incident);
  });

  it("makes whoever calls it the reporter", async () => {
    const byAdmin = await create({}, server.admin.token);
    expect(byAdmin.reporter.id).toBe(server.admin.id);
    const byColleague = await create({}, colleague.token);
    expect(byColleague.reporter.id).toBe(colleague.id);
  });

  it("keeps a given description and priority", async () => {
    const incident = await create({ description: "p99 above 2s since 10:02", priority: "CRITICAL" });
    expect(incident.description).toBe("p99 above 2s since 10:02");
    expect(incident.priority).toBe("CRITICAL");
  });

  it("trims the title", async () => {
    const incident = await create({ title: "  \t Disk full on db-1 \n " });
    expect(incident.title).toBe("Disk full on db-1");
  });

  it("accepts a title of exactly 200 characters, also when padded with spaces", async () => {
    const title = "t".repeat(200);
    expect((await create({ title })).title).toBe(title);
    expect((await create({ title: `   ${title}   ` })).title).toBe(title);
  });

  it.each([
    ["201 characters", "t".repeat(201)],
    ["whitespace only", "   \t  "],
    ["empty", ""],
  ])("refuses a title that is %s with BAD_USER_INPUT on field title", async (_, title) => {
    const count = await incidentCount();
    expectError(await createRaw({ title }), "BAD_USER_INPUT", "title");
    expect(await incidentCount()).toBe(count);
  });

  it("accepts a description of 10,000 characters and refuses 10,001", async () => {
    const description = "d".repeat(10_000);
    expect((await create({ description })).description).toBe(description);

    const count = await incidentCount();
    expectError(await createRaw({ title: "Too long", description: `${description}d` }), "BAD_USER_INPUT", "description");
    expect(await incidentCount()).toBe(count);
  });

  describe("assignee", () => {
    it("may be an active RESPONDER", async () => {
      const incident = await create({ assigneeId: colleague.id });
      expect(incident.assignee).toEqual({ id: colleague.id });
    });

    it("may be an active ADMIN", async () => {
      const incident = await create({ assigneeId: server.admin.id });
      expect(incident.assignee).toEqual({ id: server.admin.id });
    });

    it("may not be a VIEWER (BAD_USER_INPUT on assigneeId)", async () => {
      const count = await incidentCount();
      expectError(await createRaw({ title: "x", assigneeId: viewer.id }), "BAD_USER_INPUT", "assigneeId");
      expect(await incidentCount()).toBe(count);
    });

    it("may not be a deactivated RESPONDER (BAD_USER_INPUT on assigneeId)", async () => {
      const gone = await server.user("RESPONDER", "Gone Responder");
      const deactivated = await server.gql(
        `mutation($id: ID!) { updateUser(id: $id, input: { active: false }) { active } }`,
        { id: gone.id },
        server.admin.token,
      );
      expect(deactivated.data?.updateUser.active).toBe(false);

      const count = await incidentCount();
      expectError(await createRaw({ title: "x", assigneeId: gone.id }), "BAD_USER_INPUT", "assigneeId");
      expect(await incidentCount()).toBe(count);
    });

    it.each(["999999", "abc"])("that names nothing (%j) is NOT_FOUND", async (assigneeId) => {
      const count = await incidentCount();
      expectError(await createRaw({ title: "x", assigneeId }), "NOT_FOUND");
      expect(await incidentCount()).toBe(count);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("status state machine", () => {
  const pairs = STATUSES.flatMap((from) =>
    STATUSES.filter((to) => to !== from).map((to) => ({
      from,
      to,
      allowed: ALLOWED[from].includes(to),
      verb: ALLOWED[from].includes(to) ? "accepts" : "rejects",
    })),
  );

  it("has 12 ordered pairs of distinct statuses, 4 of them allowed", () => {
    expect(pairs).toHaveLength(12);
    expect(pairs.filter((pair) => pair.allowed)).toHaveLength(4);
  });

  it.each(pairs.map((pair) => [`${pair.verb} ${pair.from} -> ${pair.to}`, pair] as const))("%s", async (_, { from, to, allowed }) => {
    const before = await mustRead((await createIn(from)).id);
    const response = await updateRaw(before.id, { status: to });

    if (allowed) {
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      const after = response.data!.updateIncident;
      expect(after.status).toBe(to);
      expect(after.version).toBe(before.version + 1);
      expect(sorted(after.allowedTransitions)).toEqual(sorted(ALLOWED[to]));
      const entries = newLogs(before, after);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ kind: "STATUS_CHANGE", fromStatus: from, toStatus: to });
      expect(await read(before.id)).toEqual(after);
    } else {
      const error = expectError(response, "INVALID_STATUS_TRANSITION");
      expect(error.extensions?.from).toBe(from);
      expect(error.extensions?.to).toBe(to);
      expect(sorted(error.extensions?.allowed ?? null)).toEqual(sorted(ALLOWED[from]));
      await expectUnchanged(before);
    }
  });

  it.each(STATUSES)("allowedTransitions of a %s incident matches the table", async (status) => {
    const incident = await createIn(status);
    expect(sorted(incident.allowedTransitions)).toEqual(sorted(ALLOWED[status]));
    expect(sorted((await mustRead(incident.id)).allowedTransitions)).toEqual(sorted(ALLOWED[status]));
  });

  it("walks the whole lifecycle including a reopen", async () => {
    let incident = await create();
    for (const status of ["INVESTIGATING", "RESOLVED", "INVESTIGATING", "RESOLVED", "CLOSED"] as const) {
      incident = await update(incident.id, { status });
      expect(incident.status).toBe(status);
    }
    expect(incident.version).toBe(6);
  });

  describe("CLOSED is final", () => {
    const changes: Array<[string, () => Record<string, unknown>]> = [
      ["title", () => ({ title: "Renamed after closing" })],
      ["description", () => ({ description: "Edited after closing" })],
      ["priority", () => ({ priority: "LOW" })],
      ["assigneeId (assign)", () => ({ assigneeId: server.admin.id })],
      ["assigneeId (unassign)", () => ({ assigneeId: null })],
      ["status", () => ({ status: "INVESTIGATING" })],
      ["several fields", () => ({ title: "Renamed", priority: "CRITICAL" })],
    ];

    it.each(changes)("refuses a change of %s and leaves the incident as it was", async (_, input) => {
      const closed = await mustRead((await createIn("CLOSED", { priority: "HIGH", assigneeId: colleague.id })).id);
      const response = await updateRaw(closed.id, input());
      const error = onlyError(response);
      expect(error.extensions?.code).toMatch(/^(BAD_USER_INPUT|INVALID_STATUS_TRANSITION)$/);
      expect(response.data ?? null).toBeNull();
      await expectUnchanged(closed);
    });

    it("still takes notes", async () => {
      const closed = await mustRead((await createIn("CLOSED")).id);
      const response = await addLogRaw(closed.id, "Post-mortem scheduled for Friday");
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(response.data!.addIncidentLog).toMatchObject({
        kind: "NOTE",
        message: "Post-mortem scheduled for Friday",
        author: { id: responder.id },
      });

      const after = await mustRead(closed.id);
      expect(after.logs.totalCount).toBe(closed.logs.totalCount + 1);
      expect(after.logs.nodes.at(-1)).toEqual(response.data!.addIncidentLog);
      expect(after.status).toBe("CLOSED");
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("timestamps", () => {
  it("are ISO-8601 UTC strings with milliseconds", async () => {
    const incident = await createIn("CLOSED");
    for (const value of [incident.createdAt, incident.updatedAt, incident.acknowledgedAt, incident.resolvedAt, incident.closedAt]) {
      expectTimestamp(value);
    }
    expect(incident.logs.nodes.length).toBeGreaterThan(0);
    for (const log of incident.logs.nodes) expectTimestamp(log.createdAt);
  });

  it("set acknowledgedAt on first entry into INVESTIGATING, keep it on reopen; resolvedAt is the last RESOLVED", async () => {
    const created = await create();
    expect(created.acknowledgedAt).toBeNull();
    await tick();

    const started = Date.now();
    const investigating = await update(created.id, { status: "INVESTIGATING" });
    const ended = Date.now();
    expectTimestamp(investigating.acknowledgedAt);
    const acknowledged = Date.parse(investigating.acknowledgedAt!);
    expect(acknowledged).toBeGreaterThanOrEqual(started - 1);
    expect(acknowledged).toBeLessThanOrEqual(ended + 1);
    expect(investigating.resolvedAt).toBeNull();
    await tick();

    const resolved = await update(created.id, { status: "RESOLVED" });
    expectTimestamp(resolved.resolvedAt);
    expect(resolved.acknowledgedAt).toBe(investigating.acknowledgedAt);
    expect(Date.parse(resolved.resolvedAt!)).toBeGreaterThan(acknowledged);
    await tick();

    const reopened = await update(created.id, { status: "INVESTIGATING" });
    expect(reopened.acknowledgedAt).toBe(investigating.acknowledgedAt);
    await tick();

    const resolvedAgain = await update(created.id, { status: "RESOLVED" });
    expect(resolvedAgain.acknowledgedAt).toBe(investigating.acknowledgedAt);
    expectTimestamp(resolvedAgain.resolvedAt);
    expect(Date.parse(resolvedAgain.resolvedAt!)).toBeGreaterThan(Date.parse(resolved.resolvedAt!));
    expect(Date.parse(resolvedAgain.resolvedAt!)).toBeGreaterThan(Date.parse(reopened.updatedAt));
    expect(resolvedAgain.closedAt).toBeNull();
    await tick();

    const closed = await update(created.id, { status: "CLOSED" });
    expectTimestamp(closed.closedAt);
    expect(Date.parse(closed.closedAt!)).toBeGreaterThan(Date.parse(resolvedAgain.resolvedAt!));
    expect(closed.acknowledgedAt).toBe(investigating.acknowledgedAt);
    expect(closed.resolvedAt).toBe(resolvedAgain.resolvedAt);

    expect(await read(created.id)).toEqual(closed);
  });

  it("move updatedAt on every change and never createdAt", async () => {
    const created = await create();
    let previous = created;
    for (const input of [{ priority: "HIGH" }, { title: "Renamed" }, { assigneeId: colleague.id }, { status: "INVESTIGATING" }]) {
      await tick();
      const next = await update(created.id, input);
      expectTimestamp(next.updatedAt);
      expect(Date.parse(next.updatedAt)).toBeGreaterThan(Date.parse(previous.updatedAt));
      expect(next.createdAt).toBe(created.createdAt);
      previous = next;
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("updateIncident as a partial update", () => {
  it("leaves omitted fields as they are", async () => {
    const created = await create({ title: "Queue backlog", description: "Workers stuck", priority: "LOW", assigneeId: colleague.id });
    const updated = await update(created.id, { priority: "HIGH" });
    expect(updated).toMatchObject({
      title: "Queue backlog",
      description: "Workers stuck",
      priority: "HIGH",
      status: "OPEN",
      assignee: { id: colleague.id },
      reporter: { id: responder.id },
    });
  });

  it("treats an input-object variable that is not provided as omitted", async () => {
    const created = await create({ title: "Keep me", assigneeId: colleague.id });
    const response = await server.gql(
      `mutation($id: ID!, $title: String, $assigneeId: ID, $priority: Priority) {
         updateIncident(id: $id, input: { title: $title, assigneeId: $assigneeId, priority: $priority }) { ${FIELDS} }
       }`,
      { id: created.id, priority: "CRITICAL" },
      responder.token,
    );
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    expect(response.data.updateIncident).toMatchObject({
      title: "Keep me",
      priority: "CRITICAL",
      assignee: { id: colleague.id },
      version: 2,
    });
  });

  it("trims and checks a new title and description like createIncident", async () => {
    const created = await mustRead((await create()).id);
    expectError(await updateRaw(created.id, { title: "t".repeat(201) }), "BAD_USER_INPUT", "title");
    expectError(await updateRaw(created.id, { title: "   " }), "BAD_USER_INPUT", "title");
    expectError(await updateRaw(created.id, { description: "d".repeat(10_001) }), "BAD_USER_INPUT", "description");
    await expectUnchanged(created);

    const updated = await update(created.id, { title: `  ${"t".repeat(200)}  `, description: "d".repeat(10_000) });
    expect(updated.title).toBe("t".repeat(200));
    expect(updated.description).toBe("d".repeat(10_000));
  });

  it("checks a new assignee like createIncident", async () => {
    const created = await mustRead((await create()).id);
    expectError(await updateRaw(created.id, { assigneeId: viewer.id }), "BAD_USER_INPUT", "assigneeId");
    expectError(await updateRaw(created.id, { assigneeId: "999999" }), "NOT_FOUND");
    await expectUnchanged(created);
  });

  describe("with no field to change", () => {
    const inline = (input: string) => async (id: string) =>
      server.gql(`mutation { updateIncident(id: ${JSON.stringify(id)}, input: ${input}) { id } }`, {}, responder.token);

    it.each([
      ["{} in a variable", (id: string) => updateRaw(id, {})],
      ["only expectedVersion in a variable", (id: string) => updateRaw(id, { expectedVersion: 1 })],
      ["{} inline", inline("{}")],
      ["only expectedVersion inline", inline("{ expectedVersion: 1 }")],
    ])("refuses %s with BAD_USER_INPUT \"No fields provided for update\"", async (_, send) => {
      const created = await mustRead((await create()).id);
      const error = expectError(await send(created.id), "BAD_USER_INPUT");
      expect(error.message).toBe("No fields provided for update");
      await expectUnchanged(created);
    });
  });

  describe("explicit null", () => {
    const fields = ["title", "description", "status", "priority"] as const;

    it.each(fields)("for %s in a variable is BAD_USER_INPUT on that field", async (field) => {
      const created = await mustRead((await create()).id);
      expectError(await updateRaw(created.id, { [field]: null }), "BAD_USER_INPUT", field);
      // also alongside a valid change, which must not be applied either
      expectError(await updateRaw(created.id, { [field]: null, assigneeId: colleague.id }), "BAD_USER_INPUT", field);
      await expectUnchanged(created);
    });

    it.each(fields)("for %s as an inline literal is BAD_USER_INPUT on that field", async (field) => {
      const created = await mustRead((await create()).id);
      const response = await server.gql(
        `mutation { updateIncident(id: ${JSON.stringify(created.id)}, input: { ${field}: null }) { id } }`,
        {},
        responder.token,
      );
      expectError(response, "BAD_USER_INPUT", field);
      await expectUnchanged(created);
    });

    it.each(fields)("for %s as a null variable inside an inline input is BAD_USER_INPUT on that field", async (field) => {
      const created = await mustRead((await create()).id);
      const type = { title: "String", description: "String", status: "IncidentStatus", priority: "Priority" }[field];
      const response = await server.gql(
        `mutation($id: ID!, $value: ${type}) { updateIncident(id: $id, input: { ${field}: $value }) { id } }`,
        { id: created.id, value: null },
        responder.token,
      );
      expectError(response, "BAD_USER_INPUT", field);
      await expectUnchanged(created);
    });

    it("for assigneeId in a variable unassigns, with an ASSIGNMENT entry", async () => {
      const created = await create({ assigneeId: colleague.id });
      const updated = await update(created.id, { assigneeId: null });
      expect(updated.assignee).toBeNull();
      expect(updated.version).toBe(2);
      expect(newLogs(created, updated)).toEqual([expect.objectContaining({ kind: "ASSIGNMENT", author: { id: responder.id } })]);
      expect((await mustRead(created.id)).assignee).toBeNull();
    });

    it("for assigneeId as an inline literal unassigns", async () => {
      const created = await create({ assigneeId: colleague.id });
      const response = await server.gql(
        `mutation { updateIncident(id: ${JSON.stringify(created.id)}, input: { assigneeId: null }) { assignee { id } version } }`,
        {},
        responder.token,
      );
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      expect(response.data.updateIncident).toEqual({ assignee: null, version: 2 });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("version and expectedVersion", () => {
  it("is 1 when created and +1 on every successful change", async () => {
    const created = await create();
    expect(created.version).toBe(1);
    const steps: Record<string, unknown>[] = [
      { title: "New title" },
      { description: "More detail" },
      { priority: "CRITICAL" },
      { assigneeId: colleague.id },
      { assigneeId: null },
      { status: "INVESTIGATING" },
      { title: "Both at once", priority: "LOW" },
    ];
    for (const [index, input] of steps.entries()) {
      expect((await update(created.id, input)).version).toBe(index + 2);
    }
    expect((await mustRead(created.id)).version).toBe(steps.length + 1);
  });

  it("does not move for an update that changes nothing real, which writes no timeline entry", async () => {
    const created = await mustRead(
      (await create({ title: "Same", description: "Same text", priority: "HIGH", assigneeId: colleague.id })).id,
    );
    const sameValues = { title: "Same", description: "Same text", priority: "HIGH", assigneeId: colleague.id, status: "OPEN" };
    const noOps: Record<string, unknown>[] = [sameValues, { title: "   Same  " }, { status: "OPEN" }, { priority: "HIGH" }];
    for (const input of noOps) {
      const result = await update(created.id, input);
      expect(result.version, JSON.stringify(input)).toBe(1);
      expect(result.logs.totalCount, JSON.stringify(input)).toBe(created.logs.totalCount);
    }
    const unassigned = await mustRead((await create()).id);
    expect((await update(unassigned.id, { assigneeId: null })).version).toBe(1);

    expect(await read(created.id)).toEqual(created);
    expect(await read(unassigned.id)).toEqual(unassigned);
  });

  it("applies an update whose expectedVersion is the current version", async () => {
    const created = await create();
    const first = await update(created.id, { priority: "HIGH", expectedVersion: 1 });
    expect(first).toMatchObject({ priority: "HIGH", version: 2 });
    const second = await update(created.id, { title: "Guarded", expectedVersion: 2 });
    expect(second).toMatchObject({ title: "Guarded", version: 3 });
  });

  it.each([
    ["an older", 1],
    ["a newer", 5],
    ["a zero", 0],
  ])("refuses %s expectedVersion with CONFLICT and changes nothing", async (_, expectedVersion) => {
    const created = await create();
    const current = await mustRead((await update(created.id, { priority: "LOW" })).id);
    expect(current.version).toBe(2);

    const response = await updateRaw(current.id, {
      title: "Lost update",
      priority: "CRITICAL",
      status: "INVESTIGATING",
      assigneeId: colleague.id,
      expectedVersion,
    });
    expectError(response, "CONFLICT");
    await expectUnchanged(current);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("timeline", () => {
  it("writes one entry of the matching kind per real change, authored by the caller", async () => {
    const created = await mustRead((await create()).id);

    const cases: Array<{ input: Record<string, unknown>; expected: Record<string, unknown> }> = [
      { input: { status: "INVESTIGATING" }, expected: { kind: "STATUS_CHANGE", fromStatus: "OPEN", toStatus: "INVESTIGATING" } },
      { input: { priority: "CRITICAL" }, expected: { kind: "PRIORITY_CHANGE" } },
      { input: { assigneeId: server.admin.id }, expected: { kind: "ASSIGNMENT" } },
      { input: { assigneeId: null }, expected: { kind: "ASSIGNMENT" } },
      { input: { title: "Edited title" }, expected: { kind: "EDIT" } },
      { input: { description: "Edited description" }, expected: { kind: "EDIT" } },
      { input: { status: "RESOLVED" }, expected: { kind: "STATUS_CHANGE", fromStatus: "INVESTIGATING", toStatus: "RESOLVED" } },
    ];

    let before = created;
    for (const { input, expected } of cases) {
      // someone other than the reporter makes the change: the author is the caller
      const after = await update(created.id, input, colleague.token);
      const entries = newLogs(before, after);
      expect(entries, JSON.stringify(input)).toHaveLength(1);
      expect(entries[0]).toMatchObject({ ...expected, author: { id: colleague.id } });
      expect(typeof entries[0]!.message).toBe("string");
      expectTimestamp(entries[0]!.createdAt);
      expect(after.logs.totalCount).toBe(before.logs.totalCount + 1);
      before = after;
    }
  });

  it("writes an entry for each kind of change made by one update", async () => {
    const created = await create();
    const after = await update(created.id, { priority: "HIGH", assigneeId: colleague.id, status: "INVESTIGATING" });
    expect(after.version).toBe(2);
    const entries = newLogs(created, after);
    expect(sorted(entries.map((entry) => entry.kind))).toEqual(["ASSIGNMENT", "PRIORITY_CHANGE", "STATUS_CHANGE"]);
    expect(entries.every((entry) => entry.author?.id === responder.id)).toBe(true);
    expect(entries.find((entry) => entry.kind === "STATUS_CHANGE")).toMatchObject({ fromStatus: "OPEN", toStatus: "INVESTIGATING" });
  });

  it("records a note as a NOTE by its author", async () => {
    const created = await create();
    const response = await addLogRaw(created.id, "Rolled back deploy 4182", colleague.token);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    const note = response.data!.addIncidentLog;
    expect(note).toMatchObject({ kind: "NOTE", message: "Rolled back deploy 4182", author: { id: colleague.id } });
    expectTimestamp(note.createdAt);

    const after = await mustRead(created.id);
    expect(after.logs.nodes.at(-1)).toEqual(note);
    expect(after.logs.totalCount).toBe(created.logs.totalCount + 1);
  });

  it("a note changes neither the incident's fields nor its version", async () => {
    const created = await mustRead((await create()).id);
    expect((await addLogRaw(created.id, "Just a note")).errors).toBeUndefined();
    const after = await mustRead(created.id);
    const { logs: _a, ...fieldsBefore } = created;
    const { logs: _b, ...fieldsAfter } = after;
    expect(fieldsAfter).toMatchObject({ ...fieldsBefore, version: created.version });
  });

  it("writes nothing for a failed update", async () => {
    const created = await mustRead((await create({ priority: "LOW" })).id);
    const failures: Array<[Record<string, unknown>, string]> = [
      [{ status: "RESOLVED" }, "INVALID_STATUS_TRANSITION"],
      [{ status: "CLOSED", priority: "HIGH" }, "INVALID_STATUS_TRANSITION"],
      [{ title: "", priority: "HIGH" }, "BAD_USER_INPUT"],
      [{ priority: "HIGH", expectedVersion: 7 }, "CONFLICT"],
      [{ assigneeId: viewer.id, priority: "HIGH" }, "BAD_USER_INPUT"],
      [{ assigneeId: "999999", priority: "HIGH" }, "NOT_FOUND"],
      [{ priority: null, title: "x" }, "BAD_USER_INPUT"],
    ];
    for (const [input, code] of failures) expectError(await updateRaw(created.id, input), code);
    await expectUnchanged(created);
  });

  it("lists entries oldest first", async () => {
    const created = await create();
    await update(created.id, { status: "INVESTIGATING" });
    await tick();
    expect((await addLogRaw(created.id, "first note")).errors).toBeUndefined();
    await tick();
    await update(created.id, { priority: "CRITICAL" });
    await tick();
    expect((await addLogRaw(created.id, "second note")).errors).toBeUndefined();
    await tick();
    await update(created.id, { assigneeId: colleague.id });

    const after = await mustRead(created.id);
    const tail = after.logs.nodes.slice(-5);
    expect(tail.map((log) => log.kind)).toEqual(["STATUS_CHANGE", "NOTE", "PRIORITY_CHANGE", "NOTE", "ASSIGNMENT"]);
    expect(tail.filter((log) => log.kind === "NOTE").map((log) => log.message)).toEqual(["first note", "second note"]);
    const times = after.logs.nodes.map((log) => Date.parse(log.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(kinds(after).at(-1)).toBe("ASSIGNMENT");
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("ids that name nothing", () => {
  it.each(MISSING_IDS)("incident(%j) is null", async (id) => {
    const response = await server.gql(`query($id: ID!) { incident(id: $id) { id } }`, { id }, responder.token);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ incident: null });
  });

  it.each(MISSING_IDS)("updateIncident(%j) is NOT_FOUND", async (id) => {
    expectError(await updateRaw(id, { priority: "HIGH" }), "NOT_FOUND");
  });

  it.each(MISSING_IDS)("addIncidentLog(%j) is NOT_FOUND", async (id) => {
    expectError(await addLogRaw(id, "a note for nothing"), "NOT_FOUND");
  });

  it.each(MISSING_IDS)("deleteIncident(%j) is NOT_FOUND", async (id) => {
    const count = await incidentCount();
    expectError(await deleteRaw(id), "NOT_FOUND");
    expect(await incidentCount()).toBe(count);
  });

  it("includes look-alikes of an existing id: ids are opaque strings, not numbers", async () => {
    const existing = await mustRead((await create()).id);
    for (const id of [`0${existing.id}`, `${existing.id}.0`, `+${existing.id}`, ` ${existing.id}`, `${existing.id}abc`]) {
      expect(await read(id), id).toBeNull();
      expectError(await updateRaw(id, { priority: "CRITICAL" }), "NOT_FOUND");
      expectError(await addLogRaw(id, "note"), "NOT_FOUND");
      expectError(await deleteRaw(id), "NOT_FOUND");
    }
    await expectUnchanged(existing);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("deleteIncident", () => {
  const logRows = (incidentId: string) =>
    server.db.scalar("SELECT count(*) AS n FROM incident_logs WHERE incident_id = ?", [Number(incidentId)]);

  it("returns the id, removes the incident and cascades to its timeline", async () => {
    const doomed = await createIn("RESOLVED", { priority: "HIGH" });
    expect((await addLogRaw(doomed.id, "note before deletion")).errors).toBeUndefined();
    const bystander = await createIn("INVESTIGATING");
    expect((await addLogRaw(bystander.id, "unrelated note")).errors).toBeUndefined();

    const doomedRows = await logRows(doomed.id);
    const bystanderRows = await logRows(bystander.id);
    expect(doomedRows).toBeGreaterThanOrEqual(3);
    expect(bystanderRows).toBeGreaterThanOrEqual(2);

    const response = await deleteRaw(doomed.id);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    expect(response.data).toEqual({ deleteIncident: doomed.id });

    expect(await read(doomed.id)).toBeNull();
    expect(await logRows(doomed.id)).toBe(0);
    expect(await logRows(bystander.id)).toBe(bystanderRows);
    expect((await mustRead(bystander.id)).logs.totalCount).toBe(bystanderRows);
  });

  it("makes later mutations on the deleted id NOT_FOUND", async () => {
    const doomed = await create();
    expect((await deleteRaw(doomed.id)).data).toEqual({ deleteIncident: doomed.id });
    expectError(await updateRaw(doomed.id, { priority: "HIGH" }), "NOT_FOUND");
    expectError(await addLogRaw(doomed.id, "too late"), "NOT_FOUND");
    expectError(await deleteRaw(doomed.id), "NOT_FOUND");
    expect(await logRows(doomed.id)).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("who may write incidents (section 4 through section 6's codes)", () => {
  it("refuses anonymous callers with UNAUTHENTICATED", async () => {
    const existing = await create();
    const count = await incidentCount();
    expectError(await server.gql(`mutation { createIncident(input: { title: "x" }) { id } }`), "UNAUTHENTICATED");
    expectError(
      await server.gql(`mutation($id: ID!) { updateIncident(id: $id, input: { priority: LOW }) { id } }`, { id: existing.id }),
      "UNAUTHENTICATED",
    );
    expect(await incidentCount()).toBe(count);
  });

  it("refuses a VIEWER's writes with FORBIDDEN", async () => {
    const existing = await mustRead((await create()).id);
    const count = await incidentCount();
    expectError(await createRaw({ title: "x" }, viewer.token), "FORBIDDEN");
    expectError(await updateRaw(existing.id, { priority: "LOW" }, viewer.token), "FORBIDDEN");
    expectError(await addLogRaw(existing.id, "hi", viewer.token), "FORBIDDEN");
    expect(await incidentCount()).toBe(count);
    await expectUnchanged(existing);
    expect((await read(existing.id, viewer.token))?.id).toBe(existing.id);
  });

  it("refuses deleteIncident to a RESPONDER with FORBIDDEN", async () => {
    const existing = await mustRead((await create()).id);
    expectError(await deleteRaw(existing.id, responder.token), "FORBIDDEN");
    await expectUnchanged(existing);
  });
});
