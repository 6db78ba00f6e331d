import { RateLimitedError } from "./errors.js";

export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * At most `concurrency` tasks at once and at most `queue` waiting; past that, callers are told to retry
 * (RATE_LIMITED) instead of piling up. Used for password hashing, whose memory cost is per running hash.
 */
export function createConcurrencyLimit(concurrency: number, queue: number): ConcurrencyLimit {
  let running = 0;
  const waiting: Array<() => void> = [];

  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      running += 1;
      next();
    }
  };

  return {
    async run(task) {
      if (running >= concurrency) {
        if (waiting.length >= queue) throw new RateLimitedError(1);
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running += 1;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
