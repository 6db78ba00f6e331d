import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

// One suite, both backends: TEST_DATABASE=postgres runs every server of the suite on PostgreSQL, each on a
// database of its own, created fresh on 127.0.0.1:5432 and dropped when the server closes. Anything the tests
// need to see or do below the API goes through a TestDatabase, whichever backend it is.

export type TestBackend = "sqlite" | "postgres";

export const testBackend: TestBackend = process.env.TEST_DATABASE === "postgres" ? "postgres" : "sqlite";
export const onPostgres = testBackend === "postgres";

/** Where test databases are created from (any database of the server, for CREATE/DROP DATABASE). */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Every database this run creates is named `it_<run>_...`; the global teardown drops what is left of them. */
export const POSTGRES_DATABASE_PREFIX = `it_${process.env.TEST_PG_RUN ?? "adhoc"}_`;

export interface TestDatabase {
  kind: TestBackend;
  /** A fresh temporary directory (the SQLite file's, and a working directory for child servers). */
  dir: string;
  /** The SQLite file (on PostgreSQL a path in `dir` that nothing creates). */
  dbPath: string;
  /** What DATABASE_URL must say for a server on this database. */
  url: string;
  /** The rows of one statement; parameters are written `?` on both backends. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The first column of the first row as a number: PostgreSQL returns count(*) and sums as text. */
  scalar(sql: string, params?: unknown[]): Promise<number>;
  /** One or more statements, no parameters. */
  exec(sql: string): Promise<void>;
  /**
   * The backend's own soundness checks, empty when all is well. SQLite: PRAGMA integrity_check and
   * foreign_key_check. PostgreSQL: amcheck's bt_index_check (with heapallindexed) on every index, every
   * constraint validated, and no row whose foreign key names nothing.
   */
  integrityProblems(): Promise<string[]>;
  /** Drops the database (PostgreSQL) and deletes the directory. Idempotent. */
  remove(): Promise<void>;
}

let adminPool: pg.Pool | undefined;
const admin = () => {
  if (!adminPool) {
    adminPool = new pg.Pool({ connectionString: POSTGRES_ADMIN_URL, max: 2, idleTimeoutMillis: 1_000, allowExitOnIdle: true });
    adminPool.on("error", () => {});
  }
  return adminPool;
};

/** One statement on the server's admin database (`test`), for what cannot run inside the database it changes. */
export async function postgresAdminQuery(sql: string): Promise<void> {
  await admin().query(sql);
}

let counter = 0;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** `?` -> `$1`, `$2`, ... outside quoted strings. */
function numbered(sql: string): string {
  let n = 0;
  let quoted = false;
  let out = "";
  for (const char of sql) {
    if (char === "'") quoted = !quoted;
    out += char === "?" && !quoted ? `$${++n}` : char;
  }
  return out;
}

function sqliteDatabase(dir: string): TestDatabase {
  const dbPath = join(dir, "incidents.db");
  // Read-only for reading, so that a check never disturbs the server's own connection.
  const open = <T>(work: (db: Database.Database) => T, readonly = true): T => {
    const db = new Database(dbPath, { readonly, fileMustExist: true, timeout: 5_000 });
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  let removed = false;
  return {
    kind: "sqlite",
    dir,
    dbPath,
    url: `file:${dbPath}`,
    query: async <T>(sql: string, params: unknown[] = []) => open((db) => db.prepare(sql).all(...params) as T[]),
    scalar: async (sql, params = []) => open((db) => Number(Object.values(db.prepare(sql).get(...params) as object)[0])),
    exec: async (sql) => open((db) => void db.exec(sql), false),
    integrityProblems: async () =>
      open((db) => {
        const problems: string[] = [];
        const integrity = db.pragma("integrity_check", { simple: true });
        if (integrity !== "ok") problems.push(`integrity_check: ${JSON.stringify(integrity)}`);
        const dangling = db.pragma("foreign_key_check") as unknown[];
        if (dangling.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(dangling.slice(0, 10))}`);
        return problems;
      }),
    async remove() {
      if (removed) return;
      removed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresDatabase(dir: string): Promise<TestDatabase> {
  const name = `${POSTGRES_DATABASE_PREFIX}${process.pid}_${++counter}`.toLowerCase();
  await admin().query(`CREATE DATABASE "${name}"`);
  const url = withDatabase(POSTGRES_ADMIN_URL, name);
  let client: pg.Client | undefined;
  const connection = async () => {
    if (!client) {
      client = new pg.Client({ connectionString: url });
      client.on("error", () => {});
      await client.connect();
    }
    return client;
  };
  const query = async <T>(sql: string, params: unknown[] = []) => (await (await connection()).query(numbered(sql), params)).rows as T[];
  let removal: Promise<void> | undefined;
  return {
    kind: "postgres",
    dir,
    dbPath: join(dir, "incidents.db"),
    url,
    query,
    async scalar(sql, params) {
      const [row] = await query<Record<string, unknown>>(sql, params);
      return Number(Object.values(row ?? {})[0]);
    },
    async exec(sql) {
      await (await connection()).query(sql);
    },
    async integrityProblems() {
      const problems: string[] = [];
      const db = await connection();
      try {
        await db.query("CREATE EXTENSION IF NOT EXISTS amcheck");
        const indexes = await db.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
           WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace`,
        );
        for (const { name } of indexes.rows) {
          try {
            await db.query("SELECT bt_index_check($1::regclass, true)", [`public."${name}"`]);
          } catch (error) {
            problems.push(`bt_index_check(${name}): ${(error as Error).message}`);
          }
        }
      } catch (error) {
        problems.push(`amcheck is not available: ${(error as Error).message}`);
      }
      const unvalidated = await db.query(
        `SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND NOT convalidated`,
      );
      for (const row of unvalidated.rows) problems.push(`constraint ${row.conname} is not validated`);
      const foreignKeys = await db.query<{ child: string; column: string; parent: string; key: string; name: string }>(
        `SELECT c.conname AS name, c.conrelid::regclass::text AS child, a.attname AS column,
                c.confrelid::regclass::text AS parent, p.attname AS key
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_attribute p ON p.attrelid = c.confrelid AND p.attnum = c.confkey[1]
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace`,
      );
      for (const fk of foreignKeys.rows) {
        const orphans = await db.query(
          `SELECT count(*)::int AS n FROM ${fk.child} x WHERE x."${fk.column}" IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ${fk.parent} y WHERE y."${fk.key}" = x."${fk.column}")`,
        );
        if (orphans.rows[0].n > 0) problems.push(`${fk.name}: ${orphans.rows[0].n} rows name nothing`);
      }
      return problems;
    },
    remove: () =>
      (removal ??= (async () => {
        await client?.end().catch(() => {});
        await admin().query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}

/** A fresh database of the backend under test (or of `backend`), in a fresh temporary directory. */
export async function createTestDatabase(prefix = "incident-api-test-", backend: TestBackend = testBackend): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (backend === "sqlite") return sqliteDatabase(dir);
  try {
    return await postgresDatabase(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Drops every database whose name starts with `prefix` (the global teardown's safety net). */
export async function dropPostgresDatabases(prefix: string): Promise<string[]> {
  const pool = admin();
  const { rows } = await pool.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [prefix]);
  for (const { datname } of rows) await pool.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await pool.end();
  adminPool = undefined;
  return rows.map((row) => row.datname);
}
