import "reflect-metadata";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import { startTestServer, type GraphQLResponse, type TestServer } from "./support/server.js";

// CONTRACT.md section 5: optimistic concurrency (`expectedVersion` -> CONFLICT), "every change that really changes
// something writes one timeline entry ... in the same transaction", version +1 on every successful change; and
// section 1: the API runs on an embedded SQLite file, which more than one process may serve.

const CREATE = `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id title version } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id title version } }`;
const ADD_LOG = `mutation($id: ID!, $message: String!) {
  addIncidentLog(incidentId: $id, message: $message) { id kind message incident { id } }
}`;
const READ = `query($id: ID!) {
  incident(id: $id) { id title version logs(first: 100) { totalCount nodes { id kind message author { id } } } }
}`;

interface ReadIncident {
  id: string;
  title: string;
  version: number;
  logs: { totalCount: number; nodes: Array<{ id: string; kind: string; message: string; author: { id: string } | null }> };
}

const describeResponse = (response: GraphQLResponse) => `${response.status} ${JSON.stringify(response.body)}`;

describe("concurrent updates of one incident (one server)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  async function createIncident(title: string): Promise<string> {
    const created = await server.gql(CREATE, { input: { title } }, server.admin.token);
    expect(created.errors, describeResponse(created)).toBeUndefined();
    expect(created.data.createIncident.version).toBe(1);
    return created.data.createIncident.id;
  }

  async function readIncident(id: string): Promise<ReadIncident> {
    const result = await server.gql<{ incident: ReadIncident }>(READ, { id }, server.admin.token);
    expect(result.errors, describeResponse(result)).toBeUndefined();
    expect(result.data?.incident).toBeTruthy();
    return result.data!.incident;
  }

  it("50 concurrent updateIncident calls with the same expectedVersion: exactly one succeeds, the rest get CONFLICT", async () => {
    const id = await createIncident("Contended incident");
    const titles = Array.from({ length: 50 }, (_, i) => `t${i + 1}`);
    const responses = await Promise.all(
      titles.map((title) => server.gql(UPDATE, { id, input: { title, expectedVersion: 1 } }, server.admin.token)),
    );

    const successes = responses.filter((response) => !response.errors && response.data?.updateIncident);
    const conflicts = responses.filter(
      (response) => response.errors?.length === 1 && response.errors[0]!.extensions?.code === "CONFLICT" && response.data === null,
    );
    const other = responses.filter((response) => !successes.includes(response) && !conflicts.includes(response));
    expect(other.map(describeResponse), "responses that are neither a success nor a CONFLICT").toEqual([]);
    expect(successes).toHaveLength(1);
    expect(conflicts).toHaveLength(49);

    const winner = successes[0]!.data.updateIncident;
    expect(winner.version).toBe(2);
    expect(titles).toContain(winner.title);

    const stored = await readIncident(id);
    expect(stored.version).toBe(2);
    expect(stored.title).toBe(winner.title);
    expect(stored.logs.totalCount).toBe(1);
    expect(stored.logs.nodes).toEqual([{ id: expect.any(String), kind: "EDIT", message: "Title edited", author: { id: server.admin.id } }]);
  });

  it("50 concurrent unguarded updates are all applied, each with its timeline entry", async () => {
    const id = await createIncident("Busy incident");
    // Every title differs from the initial one and from each other, so each update is a real change whatever the order.
    const titles = Array.from({ length: 50 }, (_, i) => `t${i + 1}`);
    const responses = await Promise.all(titles.map((title) => server.gql(UPDATE, { id, input: { title } }, server.admin.token)));

    const failed = responses.filter((response) => response.errors || !response.data?.updateIncident);
    expect(failed.map(describeResponse)).toEqual([]);
    const results = responses.map((response) => response.data.updateIncident as { title: string; version: number });
    // Each update saw its own version: the versions handed out are exactly 2..51, once each.
    expect(results.map((result) => result.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    results.forEach((result, i) => expect(result.title).toBe(titles[i]));

    const stored = await readIncident(id);
    expect(stored.version).toBe(51);
    expect(stored.title).toBe(results.find((result) => result.version === 51)!.title);
    expect(stored.logs.totalCount).toBe(50);
    expect(stored.logs.nodes).toHaveLength(50);
    expect(stored.logs.nodes.every((log) => log.kind === "EDIT" && log.message === "Title edited")).toBe(true);
    expect(new Set(stored.logs.nodes.map((log) => log.id)).size).toBe(50);
  });
});

