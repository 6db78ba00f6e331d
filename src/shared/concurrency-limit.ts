import { RateLimitedError } from "./errors.js";

export interface KeyedConcurrencyLimit {
  /** Runs `task` when `key` has a free slot; RATE_LIMITED when its queue is full too. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T>;
}

interface Lane {
  running: number;
  waiting: Array<() => void>;
}

/**
 * Per key, at most `concurrent` tasks at once and the next `queued` waiting their turn; past that, callers are told
 * to retry (RATE_LIMITED) instead of piling up. A key's lane exists only while it has tasks, so the map holds
 * active keys and nothing else.
 */
export function createKeyedConcurrencyLimit(concurrent: number, queued: number, refusal?: string): KeyedConcurrencyLimit {
  const lanes = new Map<string, Lane>();

  const release = (key: string, lane: Lane) => {
    const next = lane.waiting.shift();
    if (next) return next();
    lane.running -= 1;
    if (lane.running === 0) lanes.delete(key);
  };

  return {
    async run(key, task) {
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = { running: 0, waiting: [] }));
      if (lane.running >= concurrent) {
        if (lane.waiting.length >= queued) throw new RateLimitedError(1, refusal);
        // The slot is handed over by release(): `running` stays as it is.
        await new Promise<void>((resolve) => lane.waiting.push(resolve));
      } else {
        lane.running += 1;
      }
      try {
        return await task();
      } finally {
        release(key, lane);
      }
    },
  };
}

/** One lane: used for password hashing, whose memory cost is per running hash. */
export function createConcurrencyLimit(concurrency: number, queue: number): ConcurrencyLimit {
  const limit = createKeyedConcurrencyLimit(concurrency, queue);
  return { run: (task) => limit.run("", task) };
}
