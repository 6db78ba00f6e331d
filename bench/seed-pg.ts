// The PostgreSQL twin of bench/seed.ts: the same users, incidents and timeline entries (same names, messages,
// statuses, priorities, ties on created_at, null assignees and null authors), written with `pg` as multi-row
// INSERTs in one transaction. The schema must exist already (the server applies its migrations at start-up).
// Used by `npm run bench -- --pg` and by test/bench-floor-pg.test.ts.
import pg from "pg";
import type { SeedOptions, SeedResult, SeedUsers } from "./seed.js";
import { seedShapes } from "./seed.js";

type Queryable = pg.ClientBase;

/** Rows per INSERT: well below PostgreSQL's 65,535 parameters per statement. */
const CHUNK = 2000;

async function insertRows(client: Queryable, head: string, columns: number, rows: unknown[][], tail = ""): Promise<pg.QueryResult> {
  let last: pg.QueryResult | undefined;
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const base = params.length;
      params.push(...row);
      return `(${Array.from({ length: columns }, (_, k) => `$${base + k + 1}`).join(", ")})`;
    });
    last = await client.query(`${head} VALUES ${tuples.join(", ")} ${tail}`, params);
  }
  return last!;
}

export async function seedUsersPg(client: Queryable, count = 6): Promise<SeedUsers> {
  const now = new Date(Date.UTC(2025, 0, 1));
  const wanted = seedShapes.users(count);
  const all = [...wanted, seedShapes.scribe];
  await insertRows(
    client,
    "INSERT INTO users (email, name, password_hash, role, active, token_version, created_at, updated_at)",
    8,
    all.map((user) => [user.email, user.name, seedShapes.passwordHash, user.role, true, 0, now, now]),
    "ON CONFLICT (email) DO NOTHING",
  );
  const { rows } = await client.query<{ id: string; email: string }>("SELECT id, email FROM users WHERE email = ANY($1::text[])", [
    all.map((user) => user.email),
  ]);
  const byEmail = new Map(rows.map((row) => [row.email, Number(row.id)]));
  const ids = wanted.map((user) => byEmail.get(user.email)!);
  return { responders: ids, scribe: byEmail.get(seedShapes.scribe.email)!, all: ids };
}

/** Same rows as seedIncidents (bench/seed.ts), in one transaction of multi-row INSERTs. */
export async function seedIncidentsPg(client: Queryable, options: SeedOptions): Promise<SeedResult> {
  await client.query("BEGIN");
  try {
    const users = await seedUsersPg(client, options.users ?? 6);
    const newest = (await client.query<{ ms: string | null }>("SELECT (extract(epoch FROM max(created_at)) * 1000)::bigint AS ms FROM incidents"))
      .rows[0]!.ms;
    const start = options.startAt ?? (newest === null ? Date.UTC(2025, 0, 1) : Number(newest)) + 60_000;
    const base = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM incidents")).rows[0]!.n);
    // Ids taken from the identity sequence first, so that every entry names its incident without relying on the
    // order of RETURNING.
    const incidentIds =
      options.incidents === 0
        ? []
        : (
            await client.query<{ id: string }>("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id FROM generate_series(1, $1)", [
              options.incidents,
            ])
          ).rows
            .map((row) => Number(row.id))
            .sort((a, b) => a - b);
    const rows = seedShapes.incidents(users, base, options.incidents, options.logsPerIncident, start);
    const writable: number[] = [];
    const incidentRows: unknown[][] = [];
    const logRows: unknown[][] = [];
    rows.forEach((row, n) => {
      const id = incidentIds[n]!;
      if (row.status !== "CLOSED") writable.push(id);
      const at = (ms: number | null) => (ms === null ? null : new Date(ms));
      incidentRows.push([
        id,
        row.title,
        row.description,
        row.status,
        row.priority,
        row.reporter,
        row.assignee,
        1,
        at(row.createdAt),
        at(row.createdAt + 900),
        at(row.acknowledgedAt),
        at(row.resolvedAt),
        at(row.closedAt),
      ]);
      for (const entry of row.logs) logRows.push([id, entry.kind, entry.message, entry.author, null, null, at(entry.createdAt)]);
    });
    if (incidentRows.length > 0) {
      await insertRows(
        client,
        `INSERT INTO incidents (id, title, description, status, priority, reporter_id, assignee_id, version, created_at, updated_at,
                                acknowledged_at, resolved_at, closed_at)`,
        13,
        incidentRows,
      );
    }
    if (logRows.length > 0) {
      await insertRows(client, "INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)", 7, logRows);
    }
    await client.query("COMMIT");
    const lastCreatedAt = rows.length > 0 ? rows[rows.length - 1]!.createdAt : start;
    return { users, incidentIds, writable, firstCreatedAt: start, lastCreatedAt };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Connects to `url`, seeds, disconnects. */
export async function seedPostgres(url: string, options: SeedOptions): Promise<SeedResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await seedIncidentsPg(client, options);
    await client.query("ANALYZE");
    return result;
  } finally {
    await client.end();
  }
}
