import "reflect-metadata";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer, type TestUser } from "./support/server.js";

// Notes are indexed one by one: adding a note costs the same whatever the incident already holds, and an incident
// whose notes hold more distinct words than one PostgreSQL tsvector can (1 MB) still takes notes, each searchable.

const backend = onPostgres ? "PostgreSQL" : "SQLite";

let server: TestServer;
let responder: TestUser;
beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER");
});
afterAll(async () => {
  await server?.close();
});

const create = async (title: string) => {
  const result = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input: { title } }, responder.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.createIncident.id as string;
};
const addNote = (incidentId: string, message: string) =>
  server.gql(`mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id: incidentId, m: message }, responder.token);
const search = async (query: string) => {
  const result = await server.gql(`query($q: String!) { searchIncidents(query: $q, first: 50) { incident { id } highlights } }`, { q: query }, responder.token);
  if (!result.data) throw new Error(JSON.stringify(result.body));
  return result.data.searchIncidents as { incident: { id: string }; highlights: string[] }[];
};

let wordCounter = 0;
/** A word no other note has: log pastes are full of them (request ids, hashes, host names). */
const distinctWord = () => `w${(++wordCounter).toString(36).padStart(6, "0")}${Math.random().toString(16).slice(2, 14).padEnd(12, "0")}`;
/** A note of about 10,000 characters, every word distinct. */
const distinctNote = () => {
  const words: string[] = [];
  let length = 0;
  while (length < 9_900) {
    const word = distinctWord();
    words.push(word);
    length += word.length + 1;
  }
  return words.join(" ");
};

/** Inserts NOTE entries straight into the timeline (the index's triggers run as for the API's). */
async function seedNotes(incidentId: string, messages: readonly string[]): Promise<void> {
  const insert = `INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES`;
  if (onPostgres) {
    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    try {
      for (const message of messages) await client.query(`${insert} ($1, 'NOTE', $2, NULL, now())`, [Number(incidentId), message]);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(server.dbPath, { timeout: 5_000 });
  try {
    const statement = db.prepare(`${insert} (?, 'NOTE', ?, NULL, 0)`);
    db.transaction(() => {
      for (const message of messages) statement.run(Number(incidentId), message);
    })();
  } finally {
    db.close();
  }
}

/**
 * Rows written by inserting one note, shadow tables of the index included: SQLite's total_changes() counts the rows
 * trigger programs and FTS5 write; PostgreSQL's pg_stat_xact_all_tables counts the transaction's rows, TOAST
 * chunks included. Rolled back, so that the database is as before.
 */
async function rowsWrittenByNote(incidentId: string, message: string): Promise<number> {
  const insert = `INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES`;
  if (onPostgres) {
    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    try {
      await client.query("BEGIN");
      await client.query(`${insert} ($1, 'NOTE', $2, NULL, now())`, [Number(incidentId), message]);
      const result = await client.query(`SELECT sum(n_tup_ins + n_tup_upd + n_tup_del)::int AS n FROM pg_stat_xact_all_tables`);
      await client.query("ROLLBACK");
      return result.rows[0].n as number;
    } finally {
      await client.end();
    }
  }
  const db = new Database(server.dbPath, { timeout: 5_000 });
  try {
    db.exec("BEGIN IMMEDIATE");
    const before = db.prepare("SELECT total_changes() AS n").get() as { n: number };
    db.prepare(`${insert} (?, 'NOTE', ?, NULL, 0)`).run(Number(incidentId), message);
    const after = db.prepare("SELECT total_changes() AS n").get() as { n: number };
    db.exec("ROLLBACK");
    return after.n - before.n;
  } finally {
    db.close();
  }
}

describe(`notes in the search index (${backend})`, () => {
  it("adding a note writes as many rows whatever the notes the incident already holds", async () => {
    const fresh = await create("Fresh incident without notes");
    const long = await create("Long running incident with a big notes history");
    await seedNotes(long, Array.from({ length: 60 }, distinctNote));
    const message = distinctNote();
    const onFresh = await rowsWrittenByNote(fresh, message);
    const onLong = await rowsWrittenByNote(long, message);
    // The same note on both; index merges of earlier writes may add a few rows to either.
    expect(onLong, `fresh ${onFresh}, long ${onLong}`).toBeLessThanOrEqual(onFresh * 2 + 20);
  });

  it("an incident whose notes hold more than 1 MB of distinct words still takes notes, each searchable at once", async () => {
    const id = await create("Log paste storm");
    // About 10 KB of distinct words each: about a hundred of them pass the 1 MB a PostgreSQL tsvector can hold.
    const seeded = Array.from({ length: 70 }, distinctNote);
    await seedNotes(id, seeded);
    for (let i = 0; i < 40; i++) {
      const message = distinctNote();
      const added = await addNote(id, message);
      expect(added.body.errors, `note ${i + 1} after the seeded ones`).toBeUndefined();
      const word = message.split(" ")[123]!;
      const found = await search(word);
      expect(found.map((hit) => hit.incident.id)).toEqual([id]);
      expect(found[0]!.highlights.join(" ")).toContain(`**${word}**`);
    }
    const first = seeded[0]!.split(" ")[7]!;
    expect((await search(first)).map((hit) => hit.incident.id)).toEqual([id]);
  });

  it("matches a query whose words are spread over the title, the description and different notes", async () => {
    const id = await create("Kestrel cache misses");
    await addNote(id, "Saw an eviction storm at 10:02");
    await addNote(id, "Rolled back the quarantine flag");
    const other = await create("Kestrel eviction storm");
    const hits = await search("kestrel eviction quarant");
    expect(hits.map((hit) => hit.incident.id)).toEqual([id]);
    expect(hits[0]!.highlights).toEqual(["**Kestrel** cache misses", "Saw an **eviction** storm at 10:02"]);
    expect((await search("kestrel eviction")).map((hit) => hit.incident.id).sort()).toEqual([id, other].sort());
    expect(await search("kestrel quarantine absent")).toEqual([]);
  });

  it("deleting an incident removes its notes from the index", async () => {
    const id = await create("Short lived incident");
    const word = distinctWord();
    expect((await addNote(id, `first note ${word}`)).body.errors).toBeUndefined();
    expect((await addNote(id, `second note ${word}`)).body.errors).toBeUndefined();
    expect((await search(word)).map((hit) => hit.incident.id)).toEqual([id]);
    const deleted = await server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id }, server.admin.token);
    expect(deleted.body.errors).toBeUndefined();
    expect(await search(word)).toEqual([]);
    if (onPostgres) {
      expect(await server.db.scalar("SELECT count(*) FROM incident_note_search WHERE incident_id = ?", [Number(id)])).toBe(0);
    } else {
      expect(await server.db.scalar("SELECT count(*) FROM incident_note_fts WHERE incident_note_fts MATCH ?", [`"${word}"`])).toBe(0);
      await server.db.exec("INSERT INTO incident_note_fts (incident_note_fts) VALUES ('integrity-check')");
    }
  });

  it("compares an incident by its first 20 notes: a term only in a later note is no shared term of similar", async () => {
    const early = await create("Heron replication stalled");
    await addNote(early, "saw zephyrquill errors in the replica log");
    const late = await create("Heron replication stalled");
    for (let i = 0; i < 20; i++) await addNote(late, `checked replica ${i}`);
    await addNote(late, "saw zephyrquill errors in the replica log");
    const source = await create("zephyrquill errors on the heron replica");
    const result = await server.gql(
      `query($id: ID!) { incident(id: $id) { similar(first: 10) { incident { id } reasons { kind detail } } } }`,
      { id: source },
      responder.token,
    );
    expect(result.body.errors).toBeUndefined();
    const textOf = (id: string) =>
      (result.data.incident.similar as { incident: { id: string }; reasons: { kind: string; detail: string }[] }[])
        .find((entry) => entry.incident.id === id)
        ?.reasons.find((reason) => reason.kind === "TEXT")?.detail ?? "";
    expect(textOf(early)).toContain("zephyrquill");
    expect(textOf(late)).not.toContain("zephyrquill");
  });
});
