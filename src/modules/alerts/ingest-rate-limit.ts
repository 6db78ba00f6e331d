import type { Redis } from "ioredis";

/** Requests an integration may send in a minute (INGEST_RATE_LIMIT), counted in fixed one-minute windows. */
export interface IngestRateLimit {
  /** Counts one request; the seconds to wait when it is over the limit, else undefined. */
  take(integrationId: number): Promise<number | undefined>;
}

const windowMs = 60_000;
/** Integrations are few; past this many counters, those of finished windows are dropped. */
const maxCounters = 10_000;

const retryAfter = (now: number) => Math.max(1, Math.ceil((windowMs - (now % windowMs)) / 1000));

export function createIngestRateLimit(limit: number, now: () => number = Date.now): IngestRateLimit {
  const counters = new Map<number, { window: number; count: number }>();
  return {
    async take(integrationId) {
      const time = now();
      const window = Math.floor(time / windowMs);
      let counter = counters.get(integrationId);
      if (!counter || counter.window !== window) {
        if (counters.size >= maxCounters) {
          for (const [id, old] of counters) if (old.window !== window) counters.delete(id);
        }
        counter = { window, count: 0 };
        counters.set(integrationId, counter);
      }
      counter.count++;
      return counter.count > limit ? retryAfter(time) : undefined;
    },
  };
}

/** The same windows counted in Redis, so that every instance of the deployment shares an integration's budget. */
export function createRedisIngestRateLimit(redis: Redis, keyPrefix: string, limit: number, now: () => number = Date.now): IngestRateLimit {
  return {
    async take(integrationId) {
      const time = now();
      const key = `${keyPrefix}${integrationId}:${Math.floor(time / windowMs)}`;
      const results = await redis.multi().incr(key).pexpire(key, windowMs * 2).exec();
      if (!results) throw new Error("redis transaction aborted");
      for (const [error] of results) if (error) throw error;
      return Number(results[0]![1]) > limit ? retryAfter(time) : undefined;
    },
  };
}
