import "reflect-metadata";
import { afterEach, describe, expect, it } from "vitest";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";
import { seededRandom } from "../src/shared/seeded-random.js";

// CONTRACT.md section 5: "A change and its entry are saved together or not at all", and section 1: the API serves
// an embedded SQLite file. A mutation whose response reached the client is acknowledged: it must survive the
// server process being killed at any instant (SIGKILL: no shutdown hook runs), and the file must stay sound.

const CREATE = `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id title version } }`;
const ADD_LOG = `mutation($id: ID!, $message: String!) {
  addIncidentLog(incidentId: $id, message: $message) { id kind message incident { id } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id title version } }`;

const ROUNDS = 5;
const IN_FLIGHT = 4;
/** Keeps every timeline under one page of 100 entries, so that one query reads it whole. */
const MAX_OPS_PER_INCIDENT = 40;

/** What the client was told: only acknowledged mutations are recorded, plus what it attempted, for phantom checks. */
interface AckedIncident {
  id: string;
  /** Ops sent against it (acknowledged or not), to bound the timeline. */
  ops: number;
  /** Highest version returned by an acknowledged create/update, and the title that response carried. */
  maxVersion: number;
  titleAtMaxVersion: string;
  ackedUpdates: number;
  /** Acknowledged notes: log id -> message. */
  notes: Map<string, string>;
  /** Every note message sent for it, acknowledged or not. */
  attemptedNotes: Set<string>;
}

interface RoundStats {
  round: number;
  killAfterMs: number;
  sent: number;
  acked: number;
  /** Requests whose outcome the client never learnt: in flight when the process died. */
  lostInFlight: number;
  inFlightAtKill: number;
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopAllChildServers();
  await cleanup?.();
  cleanup = undefined;
});

async function signUpAdmin(server: ChildServer): Promise<string> {
  const result = await server.gql(
    `mutation($input: SignUpInput!) { signUp(input: $input) { token user { role } } }`,
    { input: { email: "durable-admin@example.com", name: "Admin", password: "correct horse battery" } },
  );
  if (result.data?.signUp?.user?.role !== "ADMIN") throw new Error(`signUp failed: ${JSON.stringify(result.body)}`);
  return result.data.signUp.token as string;
}

/**
 * Streams mutations at `server` with IN_FLIGHT requests outstanding, kills it with SIGKILL after `killAfterMs`, and
 * records into `model` every mutation whose successful response came back. Unexpected failures (an error from the
 * live server, a network error before the kill) go into `problems`.
 */
async function streamAndKill(
  server: ChildServer,
  token: string,
  model: Map<string, AckedIncident>,
  random: () => number,
  round: number,
  killAfterMs: number,
  problems: string[],
): Promise<RoundStats> {
  const stats: RoundStats = { round, killAfterMs, sent: 0, acked: 0, lostInFlight: 0, inFlightAtKill: 0 };
  let killed = false;
  let inFlight = 0;
  let seq = 0;
  let firstAck: () => void = () => {};
  const firstAcked = new Promise<void>((resolve) => (firstAck = resolve));

  const pickTarget = (): AckedIncident | undefined => {
    const candidates = [...model.values()].filter((incident) => incident.ops < MAX_OPS_PER_INCIDENT);
    return candidates.length === 0 ? undefined : candidates[Math.floor(random() * candidates.length)];
  };

  const one = async (worker: number) => {
    const tag = `r${round}-w${worker}-${++seq}`;
    const roll = random();
    const target = roll < 0.3 ? undefined : pickTarget();
    let label: string;
    let send: () => Promise<{ ok: boolean; body: unknown }>;
    if (!target) {
      label = `createIncident ${tag}`;
      send = async () => {
        const result = await server.gql(CREATE, { input: { title: `created ${tag}`, priority: "HIGH" } }, token);
        const created = result.data?.createIncident;
        const ok = result.status === 200 && !result.errors && created?.version === 1 && created.title === `created ${tag}`;
        if (ok) {
          model.set(created.id, {
            id: created.id,
            ops: 0,
            maxVersion: 1,
            titleAtMaxVersion: created.title,
            ackedUpdates: 0,
            notes: new Map(),
            attemptedNotes: new Set(),
          });
        }
        return { ok, body: result.body };
      };
    } else if (roll < 0.65) {
      const message = `note ${tag}`;
      label = `addIncidentLog ${target.id} ${tag}`;
      target.ops++;
      target.attemptedNotes.add(message);
      send = async () => {
        const result = await server.gql(ADD_LOG, { id: target.id, message }, token);
        const log = result.data?.addIncidentLog;
        const ok =
          result.status === 200 && !result.errors && log?.kind === "NOTE" && log.message === message && log.incident?.id === target.id;
        if (ok) target.notes.set(log.id, message);
        return { ok, body: result.body };
      };
    } else {
      const title = `title ${tag}`;
      label = `updateIncident ${target.id} ${tag}`;
      target.ops++;
      send = async () => {
        // Unguarded and always a real change (every title is new), so each acknowledged update bumps the version.
        const result = await server.gql(UPDATE, { id: target.id, input: { title } }, token);
        const updated = result.data?.updateIncident;
        const ok = result.status === 200 && !result.errors && updated?.title === title && updated.version > 1;
        if (ok) {
          target.ackedUpdates++;
          if (updated.version > target.maxVersion) {
            target.maxVersion = updated.version;
            target.titleAtMaxVersion = updated.title;
          }
        }
        return { ok, body: result.body };
      };
    }

    stats.sent++;
    inFlight++;
    try {
      const { ok, body } = await send();
      if (ok) {
        stats.acked++;
        firstAck();
      } else problems.push(`round ${round}: ${label} answered without success: ${JSON.stringify(body)}`);
    } catch (error) {
      if (killed) stats.lostInFlight++;
      else problems.push(`round ${round}: ${label} failed before the kill: ${String(error)}`);
    } finally {
      inFlight--;
    }
  };

  const worker = async (index: number) => {
    while (!killed) await one(index);
  };
  const workers = Array.from({ length: IN_FLIGHT }, (_, index) => worker(index));

  // The kill point is counted from the round's first acknowledged write, so that a slow start-up never eats it.
  let timer: NodeJS.Timeout | undefined;
  const started = await Promise.race([
    firstAcked.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
  ]);
  clearTimeout(timer);
  if (!started) problems.push(`round ${round}: no write was acknowledged within 10 s`);
  else await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  killed = true;
  stats.inFlightAtKill = inFlight;
  const exit = await server.kill("SIGKILL");
  if (exit.signal !== "SIGKILL") problems.push(`round ${round}: the server was not killed by SIGKILL: ${JSON.stringify(exit)}`);
  await Promise.all(workers);
  return stats;
}

