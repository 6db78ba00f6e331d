import fc from "fast-check";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { alertmanagerPayload, alertSetup, countRows, sendAlertmanager } from "./support/alerts.js";
import { onlyError, startTestServer, type TestServer, type TestUser } from "./support/server.js";
import { until } from "./support/until.js";

// Section 10, merging: one transaction that moves the sources' alerts to the target, closes the sources by the
// system's rules, points them at the target, writes MERGE entries on all of them and raises every version by one.

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

const INCIDENT = `id title status version closedAt resolvedAt mergedInto { id } alerts(first: 50) { nodes { fingerprint incident { id } } }
  logs(first: 50) { nodes { kind message author { id } fromStatus toStatus } }`;

async function createIncident(title: string, token = responder.token): Promise<string> {
  const result = await server.gql(`mutation($title: String!) { createIncident(input: { title: $title }) { id } }`, { title }, token);
  return result.data.createIncident.id;
}

async function setStatus(id: string, ...statuses: string[]) {
  for (const status of statuses) {
    const result = await server.gql(`mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { id } }`, { id, status }, responder.token);
    expect(result.errors).toBeUndefined();
  }
}

const incident = async (id: string) => (await server.gql(`query($id: ID!) { incident(id: $id) { ${INCIDENT} } }`, { id }, viewer.token)).data.incident;

const merge = (targetId: string, sourceIds: string[], token = responder.token) =>
  server.gql(`mutation($targetId: ID!, $sourceIds: [ID!]!) { mergeIncidents(targetId: $targetId, sourceIds: $sourceIds) { ${INCIDENT} } }`, { targetId, sourceIds }, token);

/** Everything a refused merge must leave as it was. */
const snapshot = async (ids: string[]) => ({
  incidents: await Promise.all(ids.map(incident)),
  logs: await countRows(server, "incident_logs"),
  alerts: await server.db.query("SELECT id, incident_id FROM alerts ORDER BY id"),
});

