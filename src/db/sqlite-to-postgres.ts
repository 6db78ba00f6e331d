// Copies a SQLite database of the API into a PostgreSQL one (`npm run db:copy`, scripts/db-copy.ts).
//
// The source is opened read-only and read inside one read transaction (a consistent snapshot, even if a server
// still writes to it). The target is migrated with the server's own migrator (under its advisory lock), then
// everything happens in ONE PostgreSQL transaction: lock the three tables, refuse unless they are empty, copy
// users, incidents and incident_logs (foreign-key order) in multi-row INSERTs keeping every id, compare every
// row read back with its source row, move the identity sequences past the copied ids (ALTER TABLE ... RESTART,
// which is transactional, unlike setval), and COMMIT. Any failure rolls the whole copy back: the target stays empty.
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type pg from "pg";
import { migrationsFolder } from "./migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "./postgres.js";

/** The copy was refused before anything was written (the message says why and what to do). */
export class CopyRefusedError extends Error {
  override name = "CopyRefusedError";
}

/** What was copied and verified, table by table. */
export interface TableCopySummary {
  table: string;
  rows: number;
  /** Largest id copied (0 for an empty table). */
  maxId: number;
  /** The id PostgreSQL hands out next. */
  nextId: number;
}

export interface CopyOptions {
  /** Path of the SQLite file. */
  sqlitePath: string;
  /** postgres://... */
  postgresUrl: string;
  /** Rows per INSERT statement; default 1,000. */
  batchSize?: number;
}

type Kind = "id" | "int" | "text" | "bool" | "time";

interface TableSpec {
  name: string;
  /** Copied columns (the generated priority_rank is not one of them: PostgreSQL computes it). */
  columns: Array<[name: string, kind: Kind]>;
}

/** In foreign-key order. */
const TABLES: TableSpec[] = [
  {
    name: "users",
    columns: [
      ["id", "id"],
      ["email", "text"],
      ["name", "text"],
      ["password_hash", "text"],
      ["role", "text"],
      ["active", "bool"],
      ["token_version", "int"],
      ["created_at", "time"],
      ["updated_at", "time"],
    ],
  },
  {
    name: "incidents",
    columns: [
      ["id", "id"],
      ["title", "text"],
      ["description", "text"],
      ["status", "text"],
      ["priority", "text"],
      ["reporter_id", "id"],
      ["assignee_id", "id"],
      ["version", "int"],
      ["created_at", "time"],
      ["updated_at", "time"],
      ["acknowledged_at", "time"],
      ["resolved_at", "time"],
      ["closed_at", "time"],
    ],
  },
  {
    name: "incident_logs",
    columns: [
      ["id", "id"],
      ["incident_id", "id"],
      ["kind", "text"],
      ["message", "text"],
      ["author_id", "id"],
      ["from_status", "text"],
      ["to_status", "text"],
      ["created_at", "time"],
    ],
  },
];

const pgCast: Record<Kind, string> = { id: "bigint", int: "integer", text: "text", bool: "boolean", time: "timestamptz" };

function fail(table: string, id: unknown, column: string, problem: string): never {
  throw new Error(`${table} id ${String(id)}, column ${column}: ${problem}`);
}

/** A SQLite value as the canonical value, refusing what PostgreSQL's column could not hold unchanged. */
function fromSqlite(table: string, id: unknown, column: string, kind: Kind, value: unknown): number | string | boolean | null {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "id":
    case "int":
    case "time":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) fail(table, id, column, `${JSON.stringify(value)} is not an integer`);
      if (kind === "time" && Number.isNaN(new Date(value).getTime())) fail(table, id, column, `${value} is not a time`);
      return value;
    case "bool":
      if (typeof value !== "number") fail(table, id, column, `${JSON.stringify(value)} is not 0 or 1`);
      return value !== 0;
    case "text":
      if (typeof value !== "string") fail(table, id, column, `${JSON.stringify(value)} is not text`);
      return value;
  }
}

/** A value for a PostgreSQL parameter (cast in the statement). */
function toParameter(kind: Kind, value: number | string | boolean | null): unknown {
  if (value === null) return null;
  if (kind === "time") return new Date(value as number).toISOString();
  return value;
}

