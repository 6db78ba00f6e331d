import { RateLimitedError } from "../shared/errors.js";

export interface LoginThrottle {
  /** Rejects with RATE_LIMITED while `key` has used up its failures for the window. */
  check(key: string): Promise<void>;
  fail(key: string): Promise<void>;
  succeed(key: string): Promise<void>;
}

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  now?: () => number;
}

/**
 * Failed logins per key in a fixed window that starts at the first failure. In memory: one process.
 * The map is pruned as it is used, so a flood of distinct keys cannot grow it without bound.
 */
export function createLoginThrottle({ maxFailures, windowMs, now = Date.now }: ThrottleOptions): LoginThrottle {
  const windows = new Map<string, { start: number; failures: number }>();
  const maxKeys = 100_000;

  const current = (key: string) => {
    const entry = windows.get(key);
    if (entry && now() - entry.start >= windowMs) {
      windows.delete(key);
      return undefined;
    }
    return entry;
  };

  const prune = () => {
    const time = now();
    for (const [key, entry] of windows) {
      if (time - entry.start >= windowMs) windows.delete(key);
    }
    // Still full of live windows: drop the oldest (Map keeps insertion order).
    for (const key of windows.keys()) {
      if (windows.size < maxKeys) break;
      windows.delete(key);
    }
  };

  return {
    async check(key) {
      const entry = current(key);
      if (entry && entry.failures >= maxFailures) {
        throw new RateLimitedError(Math.max(1, Math.ceil((entry.start + windowMs - now()) / 1000)));
      }
    },
    async fail(key) {
      const entry = current(key);
      if (entry) {
        entry.failures += 1;
        return;
      }
      if (windows.size >= maxKeys) prune();
      windows.set(key, { start: now(), failures: 1 });
    },
    async succeed(key) {
      windows.delete(key);
    },
  };
}