/** Every acknowledged mutation must be visible through the API of the restarted server, and nothing else must be. */
async function verifyThroughApi(server: ChildServer, token: string, model: Map<string, AckedIncident>, when: string) {
  const problems: string[] = [];
  const incidents = [...model.values()];
  for (let start = 0; start < incidents.length; start += 20) {
    const chunk = incidents.slice(start, start + 20);
    const fields = `id title version logs(first: 100) { totalCount pageInfo { hasNextPage } nodes { id kind message } }`;
    const query = `query(${chunk.map((_, i) => `$i${i}: ID!`).join(", ")}) {
      ${chunk.map((_, i) => `i${i}: incident(id: $i${i}) { ${fields} }`).join("\n")}
    }`;
    const variables = Object.fromEntries(chunk.map((incident, i) => [`i${i}`, incident.id]));
    const result = await server.gql(query, variables, token);
    if (result.errors || !result.data) {
      problems.push(`${when}: reading incidents failed: ${JSON.stringify(result.body)}`);
      continue;
    }
    chunk.forEach((expected, i) => {
      const actual = result.data[`i${i}`];
      if (!actual) {
        problems.push(`${when}: acknowledged incident ${expected.id} is missing`);
        return;
      }
      if (actual.version < expected.maxVersion) {
        problems.push(`${when}: incident ${expected.id} is at version ${actual.version}, an acknowledged update returned ${expected.maxVersion}`);
      } else if (actual.version === expected.maxVersion && actual.title !== expected.titleAtMaxVersion) {
        problems.push(
          `${when}: incident ${expected.id} at version ${actual.version} has title "${actual.title}", acknowledged "${expected.titleAtMaxVersion}"`,
        );
      }
      if (actual.logs.pageInfo.hasNextPage) problems.push(`${when}: incident ${expected.id} has more than 100 log entries`);
      const logs = actual.logs.nodes as Array<{ id: string; kind: string; message: string }>;
      if (actual.logs.totalCount !== logs.length) {
        problems.push(`${when}: incident ${expected.id} totalCount ${actual.logs.totalCount} but ${logs.length} entries listed`);
      }
      const byId = new Map(logs.map((log) => [log.id, log]));
      for (const [logId, message] of expected.notes) {
        const log = byId.get(logId);
        if (!log) problems.push(`${when}: acknowledged log entry ${logId} ("${message}") of incident ${expected.id} is missing`);
        else if (log.kind !== "NOTE" || log.message !== message) {
          problems.push(`${when}: log entry ${logId} of incident ${expected.id} is ${JSON.stringify(log)}, acknowledged NOTE "${message}"`);
        }
      }
      const edits = logs.filter((log) => log.kind === "EDIT").length;
      const notes = logs.filter((log) => log.kind === "NOTE");
      // Each update here is a title change: one version and exactly one EDIT entry, committed together or not at all.
      if (edits !== actual.version - 1) {
        problems.push(`${when}: incident ${expected.id} is at version ${actual.version} but has ${edits} EDIT entries`);
      }
      if (edits < expected.ackedUpdates) {
        problems.push(`${when}: incident ${expected.id} has ${edits} EDIT entries, ${expected.ackedUpdates} updates were acknowledged`);
      }
      for (const note of notes) {
        if (!expected.attemptedNotes.has(note.message)) problems.push(`${when}: incident ${expected.id} has a note nobody sent: ${note.message}`);
      }
      const other = logs.filter((log) => log.kind !== "EDIT" && log.kind !== "NOTE");
      if (other.length > 0) problems.push(`${when}: incident ${expected.id} has unexpected entries ${JSON.stringify(other)}`);
    });
  }
  return problems;
}

