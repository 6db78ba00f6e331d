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
  registerHasEveryWord(client);
  registerDurationStats(client);
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
 * duration_stats(list): for incident metrics (section 10), a group's durations, given as group_concat() of their
 * integer milliseconds (an entry `null` where an incident has no duration to count), as the JSON array
 * [count, sum, max, p50, p90, p95, entries] (nearest-rank percentiles; entries counts the nulls too);
 * [0, null, null, null, null, null, 0] for a group with none. PostgreSQL indexes an ordered array_agg; SQLite has
 * no ordered aggregate, so the sort happens here, once per group, in one call (an aggregate called once per row cost
 * more than the rest of the statement). The count, sum and maximum come from the same values: read in SQL they were
 * three more aggregate steps per incident, a fifth of the statement at 100,000 incidents (bench/RESULTS.md).
 */
function durationStats(list: unknown): string {
  if (typeof list !== "string" || list === "") return "[0,null,null,null,null,null,0]";
  const entries = durationEntries(list);
  const values = new Float64Array((list.includes("null") ? entries.filter((entry) => entry !== null) : entries) as number[]);
  const count = values.length;
  if (count === 0) return `[0,null,null,null,null,null,${entries.length}]`;
  values.sort();
  // ceil(p * n / 100) in integers: no floating point decides which value is picked.
  const at = (p: number) => values[Math.floor((p * count + 99) / 100) - 1];
  return `[${count},${exactSum(values)},${values[count - 1]},${at(50)},${at(90)},${at(95)},${entries.length}]`;
}

/** "12,-3,null,40" as numbers and nulls: JSON.parse reads a list of integers faster than a loop over its characters. */
function durationEntries(list: string): (number | null)[] {
  try {
    return JSON.parse(`[${list}]`) as (number | null)[];
  } catch {
    return list.split(",").map((entry) => (entry === "null" ? null : Number(entry)));
  }
}

/** The sum SQLite's sum() returns for integers: exact in a double while every partial sum is below 2^53, else in a BigInt. */
function exactSum(values: Float64Array): number | bigint {
  let sum = 0;
  let exact = true;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (sum > Number.MAX_SAFE_INTEGER || sum < -Number.MAX_SAFE_INTEGER) exact = false;
  }
  if (exact || !values.every(Number.isSafeInteger)) return sum;
  let big = 0n;
  for (let i = 0; i < values.length; i++) big += BigInt(values[i]!);
  return big;
}

function registerDurationStats(client: Database.Database): void {
  client.function("duration_stats", { deterministic: true }, durationStats);
}

/**
 * `has_every_word(title, description, words)`: 1 when each word of the JSON list `words` (lower-case) occurs in
 * the title or in the description, ignoring case in every script. One call per row, each text lowered once: with
 * `instr(unicode_lower(...))` per word, each word found lowered the texts again. 20,000 incidents with 8 KB
 * descriptions, ten words: 850 -> 80 ms when they all occur, 280 -> 170 ms when none does.
 */
function registerHasEveryWord(client: Database.Database): void {
  let lastList: string | undefined;
  let lastWords: string[] = [];
  client.function("has_every_word", { deterministic: true }, (title: unknown, description: unknown, list: unknown) => {
    if (list !== lastList) {
      lastWords = JSON.parse(String(list)) as string[];
      lastList = list as string;
    }
    const lowerTitle = typeof title === "string" ? title.toLowerCase() : "";
    const lowerDescription = typeof description === "string" ? description.toLowerCase() : "";
    return lastWords.every((word) => lowerTitle.includes(word) || lowerDescription.includes(word)) ? 1 : 0;
  });
}
