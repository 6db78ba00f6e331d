import { sql as drizzleSql, type SQL } from "drizzle-orm";
import type pg from "pg";
import type { PgTx, PostgresHandle } from "./postgres.js";
import type { SqliteHandle } from "./sqlite.js";
import {
  numberedPlaceholders,
  postgresDialect,
  preparedCache,
  runAsync,
  runSync,
  sqliteDialect,
  type Dialect,
  type Row,
  type StatementCall,
  type Work,
} from "./sql-work.js";

/** Runs shared units of work (sql-work.ts) on one backend. */
export interface SqlBackend {
  readonly dialect: Dialect;
  /** One transaction; SQLite takes the write lock first (BEGIN IMMEDIATE). All or nothing. */
  transaction<T>(work: () => Work<T>, options?: TransactionOptions): Promise<T>;
  /** Reads, outside any explicit transaction. */
  read<T>(work: () => Work<T>): Promise<T>;
}

export interface TransactionOptions {
  /**
   * Committed without waiting for the disk (SQLite: synchronous=NORMAL for this commit; PostgreSQL: synchronous_commit
   * off). Atomic and in order all the same, but a power loss may undo it: only for writes whose loss is harmless.
   */
  relaxed?: boolean;
}

/** Runs statements on a SQLite connection, each prepared once (on first use) and reused. */
function sqliteExecutor(handle: SqliteHandle): (call: StatementCall) => Row[] {
  const prepared = preparedCache((statement) => handle.client.prepare<unknown[], Row>(statement.text));
  return ({ statement, params }) => {
    const ready = prepared(statement);
    if (ready.reader) return ready.all(...params);
    ready.run(...params);
    return [];
  };
}

export function sqliteBackend(handle: SqliteHandle): SqlBackend {
  const execute = sqliteExecutor(handle);
  return {
    dialect: sqliteDialect,
    async transaction(work, options) {
      if (!options?.relaxed) return handle.writeTransaction(() => runSync(work(), execute));
      // In WAL mode the next commit at synchronous=FULL makes this one durable too.
      handle.client.pragma("synchronous = NORMAL");
      try {
        return handle.writeTransaction(() => runSync(work(), execute));
      } finally {
        handle.client.pragma("synchronous = FULL");
      }
    },
    read: async (work) => runSync(work(), execute),
  };
}

/** Runs shared work inside a transaction the caller already holds on this SQLite connection. */
export function sqliteRunner(handle: SqliteHandle): <T>(work: Work<T>) => T {
  const execute = sqliteExecutor(handle);
  return (work) => runSync(work, execute);
}

const pgTexts = preparedCache((statement) => numberedPlaceholders(statement.text));

async function pgExecute(client: pg.Pool | pg.PoolClient, { statement, params }: StatementCall): Promise<Row[]> {
  const result = await client.query<Row>({ name: statement.name, text: pgTexts(statement), values: params as unknown[] });
  return result.rows;
}

export function postgresBackend(handle: PostgresHandle): SqlBackend {
  return {
    dialect: postgresDialect,
    async transaction(work, options) {
      const client = await handle.pool.connect();
      try {
        await client.query("BEGIN");
        if (options?.relaxed) await client.query("SET LOCAL synchronous_commit = off");
        const result = await runAsync(work(), (call) => pgExecute(client, call));
        await client.query("COMMIT");
        client.release();
        return result;
      } catch (error) {
        await client.query("ROLLBACK").then(
          () => client.release(),
          (rollbackError: Error) => client.release(rollbackError),
        );
        throw error;
      }
    },
    read: (work) => runAsync(work(), (call) => pgExecute(handle.pool, call)),
  };
}

/** The same work inside a drizzle transaction the caller already holds (cold paths: statements are not named). */
export function runOnPgTx<T>(tx: PgTx, work: Work<T>): Promise<T> {
  return runAsync(work, async ({ statement, params }) => {
    const result = await tx.execute<Row>(withParams(statement.text, params));
    return result.rows;
  });
}

function withParams(text: string, params: readonly unknown[]): SQL {
  const chunks = text.split("?");
  const query = drizzleSql.empty();
  chunks.forEach((chunk, index) => {
    query.append(drizzleSql.raw(chunk));
    // An array is one parameter (a list bound for `= ANY(?)`), not a list for drizzle to spread.
    const value = params[index];
    if (index < chunks.length - 1) query.append(drizzleSql`${Array.isArray(value) ? drizzleSql.param(value) : value}`);
  });
  return query;
}