describe("mergeIncidents", () => {
  it("moves the sources' alerts, closes and points the sources at the target, and writes MERGE entries, versions + 1", async () => {
    const { amKey } = await alertSetup(server);
    const sent = async (fingerprint: string, groupKey: string) =>
      (await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint }], { groupKey }))).body.incidents[0] as string;
    const target = await sent("merge-a", "group-a");
    const alerted = await sent("merge-b", "group-b");
    const manual = await createIncident("Checkout down again");
    await setStatus(manual, "INVESTIGATING", "RESOLVED");
    const before = await Promise.all([target, alerted, manual].map(incident));

    const merged = await merge(target, [manual, alerted]);
    expect(merged.errors).toBeUndefined();
    const result = merged.data.mergeIncidents;
    expect(result.id).toBe(target);
    expect(result.version).toBe(before[0].version + 1);
    expect(result.status).toBe("OPEN");
    expect(result.mergedInto).toBeNull();
    expect(result.alerts.nodes.map((alert: any) => [alert.fingerprint, alert.incident.id])).toEqual([
      ["merge-a", target],
      ["merge-b", target],
    ]);
    const targetEntry = result.logs.nodes.at(-1);
    expect(targetEntry).toMatchObject({ kind: "MERGE", author: { id: responder.id }, fromStatus: null, toStatus: null });
    expect(targetEntry.message).toContain(`#${alerted} `);
    expect(targetEntry.message).toContain(`#${manual} "Checkout down again"`);

    for (const [id, previous] of [
      [alerted, before[1]],
      [manual, before[2]],
    ] as const) {
      const source = await incident(id);
      expect(source).toMatchObject({ status: "CLOSED", version: previous.version + 1, mergedInto: { id: target }, alerts: { nodes: [] } });
      expect(source.closedAt).not.toBeNull();
      const entry = source.logs.nodes.at(-1);
      expect(entry).toMatchObject({ kind: "MERGE", author: { id: responder.id }, fromStatus: previous.status, toStatus: "CLOSED" });
      expect(entry.message).toContain(`#${target} `);
    }
    // A resolved source keeps its resolution time; one closed from OPEN is resolved by the merge.
    expect((await incident(manual)).resolvedAt).toBe(before[2].resolvedAt);
    expect((await incident(alerted)).resolvedAt).not.toBeNull();
    expect(await server.db.integrityProblems()).toEqual([]);
  });

  it("publishes one UPDATED event per changed incident, target first, with the caller as actor", async () => {
    const target = await createIncident("Target");
    const sources = [await createIncident("Dup one"), await createIncident("Dup two")];
    const events: any[] = [];
    const before = await server.metric("graphql_subscriptions_active");
    const client: Client = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${viewer.token}` },
    });
    try {
      client.subscribe(
        { query: `subscription { incidentEvents { kind incidentId actor { id } incident { version status } } }` },
        { next: (result) => events.push(result.data?.incidentEvents), error: () => {}, complete: () => {} },
      );
      await until(async () => (await server.metric("graphql_subscriptions_active")) > before, "the subscription");
      expect((await merge(target, sources)).errors).toBeUndefined();
      await until(() => events.length >= 3 && events, "3 events");
      expect(events.map((event) => [event.kind, event.incidentId, event.actor.id, event.incident.version, event.incident.status])).toEqual([
        ["UPDATED", target, responder.id, 2, "OPEN"],
        ["UPDATED", sources[0], responder.id, 2, "CLOSED"],
        ["UPDATED", sources[1], responder.id, 2, "CLOSED"],
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("refuses a closed target, the target among the sources, an already merged source and missing ids, changing nothing", async () => {
    const target = await createIncident("Target");
    const source = await createIncident("Source");
    const other = await createIncident("Other");
    const closed = await createIncident("Closed");
    await setStatus(closed, "INVESTIGATING", "RESOLVED", "CLOSED");
    expect((await merge(other, [await createIncident("Merged already")])).errors).toBeUndefined();
    const mergedAlready = (await server.gql(`{ incidents(first: 1, filter: { status: [CLOSED] }) { nodes { id mergedInto { id } } } }`, {}, viewer.token)).data.incidents.nodes[0];
    expect(mergedAlready.mergedInto.id).toBe(other);
    const ids = [target, source, other, closed, mergedAlready.id];
    const before = await snapshot(ids);

    const refusals: Array<[string, string[], string, string]> = [
      [closed, [source], "BAD_USER_INPUT", "targetId"],
      [target, [source, target], "BAD_USER_INPUT", "sourceIds"],
      [target, [source, mergedAlready.id], "BAD_USER_INPUT", "sourceIds"],
      [target, [], "BAD_USER_INPUT", "sourceIds"],
      ["999999", [source], "NOT_FOUND", "targetId"],
      ["not-an-id", [source], "NOT_FOUND", "targetId"],
      [target, [source, "999999"], "NOT_FOUND", "sourceIds"],
      [target, [source, "x"], "NOT_FOUND", "sourceIds"],
      [target, Array.from({ length: 51 }, (_, i) => String(100000 + i)), "BAD_USER_INPUT", "sourceIds"],
    ];
    for (const [targetId, sourceIds, code, field] of refusals) {
      const error = onlyError(await merge(targetId, sourceIds));
      expect([targetId, sourceIds.length, error.extensions?.code, error.extensions?.field]).toEqual([targetId, sourceIds.length, code, field]);
    }
    expect(await snapshot(ids)).toEqual(before);
  });

  it("is for responders and admins: a viewer is FORBIDDEN and nothing changes", async () => {
    const target = await createIncident("Target");
    const source = await createIncident("Source");
    expect(onlyError(await merge(target, [source], viewer.token)).extensions?.code).toBe("FORBIDDEN");
    expect((await incident(source)).status).toBe("OPEN");
    expect((await merge(target, [source], server.admin.token)).errors).toBeUndefined();
  });

  it("merges a closed duplicate without reopening it, and keeps its closing time", async () => {
    const target = await createIncident("Target");
    const closed = await createIncident("Closed dup");
    await setStatus(closed, "INVESTIGATING", "RESOLVED", "CLOSED");
    const before = await incident(closed);
    expect((await merge(target, [closed])).errors).toBeUndefined();
    const after = await incident(closed);
    expect(after).toMatchObject({ status: "CLOSED", closedAt: before.closedAt, version: before.version + 1, mergedInto: { id: target } });
    expect(after.logs.nodes.at(-1)).toMatchObject({ kind: "MERGE", fromStatus: null, toStatus: null });
  });

  it("lets the target be deleted: its duplicates stay, no longer merged into anything", async () => {
    const target = await createIncident("Target to delete");
    const source = await createIncident("Its duplicate");
    expect((await merge(target, [source])).errors).toBeUndefined();
    const deleted = await server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: target }, server.admin.token);
    expect(deleted.errors).toBeUndefined();
    expect(await incident(source)).toMatchObject({ status: "CLOSED", mergedInto: null });
    expect(await server.db.integrityProblems()).toEqual([]);
  });

  it("leaves the incidents merged into one out of its similar incidents, and keeps the others", async () => {
    const title = "Payment gateway timeouts on checkout-api pods in zone b";
    const target = await createIncident(title);
    const duplicate = await createIncident(`${title} again`);
    const related = await createIncident(`${title}, third report`);
    expect((await merge(target, [duplicate])).errors).toBeUndefined();
    const similar = async (id: string) =>
      (await server.gql(`query($id: ID!) { incident(id: $id) { similar(first: 10) { incident { id } } } }`, { id }, viewer.token)).data.incident.similar.map(
        (hit: { incident: { id: string } }) => hit.incident.id,
      );
    const ofTarget = await similar(target);
    expect(ofTarget).toContain(related);
    expect(ofTarget).not.toContain(duplicate);
    expect(ofTarget).not.toContain(target);
    // Only the incident a duplicate was merged into is left out: the duplicate still finds its siblings.
    expect(await similar(duplicate)).toEqual(expect.arrayContaining([target, related]));
  });

  it("names each source once when the list repeats it", async () => {
    const target = await createIncident("Target");
    const source = await createIncident("Twice");
    const result = await merge(target, [source, source]);
    expect(result.errors).toBeUndefined();
    expect((await incident(source)).version).toBe(2);
    expect(result.data.mergeIncidents.logs.nodes.at(-1).message).toContain("1 duplicate incident");
  });

  it("lets one of two crossing merges win: the other finds its target closed, and nothing is half done", async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b, c] = [await createIncident("A"), await createIncident("B"), await createIncident("C")];
      const attempts: Array<[string, string[]]> = [
        [a, [b, c]],
        [b, [a]],
        [c, [a, b]],
      ];
      const results = await Promise.all(attempts.map(([target, sources]) => merge(target, sources)));
      const won = results.flatMap((result, i) => (result.errors ? [] : [attempts[i]!]));
      expect(won).toHaveLength(1);
      for (const lost of results.filter((result) => result.errors)) expect(onlyError(lost).extensions?.code).toBe("BAD_USER_INPUT");
      const [winner, sources] = won[0]!;
      for (const id of [a, b, c].filter((id) => id !== winner)) {
        const expected = sources.includes(id) ? { status: "CLOSED", version: 2, mergedInto: { id: winner } } : { status: "OPEN", version: 1, mergedInto: null };
        expect(await incident(id)).toMatchObject(expected);
      }
      expect(await incident(winner)).toMatchObject({ status: "OPEN", version: 2, mergedInto: null });
    }
  });

  it("answers any generated target and sources with a merge, BAD_USER_INPUT or NOT_FOUND, never a 500, and stays sound", async () => {
    const ids = [...(await Promise.all(Array.from({ length: 6 }, (_, i) => createIncident(`Fuzzed ${i}`))))];
    const id = fc.oneof(fc.constantFrom(...ids), fc.string({ maxLength: 24 }), fc.integer().map(String), fc.constant("9007199254740993"));
    await fc.assert(
      fc.asyncProperty(id, fc.array(id, { maxLength: 60 }), async (targetId, sourceIds) => {
        const result = await merge(targetId, sourceIds);
        expect(result.status).toBeLessThan(500);
        if (result.errors) expect(["BAD_USER_INPUT", "NOT_FOUND"]).toContain(onlyError(result).extensions?.code);
        else expect(result.data.mergeIncidents.id).toBe(targetId);
      }),
      { numRuns: 60 },
    );
    // Whatever merged, every merged incident is closed.
    expect(await server.db.scalar("SELECT count(*) FROM incidents WHERE merged_into IS NOT NULL AND status <> 'CLOSED'")).toBe(0);
    expect(await server.db.integrityProblems()).toEqual([]);
  });
});