describe("two server processes on one SQLite file", () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopAllChildServers();
    await cleanup?.();
    cleanup = undefined;
  });

  it(
    "two server processes on one SQLite file under concurrent writes: no SQLITE_BUSY reaches a client, nothing is lost",
    async () => {
      const database = await tempDatabase("incident-api-two-procs-");
      const { dbPath } = database;
      cleanup = database.remove;
      // The first applies the migrations; the second starts once the first is ready. Both share JWT_SECRET.
      const a = await startChildServer({ dbPath });
      const b = await startChildServer({ dbPath });
      const servers: ChildServer[] = [a, b];

      const signUp = await a.gql(
        `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id role } } }`,
        { input: { email: "two-procs-admin@example.com", name: "Admin", password: "correct horse battery" } },
      );
      expect(signUp.data?.signUp?.user?.role, describeResponse(signUp)).toBe("ADMIN");
      const token: string = signUp.data.signUp.token;
      const me = await b.gql(`{ me { id role } }`, {}, token);
      expect(me.data?.me, `the second process accepts the first one's token: ${describeResponse(me)}`).toEqual({
        id: signUp.data.signUp.user.id,
        role: "ADMIN",
      });

      type Op =
        | { kind: "create"; title: string }
        | { kind: "note"; target: number; message: string }
        | { kind: "update"; target: number; title: string };
      const failures: string[] = [];
      const acked = { creates: [] as string[], notes: [] as Array<{ incidentId: string; logId: string; message: string }>, updates: 0 };
      const updatesPerIncident = new Map<string, number>();
      const seeded: string[] = [];

      /** Runs `ops` against `server` with `parallel` requests in flight; records acknowledged writes and every failure. */
      async function hammer(server: ChildServer, label: string, ops: Op[], parallel: number) {
        let next = 0;
        const worker = async () => {
          while (next < ops.length) {
            const op = ops[next++]!;
            let response: GraphQLResponse;
            try {
              if (op.kind === "create") response = await server.gql(CREATE, { input: { title: op.title } }, token);
              else if (op.kind === "note") response = await server.gql(ADD_LOG, { id: seeded[op.target], message: op.message }, token);
              else response = await server.gql(UPDATE, { id: seeded[op.target], input: { title: op.title } }, token);
            } catch (error) {
              failures.push(`${label} ${op.kind}: request failed: ${String(error)}`);
              continue;
            }
            if (response.status !== 200 || response.errors || !response.data) {
              failures.push(`${label} ${op.kind}: ${describeResponse(response)}`);
              continue;
            }
            if (op.kind === "create") {
              const created = response.data.createIncident;
              if (created?.title === op.title && created.version === 1) acked.creates.push(created.id);
              else failures.push(`${label} create: unexpected ${describeResponse(response)}`);
            } else if (op.kind === "note") {
              const log = response.data.addIncidentLog;
              if (log?.kind === "NOTE" && log.message === op.message && log.incident?.id === seeded[op.target]) {
                acked.notes.push({ incidentId: seeded[op.target]!, logId: log.id, message: op.message });
              } else failures.push(`${label} note: unexpected ${describeResponse(response)}`);
            } else {
              const updated = response.data.updateIncident;
              if (updated?.title === op.title && updated.version > 1) {
                acked.updates++;
                updatesPerIncident.set(updated.id, (updatesPerIncident.get(updated.id) ?? 0) + 1);
              } else failures.push(`${label} update: unexpected ${describeResponse(response)}`);
            }
          }
        };
        await Promise.all(Array.from({ length: parallel }, worker));
      }

      /** Log lines in which a child reported an internal error (the client only sees INTERNAL_SERVER_ERROR). */
      const serverErrors = () =>
        servers.flatMap((server, s) =>
          server
            .output()
            .split("\n")
            .filter((line) => /internal error|SQLITE_BUSY|database is locked/i.test(line))
            .map((line) => `server${s}: ${line.slice(0, 600)}`),
        ).slice(0, 20);
      const expectNoFailures = (stage: string) => {
        const busy = failures.filter((failure) => /SQLITE_BUSY|database is locked|INTERNAL_SERVER_ERROR/i.test(failure));
        expect(busy, `${stage}: SQLITE_BUSY or internal errors reached a client; server logs:\n${serverErrors().join("\n")}`).toEqual([]);
        expect(failures, `${stage}: every write must succeed`).toEqual([]);
      };

      // Phase 1: 20 incidents, created through both processes at once; phase 2 writes to them from both sides.
      await Promise.all(
        servers.map((server, s) =>
          hammer(
            server,
            `seed@${s}`,
            Array.from({ length: 10 }, (_, i) => ({ kind: "create" as const, title: `seed ${s}-${i}` })),
            10,
          ),
        ),
      );
      expectNoFailures("seeding");
      seeded.push(...acked.creates);
      expect(seeded).toHaveLength(20);

      // Phase 2: 180 more writes, 90 per process with 15 in flight each: creates, notes and title changes interleaved,
      // every note and update aimed at an incident that both processes are writing to.
      const plan = (s: number): Op[] =>
        Array.from({ length: 90 }, (_, i): Op => {
          const target = (i * 7 + s * 3) % seeded.length;
          if (i % 3 === 0) return { kind: "create", title: `new ${s}-${i}` };
          if (i % 3 === 1) return { kind: "note", target, message: `note ${s}-${i}` };
          return { kind: "update", target, title: `title ${s}-${i}` };
        });
      await Promise.all(servers.map((server, s) => hammer(server, `server${s}`, plan(s), 15)));

      expectNoFailures("concurrent writes");
      expect(acked.creates).toHaveLength(80);
      expect(acked.notes).toHaveLength(60);
      expect(acked.updates).toBe(60);

      // Every acknowledged note is readable, by id, through the other process too.
      for (const server of servers) {
        for (const incidentId of seeded) {
          const read = await server.gql<{ incident: ReadIncident }>(READ, { id: incidentId }, token);
          expect(read.errors, describeResponse(read)).toBeUndefined();
          const incident = read.data!.incident;
          const ids = new Set(incident.logs.nodes.map((log) => log.id));
          for (const note of acked.notes.filter((note) => note.incidentId === incidentId)) {
            expect(ids.has(note.logId), `note ${note.logId} of incident ${incidentId} read through ${server.url}`).toBe(true);
          }
          expect(incident.version, `incident ${incidentId} version`).toBe(1 + (updatesPerIncident.get(incidentId) ?? 0));
          expect(incident.logs.nodes.filter((log) => log.kind === "EDIT")).toHaveLength(incident.version - 1);
        }
      }

      // Both processes stop cleanly; then the database itself is checked (SQLite: the file's PRAGMA checks).
      for (const server of servers) expect(await server.stop()).toEqual({ code: 0, signal: null });
      expect(await database.integrityProblems()).toEqual([]);
      const count = (sql: string) => database.scalar(sql);
      expect(await count("SELECT count(*) AS n FROM incidents")).toBe(acked.creates.length);
      expect(await count("SELECT count(*) AS n FROM incident_logs WHERE kind = 'NOTE'")).toBe(acked.notes.length);
      expect(await count("SELECT count(*) AS n FROM incident_logs WHERE kind = 'EDIT'")).toBe(acked.updates);
      expect(await count("SELECT count(*) AS n FROM incident_logs")).toBe(acked.notes.length + acked.updates);
      expect(await count("SELECT coalesce(sum(version - 1), 0) AS n FROM incidents")).toBe(acked.updates);
      expect(await count("SELECT count(*) AS n FROM users")).toBe(1);
      console.log(
        `two processes: ${acked.creates.length} creates, ${acked.notes.length} notes, ${acked.updates} updates acknowledged, ${failures.length} failures`,
      );
    },
    45_000,
  );
});