/** How each column is read back from PostgreSQL: times as epoch ms (exact: timestamp(3)), ids as text. */
function pgSelectList(spec: TableSpec): string {
  return spec.columns
    .map(([name, kind]) =>
      kind === "time"
        ? `(extract(epoch FROM "${name}") * 1000)::bigint::text AS "${name}"`
        : kind === "id"
          ? `"${name}"::text AS "${name}"`
          : `"${name}"`,
    )
    .join(", ");
}

function fromPostgres(kind: Kind, value: unknown): number | string | boolean | null {
  if (value === null || value === undefined) return null;
  if (kind === "id" || kind === "time") return Number(value);
  return value as number | string | boolean;
}

/** Checks the SQLite file is a database of this API with every migration of this build applied. */
function checkSource(source: Database.Database, path: string): void {
  const journal = source.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'`).get();
  if (!journal) {
    throw new CopyRefusedError(
      `${path} has no migration journal: it is not a database of this API, or it was never migrated (start the server on it once, or run npm run db:migrate with DATABASE_URL=file:${path})`,
    );
  }
  const migrations = readMigrationFiles({ migrationsFolder: migrationsFolder("sqlite") });
  const applied = source.prepare(`SELECT created_at FROM "__drizzle_migrations"`).all() as Array<{ created_at: number }>;
  const last = Math.max(0, ...applied.map((row) => Number(row.created_at)));
  const pending = migrations.filter((migration) => migration.folderMillis > last);
  if (pending.length > 0) {
    throw new CopyRefusedError(
      `${path} lacks ${pending.length} migration(s) of this version: start the server on it once, or run npm run db:migrate with DATABASE_URL=file:${path}, then copy again`,
    );
  }
  const newest = Math.max(0, ...migrations.map((migration) => migration.folderMillis));
  if (last > newest) {
    throw new CopyRefusedError(`${path} was migrated by a newer version of the API than this one: copy it with that version`);
  }
  // Services, labels, integrations, alerts and webhooks are not copied yet: refuse rather than leave them behind.
  for (const table of ["services", "incident_labels", "integrations", "alerts", "webhook_endpoints", "webhook_deliveries"]) {
    if (source.prepare(`SELECT 1 FROM "${table}" LIMIT 1`).get()) {
      throw new CopyRefusedError(`${path} has rows in ${table}, which this version of db:copy does not copy yet; nothing was copied`);
    }
  }
  const dangling = source.pragma("foreign_key_check") as unknown[];
  if (dangling.length > 0) {
    throw new CopyRefusedError(`${path} has ${dangling.length} row(s) whose foreign keys name nothing (PRAGMA foreign_key_check); PostgreSQL would refuse them`);
  }
}

/** SQLite's AUTOINCREMENT never reuses an id, even of a deleted row; sqlite_sequence remembers the largest handed out. */
function sqliteSequence(source: Database.Database, table: string): number {
  const row = source.prepare(`SELECT seq FROM sqlite_sequence WHERE name = ?`).get(table) as { seq: number } | undefined;
  return Number(row?.seq ?? 0);
}