/** The backend's own checks (SQLite: PRAGMA integrity_check and foreign_key_check), plus table-level counts against what was acknowledged. */
async function verifyFile(db: TestDatabase, model: Map<string, AckedIncident>, when: string): Promise<string[]> {
  const problems: string[] = (await db.integrityProblems()).map((problem) => `${when}: ${problem}`);
  const incidents = await db.scalar("SELECT count(*) AS n FROM incidents");
  if (incidents < model.size) problems.push(`${when}: ${incidents} incidents in the file, ${model.size} were acknowledged`);
  const notes = [...model.values()].reduce((sum, incident) => sum + incident.notes.size, 0);
  const noteRows = await db.scalar("SELECT count(*) AS n FROM incident_logs WHERE kind = 'NOTE'");
  if (noteRows < notes) problems.push(`${when}: ${noteRows} NOTE rows in the file, ${notes} notes were acknowledged`);
  const versions = await db.scalar("SELECT coalesce(sum(version - 1), 0) AS n FROM incidents");
  const edits = await db.scalar("SELECT count(*) AS n FROM incident_logs WHERE kind = 'EDIT'");
  if (versions !== edits) problems.push(`${when}: versions add up to ${versions} changes but there are ${edits} EDIT rows`);
  return problems;
}

describe("durability of acknowledged writes", () => {
  it(
    "survives SIGKILL mid-write without losing an acknowledged mutation",
    async () => {
      const seed = Number(process.env.DURABILITY_SEED ?? Date.now() % 2 ** 31);
      const killPoints = seededRandom(seed);
      const random = seededRandom(seed ^ 0x9e3779b9);
      const database = await tempDatabase("incident-api-durability-");
      const { dbPath } = database;
      cleanup = database.remove;
      const model = new Map<string, AckedIncident>();
      const rounds: RoundStats[] = [];
      const problems: string[] = [];

      let server = await startChildServer({ dbPath });
      const token = await signUpAdmin(server);

      for (let round = 1; round <= ROUNDS; round++) {
        const killAfterMs = 150 + Math.floor(killPoints() * 450);
        const stats = await streamAndKill(server, token, model, random, round, killAfterMs, problems);
        rounds.push(stats);

        // Restart on the same file: the new process recovers the WAL the killed one left behind.
        server = await startChildServer({ dbPath });
        problems.push(...(await verifyThroughApi(server, token, model, `after kill ${round}`)));
        problems.push(...(await verifyFile(database, model, `after kill ${round} (server up)`)));
        if (problems.length > 0) break;
      }

      const exit = await server.stop();
      problems.push(...(await verifyFile(database, model, "after the final shutdown")));

      const summary = {
        seed,
        rounds,
        acknowledgedIncidents: model.size,
        acknowledgedNotes: [...model.values()].reduce((sum, incident) => sum + incident.notes.size, 0),
        acknowledgedUpdates: [...model.values()].reduce((sum, incident) => sum + incident.ackedUpdates, 0),
      };
      console.log(`durability: ${JSON.stringify(summary)}`);
      expect(problems, `seed ${seed}`).toEqual([]);
      expect(exit, "graceful shutdown after the last round").toEqual({ code: 0, signal: null });
      // The test means something only if writes were acknowledged in every round and some were cut off in flight.
      for (const stats of rounds) expect(stats.acked, `round ${stats.round} acknowledged writes`).toBeGreaterThan(0);
      expect(rounds.reduce((sum, stats) => sum + stats.inFlightAtKill, 0), "writes in flight at the kills").toBeGreaterThan(0);
      expect(rounds).toHaveLength(ROUNDS);
    },
    60_000,
  );
});
