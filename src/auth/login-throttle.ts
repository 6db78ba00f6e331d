import { RateLimitedError } from "../shared/errors.js";

export interface LoginThrottle {
  /** Throws RATE_LIMITED while `key` has used up its failures for the window. */
  check(key: string): void;
  fail(key: string): void;
  succeed(key: string): void;
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
    check(key) {
      const entry = current(key);
      if (entry && entry.failures >= maxFailures) {
        throw new RateLimitedError(Math.max(1, Math.ceil((entry.start + windowMs - now()) / 1000)));
      }
    },
    fail(key) {
      const entry = current(key);
      if (entry) {
        entry.failures += 1;
        return;
      }
      if (windows.size >= maxKeys) prune();
      windows.set(key, { start: now(), failures: 1 });
    },
    succeed(key) {
      windows.delete(key);
    },
  };
}