async function copyTable(
  source: Database.Database,
  client: pg.PoolClient,
  spec: TableSpec,
  batchSize: number,
): Promise<TableCopySummary> {
  const names = spec.columns.map(([name]) => `"${name}"`).join(", ");
  const page = source.prepare(`SELECT ${names} FROM "${spec.name}" WHERE id > ? ORDER BY id LIMIT ?`);
  const width = spec.columns.length;
  let after = Number.MIN_SAFE_INTEGER;
  let rows = 0;
  let maxId = 0;
  // Copy, batch by batch.
  for (;;) {
    const batch = page.all(after, batchSize) as Array<Record<string, unknown>>;
    if (batch.length === 0) break;
    const params: unknown[] = [];
    const tuples = batch.map((row, r) => {
      const placeholders = spec.columns.map(([name, kind], c) => {
        params.push(toParameter(kind, fromSqlite(spec.name, row.id, name, kind, row[name])));
        return `$${r * width + c + 1}::${pgCast[kind]}`;
      });
      return `(${placeholders.join(", ")})`;
    });
    try {
      await client.query(`INSERT INTO "${spec.name}" (${names}) VALUES ${tuples.join(", ")}`, params);
    } catch (error) {
      const ids = `${String(batch[0]!.id)} to ${String(batch[batch.length - 1]!.id)}`;
      throw new Error(`${spec.name}: PostgreSQL refused the rows with ids ${ids}: ${(error as Error).message}`, { cause: error });
    }
    rows += batch.length;
    after = batch[batch.length - 1]!.id as number;
    maxId = Math.max(maxId, after);
  }

  // Verify: the same number of rows, and every row read back equal, column by column, to its source row.
  const sourceCount = (source.prepare(`SELECT count(*) AS n FROM "${spec.name}"`).get() as { n: number }).n;
  const targetCount = Number((await client.query(`SELECT count(*) AS n FROM "${spec.name}"`)).rows[0].n);
  if (sourceCount !== rows || targetCount !== rows) {
    throw new Error(`${spec.name}: ${sourceCount} rows in SQLite, ${rows} copied, ${targetCount} in PostgreSQL`);
  }
  after = Number.MIN_SAFE_INTEGER;
  const select = pgSelectList(spec);
  for (;;) {
    const expected = page.all(after, batchSize) as Array<Record<string, unknown>>;
    if (expected.length === 0) break;
    const actual = (
      await client.query(`SELECT ${select} FROM "${spec.name}" t WHERE t.id > $1 ORDER BY t.id LIMIT $2`, [after, batchSize])
    ).rows as Array<Record<string, unknown>>;
    expected.forEach((row, i) => {
      const copied = actual[i];
      if (!copied) fail(spec.name, row.id, "id", "missing in PostgreSQL");
      for (const [name, kind] of spec.columns) {
        const want = fromSqlite(spec.name, row.id, name, kind, row[name]);
        const got = fromPostgres(kind, copied[name]);
        if (want !== got) fail(spec.name, row.id, name, `${JSON.stringify(want)} in SQLite, ${JSON.stringify(got)} in PostgreSQL`);
      }
    });
    after = expected[expected.length - 1]!.id as number;
  }

  // New rows continue after every id SQLite ever handed out.
  const nextId = Math.max(maxId, sqliteSequence(source, spec.name)) + 1;
  await client.query(`ALTER TABLE "${spec.name}" ALTER COLUMN "id" RESTART WITH ${nextId}`);
  return { table: spec.name, rows, maxId, nextId };
}

/**
 * Copies every row of the SQLite database at `sqlitePath` into the (empty) PostgreSQL database at
 * `postgresUrl`, after applying its migrations. Throws CopyRefusedError when the source is not fully migrated
 * or the target is not empty, and any other error when the copy fails; either way the target's tables hold
 * nothing of the copy.
 */
export async function copySqliteToPostgres(options: CopyOptions): Promise<TableCopySummary[]> {
  const batchSize = options.batchSize ?? 1_000;
  if (!existsSync(options.sqlitePath)) throw new CopyRefusedError(`no SQLite database at ${options.sqlitePath}`);
  const source = new Database(options.sqlitePath, { readonly: true, fileMustExist: true, timeout: 5_000 });
  try {
    checkSource(source, options.sqlitePath);
    const handle = openPostgres({ url: options.postgresUrl, poolSize: 2 });
    try {
      await applyPostgresMigrations(handle, migrationsFolder("postgres"));
      const client = await handle.pool.connect();
      try {
        await client.query("BEGIN");
        try {
          // Nothing else writes to these tables until COMMIT; readers may go on.
          await client.query(`LOCK TABLE "users", "incidents", "incident_logs" IN EXCLUSIVE MODE`);
          const occupied: string[] = [];
          for (const spec of TABLES) {
            const { rows } = await client.query(`SELECT EXISTS (SELECT 1 FROM "${spec.name}") AS any`);
            if (rows[0].any) occupied.push(spec.name);
          }
          if (occupied.length > 0) {
            throw new CopyRefusedError(
              `the PostgreSQL database is not empty (${occupied.join(", ")} hold rows): copy into a new, empty database; nothing was changed`,
            );
          }
          // One snapshot of the source for the whole copy and its verification.
          source.exec("BEGIN");
          const summaries: TableCopySummary[] = [];
          try {
            for (const spec of TABLES) summaries.push(await copyTable(source, client, spec, batchSize));
          } finally {
            source.exec("COMMIT");
          }
          await client.query("COMMIT");
          return summaries;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => {});
          throw error;
        }
      } finally {
        client.release();
      }
    } finally {
      await handle.close();
    }
  } finally {
    source.close();
  }
}

/** One line per table, e.g. `incidents: 120 rows copied and verified (ids up to 131; next id 132)`. */
export function describeCopy(summary: TableCopySummary): string {
  return `${summary.table}: ${summary.rows} row(s) copied and verified (ids up to ${summary.maxId}; next id ${summary.nextId})`;
}
