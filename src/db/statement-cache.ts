import { createHash } from "node:crypto";
import { createByteBudgetCache } from "../shared/byte-budget-cache.js";

/**
 * What one prepared statement holds, most of it outside the JavaScript heap: SQLite's compiled program, or the
 * statement PostgreSQL keeps for each connection of the pool, plus its text and Drizzle's query object here.
 */
export const statementBytes = 32 * 1024;

/** Each cache's default: 256 statements. */
export const defaultStatementCacheBytes = 256 * statementBytes;

export type StatementCache<T> = (shape: string, build: (name: string) => T) => T;

/**
 * Prepared statements keyed by query shape (filters present, order, columns read), prepared on first use and
 * reused. The shapes are finite, but many; the cache keeps the most recently used within `maxBytes`.
 * `build` receives a server-side statement name for the shape (the same shape always has the same text).
 */
export function statementCache<T>(maxBytes: number): StatementCache<T> {
  const cache = createByteBudgetCache<T>({ maxBytes });
  return (shape, build) => {
    let statement = cache.get(shape);
    if (statement === undefined) {
      statement = build(`q_${createHash("sha1").update(shape).digest("hex").slice(0, 20)}`);
      cache.set(shape, statement, statementBytes);
    }
    return statement;
  };
}
