import { createHash } from "node:crypto";
import { createByteBudgetCache } from "./byte-budget-cache.js";
import type { CacheGauge } from "./metrics.js";

/** A count in a fixed window that starts at the key's first addition. */
export interface WindowCount {
  count: number;
  /** Epoch milliseconds at which the window ends (now, for a key with no window). */
  resetAt: number;
}

/**
 * Counts per key in fixed windows: failed logins per email, points spent per client. In memory for one process,
 * or in Redis (redis-window-counter.ts) so that every instance of a deployment shares the counts.
 */
export interface WindowCounter {
  peek(key: string): Promise<WindowCount>;
  /** Adds `amount` and answers the count after it. */
  add(key: string, amount: number): Promise<WindowCount>;
  reset(key: string): Promise<void>;
}

/** Values longer than this are hashed, so that a huge email or address cannot make a huge key. */
const maxKeyLength = 256;

export const counterKey = (value: string) =>
  value.length <= maxKeyLength ? value : `sha256:${createHash("sha256").update(value).digest("hex")}`;

/** The window, its count and the cache entry that holds them. */
const entryBytes = 120;

export interface MemoryWindowCounterOptions {
  windowMs: number;
  /** The heap the counts may hold; past it the least recently counted keys are forgotten. */
  maxBytes: number;
  now?: () => number;
}

export function createMemoryWindowCounter({ windowMs, maxBytes, now = Date.now }: MemoryWindowCounterOptions): WindowCounter & { cache: CacheGauge } {
  const windows = createByteBudgetCache<WindowCount>({ maxBytes });
  const current = (key: string) => {
    const entry = windows.get(key);
    if (entry && now() >= entry.resetAt) {
      windows.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    cache: windows,
    async peek(value) {
      const entry = current(counterKey(value));
      return entry ? { ...entry } : { count: 0, resetAt: now() };
    },
    async add(value, amount) {
      const key = counterKey(value);
      let entry = current(key);
      if (!entry) {
        entry = { count: 0, resetAt: now() + windowMs };
        windows.set(key, entry, entryBytes);
      }
      entry.count += amount;
      return { ...entry };
    },
    async reset(value) {
      windows.delete(counterKey(value));
    },
  };
}
