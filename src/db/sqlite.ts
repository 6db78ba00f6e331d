import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as schema from "./schema.js";
import { connectionPragmas } from "./sqlite-pragmas.js";

export type SqliteDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface SqliteHandle {
  db: SqliteDb;
  client: Database.Database;
  /** Runs `work` inside BEGIN IMMEDIATE: the write lock is taken before the first read, so read-then-write is safe. */
  writeTransaction<T>(work: () => T): T;
  close(): void;
}

export interface SqliteOptions {
  path: string;
  busyTimeoutMs: number;
  /** Called once for every SQL statement executed, including BEGIN and COMMIT. */
  onStatement?: () => void;
}

/** Counts executions (not preparations) of every statement handed out by `prepare`. */
function instrument(client: Database.Database, onStatement: () => void): void {
  const prepare = client.prepare.bind(client);
  client.prepare = ((source: string) => {
    const statement = prepare(source);
    for (const method of ["run", "get", "all", "iterate"] as const) {
      const original = statement[method] as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
        onStatement();
        return original.apply(statement, args);
      };
    }
    return statement;
  }) as typeof client.prepare;
  const exec = client.exec.bind(client);
  client.exec = ((source: string) => {
    onStatement();
    return exec(source);
  }) as typeof client.exec;
}

export function openSqlite(options: SqliteOptions): SqliteHandle {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const client = new Database(options.path, { timeout: options.busyTimeoutMs });
  for (const pragma of connectionPragmas) client.pragma(pragma);
  client.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  // SQLite's lower() folds ASCII only; search must ignore case in every script.
  client.function("unicode_lower", { deterministic: true }, (text: unknown) =>
    typeof text === "string" ? text.toLowerCase() : text,
  );
  registerNearestRanks(client);
  const onStatement = options.onStatement ?? (() => {});
  instrument(client, onStatement);
  const db = drizzle({ client, schema }) as SqliteDb;
  return {
    db,
    client,
    writeTransaction<T>(work: () => T): T {
      const run = client.transaction(work);
      onStatement(); // BEGIN IMMEDIATE
      try {
        return run.immediate();
      } finally {
        onStatement(); // COMMIT or ROLLBACK
      }
    },
    close() {
      if (client.open) client.close();
    },
  };
}

/**
 * nearest_ranks(list): for incident metrics (section 10), the nearest-rank p50, p90 and p95 of a group's durations,
 * given as group_concat() of its integers, as a JSON array; null for a group with none. PostgreSQL indexes an
 * ordered array_agg; SQLite has no ordered aggregate, so the sort happens here, once per group, in one call (an
 * aggregate called once per row cost more than the rest of the statement).
 */
/** "12,-3,40" as numbers, read in one pass (the hot part of metrics); null when anything but integers is in it. */
function integerList(list: string): Float64Array | null {
  let count = 1;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === 44) count++;
  const values = new Float64Array(count);
  let [n, value, sign, digits] = [0, 0, 1, 0];
  for (let i = 0; i <= list.length; i++) {
    const code = i === list.length ? 44 : list.charCodeAt(i);
    if (code === 44) {
      if (digits === 0) return null;
      values[n++] = sign * value;
      [value, sign, digits] = [0, 1, 0];
    } else if (code === 45 && digits === 0 && sign === 1) sign = -1;
    else if (code >= 48 && code <= 57 && digits < 15) [value, digits] = [value * 10 + code - 48, digits + 1];
    else return null;
  }
  return values;
}

function registerNearestRanks(client: Database.Database): void {
  client.function("nearest_ranks", { deterministic: true }, (list: unknown) => {
    if (typeof list !== "string" || list === "") return null;
    const values = integerList(list) ?? Float64Array.from(list.split(","), Number);
    values.sort();
    // ceil(p * n / 100) in integers: no floating point decides which value is picked.
    return JSON.stringify([50, 90, 95].map((p) => values[Math.floor((p * values.length + 99) / 100) - 1]));
  });
}
