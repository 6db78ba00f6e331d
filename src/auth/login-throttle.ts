import { RateLimitedError } from "../shared/errors.js";
import type { WindowCounter } from "../shared/window-counter.js";

export interface LoginThrottle {
  /** Rejects with RATE_LIMITED while `key` has used up its failures for the window. */
  check(key: string): Promise<void>;
  fail(key: string): Promise<void>;
  succeed(key: string): Promise<void>;
}

export interface ThrottleOptions {
  /** Failures per key, in a window that starts at the first failure (in memory, or shared through Redis). */
  failures: WindowCounter;
  maxFailures: number;
  now?: () => number;
}

/** Failed logins per key: past `maxFailures` in a window, RATE_LIMITED until the window ends. */
export function createLoginThrottle({ failures, maxFailures, now = Date.now }: ThrottleOptions): LoginThrottle {
  return {
    async check(key) {
      const { count, resetAt } = await failures.peek(key);
      if (count >= maxFailures) throw new RateLimitedError(Math.max(1, Math.ceil((resetAt - now()) / 1000)));
    },
    async fail(key) {
      await failures.add(key, 1);
    },
    async succeed(key) {
      await failures.reset(key);
    },
  };
}
