// Units of database work written once for both backends. A unit is a generator that yields the statements it
// wants run and receives their results; a backend drives it: synchronously inside a better-sqlite3 transaction
// (whose callback must not await), or asynchronously on one PostgreSQL connection. The rules in between (what to
// read, what to write next) are plain TypeScript, shared. Statements are written with `?` placeholders in the SQL
// both backends understand; where the SQL truly differs, a `Dialect` supplies the fragment.

export type Row = Record<string, unknown>;

/** One statement, prepared once per backend (per connection on PostgreSQL) under `name`, and reused. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export interface StatementCall {
  readonly statement: Statement;
  readonly params: readonly unknown[];
}

export type Work<T> = Generator<StatementCall, T, Row[]>;

/** Every row the statement returns. */
export function* all(statement: Statement, params: readonly unknown[]): Work<Row[]> {
  return yield { statement, params };
}

/** The first row the statement returns, if any. */
export function* one(statement: Statement, params: readonly unknown[]): Work<Row | undefined> {
  return (yield { statement, params })[0];
}

/** Drives `work` to its end, running each statement with `execute`. */
export function runSync<T>(work: Work<T>, execute: (call: StatementCall) => Row[]): T {
  let step = work.next();
  while (!step.done) step = work.next(execute(step.value));
  return step.value;
}

export async function runAsync<T>(work: Work<T>, execute: (call: StatementCall) => Promise<Row[]>): Promise<T> {
  let step = work.next();
  while (!step.done) step = work.next(await execute(step.value));
  return step.value;
}

/** What differs between the two backends' SQL and values. */
export interface Dialect {
  readonly kind: "sqlite" | "postgres";
  /** A value bound for a timestamp column (SQLite: epoch ms; PostgreSQL: the Date). */
  time(date: Date): unknown;
  /** A value bound for a boolean column (SQLite: 1 or 0). */
  bool(value: boolean): unknown;
  /** A list bound as one parameter, for `inList`. */
  list(values: readonly unknown[]): unknown;
  /** `column IN (the list bound at this ?)`, one prepared statement for any length. */
  inList(column: string, type: "bigint" | "text"): string;
  /** The text value of key `?` in a JSON object held as text in `column`. */
  jsonText(column: string): string;
  /** The key bound for `jsonText`. */
  jsonKey(key: string): string;
  /** `a = b`, where two NULLs are equal. */
  same(a: string, b: string): string;
  /** Appended to a text expression in ORDER BY: code-point order, as JavaScript sorts (PostgreSQL's default follows the locale). */
  binary: string;
  /**
   * Appended to a SELECT that locks the rows it reads for writing until the transaction ends (SQLite's write lock
   * covers it). PostgreSQL: FOR NO KEY UPDATE, as an UPDATE that keeps the key takes, not FOR UPDATE: the latter
   * also waits for the key-share lock every insert of a child row (an entry, an alert) takes on its parent, so two
   * writers that each inserted a child and then locked the parent waited on each other ("deadlock detected").
   */
  forNoKeyUpdate: string;
  readId(value: unknown): number;
  readTime(value: unknown): Date;
  readBool(value: unknown): boolean;
  /** count(*) and the like (PostgreSQL hands bigint counts over as text). */
  readNumber(value: unknown): number;
}

export const sqliteDialect: Dialect = {
  kind: "sqlite",
  time: (date) => date.getTime(),
  bool: (value) => (value ? 1 : 0),
  list: (values) => JSON.stringify(values),
  inList: (column) => `${column} IN (SELECT value FROM json_each(?))`,
  jsonText: (column) => `json_extract(${column}, ?)`,
  jsonKey: (key) => `$."${key}"`,
  same: (a, b) => `${a} IS ${b}`,
  forNoKeyUpdate: "",
  binary: "",
  readId: (value) => value as number,
  readTime: (value) => new Date(value as number),
  readBool: (value) => value === 1,
  readNumber: (value) => Number(value),
};

export const postgresDialect: Dialect = {
  kind: "postgres",
  time: (date) => date,
  bool: (value) => value,
  list: (values) => [...values],
  inList: (column, type) => `${column} = ANY(?::${type}[])`,
  jsonText: (column) => `(${column}::jsonb ->> ?::text)`,
  jsonKey: (key) => key,
  same: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
  forNoKeyUpdate: " FOR NO KEY UPDATE",
  binary: ' COLLATE "C"',
  readId: (value) => Number(value),
  readTime: (value) => value as Date,
  readBool: (value) => value === true,
  readNumber: (value) => Number(value),
};

/** `?` -> `$1`, `$2`, ... (statements written here put no `?` inside string literals). */
export function numberedPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/** Prepared statements by name, bounded by the statements the code defines (names are not built from input). */
export function preparedCache<T>(prepare: (statement: Statement) => T): (statement: Statement) => T {
  const cache = new Map<string, T>();
  return (statement) => {
    let prepared = cache.get(statement.name);
    if (!prepared) {
      prepared = prepare(statement);
      cache.set(statement.name, prepared);
    }
    return prepared;
  };
}
