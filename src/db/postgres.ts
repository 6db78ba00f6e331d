import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import * as schema from "./pg-schema.js";
import { enterLane } from "./request-lanes.js";

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };
/** The `tx` a transaction's work receives: the same query builder, on the transaction's connection. */
export type PgTx = Parameters<Parameters<PgDb["transaction"]>[0]>[0];

export interface PostgresHandle {
  db: PgDb;
  pool: pg.Pool;
  /** BEGIN ... COMMIT on one pooled connection; ROLLBACK and rethrow when `work` throws. */
  transaction<T>(work: (tx: PgTx) => Promise<T>): Promise<T>;
  /** Whether `lower(x COLLATE "und-x-icu")` is available; set by `detectIcu`, before repositories are made. */
  icu: boolean;
  /** `SELECT 1` answers. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  /** Connections at most (DB_POOL_SIZE). */
  poolSize: number;
  /** Called once for every SQL statement sent, including BEGIN, COMMIT and ROLLBACK. */
  onStatement?: () => void;
  /** A connection broke (the server restarted, the network dropped); the pool replaces it. For logging only. */
  onConnectionError?: (error: Error) => void;
  /** How long a request waits for a connection (to open, or to be free) before it fails; default 5 s. */
  connectionTimeoutMs?: number;
}

/**
 * A `pg` pool with drizzle on top. Every connection's `query` is wrapped to count statements (the pool's own
 * `query` goes through it too, so each statement is counted once). A connection that breaks never takes the
 * process down: the pool and every connection carry an `error` listener, the pool drops broken connections,
 * and the next request opens a new one; requests during an outage fail with an error the API masks.
 */
export function openPostgres(options: PostgresOptions): PostgresHandle {
  const onStatement = options.onStatement ?? (() => {});
  const onConnectionError = options.onConnectionError ?? (() => {});
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // Notices a peer that vanished without closing the connection (a failover, a dropped network).
    keepAlive: true,
    application_name: "incident-api",
    // Times come back in the one format drizzle parses, whatever the server's or role's defaults.
    options: "-c datestyle=ISO,MDY -c timezone=UTC",
  });
  // Emitted for idle connections, which the pool then drops; without a listener it would crash the process.
  // Already reported by the connection's own listener below.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    // A checked-out connection (a transaction in progress) has no pool listener: its failing query rejects,
    // and the event itself is only reported.
    client.on("error", (error) => onConnectionError(error));
    const query = client.query;
    client.query = function (this: pg.PoolClient, ...args: unknown[]) {
      onStatement();
      return (query as (...args: unknown[]) => unknown).apply(this, args);
    } as typeof client.query;
  });
  // A connection is idle or may be opened, and nobody waits for one.
  const poolIsFree = () => pool.waitingCount === 0 && (pool.idleCount > 0 || pool.totalCount < options.poolSize);
  // Statements outside transactions take a place in their request's lane first (request-lanes.ts).
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = (async (...args: unknown[]) => {
    const entering = typeof args.at(-1) === "function" ? undefined : enterLane(poolIsFree);
    if (!entering) return poolQuery(...args);
    const release = await entering;
    try {
      return await poolQuery(...args);
    } finally {
      release();
    }
  }) as typeof pool.query;
  const db = drizzle({ client: pool, schema }) as PgDb;
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    icu: false,
    transaction: (work) => db.transaction(work),
    async ready() {
      try {
        const result = await pool.query("SELECT 1 AS ok");
        return result.rows[0]?.ok === 1;
      } catch {
        return false;
      }
    },
    close: () => (closing ??= pool.end()),
  };
}

/** Any constant works, as long as every instance of the API uses the same one. */
const MIGRATION_LOCK = 7_301_846_113;

/**
 * Applies pending drizzle-kit migrations from `folder` with drizzle's node-postgres migrator (journal in
 * drizzle.__drizzle_migrations, all pending migrations in one transaction), holding a session-level
 * `pg_advisory_lock` on one connection meanwhile: instances starting together take turns, and the later ones
 * find nothing left to do. Returns the number of migrations applied.
 */
export async function applyPostgresMigrations(handle: PostgresHandle, folder: string): Promise<number> {
  const client = await handle.pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const journal = async () => {
      const exists = await client.query(`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`);
      if (!exists.rows[0]?.present) return 0;
      const counted = await client.query(`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
      return counted.rows[0]?.n as number;
    };
    const before = await journal();
    // On this one connection, so that the lock covers the migrator's own statements.
    await migrate(drizzle({ client, schema }), { migrationsFolder: folder });
    const applied = (await journal()) - before;
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    client.release();
    return applied;
  } catch (error) {
    // Closing the connection ends its session, and with it the advisory lock.
    client.release(error as Error);
    throw error;
  }
}

/**
 * Case-insensitive search must fold every script. lower() follows the database's lc_ctype (with "C" it folds
 * ASCII only); ICU's root collation folds like JavaScript's toLowerCase, whatever the ctype. Sets `handle.icu`.
 */
export async function detectIcu(handle: PostgresHandle): Promise<boolean> {
  const result = await handle.pool.query(`SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') AS icu`);
  handle.icu = result.rows[0]?.icu === true;
  return handle.icu;
}
