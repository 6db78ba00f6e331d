import type { Redis } from "ioredis";
import { counterKey, type WindowCount, type WindowCounter } from "./window-counter.js";

export interface RedisWindowCounterOptions {
  redis: Redis;
  /** Namespaces the keys, e.g. "incident-api:login:email:"; the counted value follows it. */
  keyPrefix: string;
  windowMs: number;
  now?: () => number;
}

type Replies = [Error | null, unknown][] | null;

function replies(results: Replies): unknown[] {
  if (!results) throw new Error("redis transaction aborted");
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}

/**
 * Counts in Redis, shared by every instance: INCRBY, and PEXPIRE NX (Redis 7) sets the window's end once, at the
 * first addition. A key expires with its window, so Redis holds one small counter per key counted lately.
 */
export function createRedisWindowCounter({ redis, keyPrefix, windowMs, now = Date.now }: RedisWindowCounterOptions): WindowCounter {
  const keyOf = (value: string) => keyPrefix + counterKey(value);
  const read = (count: unknown, ttl: unknown): WindowCount => {
    const remainingMs = Number(ttl);
    return { count: Number(count ?? 0), resetAt: now() + (remainingMs > 0 ? remainingMs : 0) };
  };
  return {
    async peek(value) {
      const key = keyOf(value);
      const [count, ttl] = replies(await redis.multi().get(key).pttl(key).exec());
      return read(count, ttl);
    },
    async add(value, amount) {
      const key = keyOf(value);
      // NX: only the first addition of a window sets its end; a key somehow left without one gets it here too.
      const [count, , ttl] = replies(await redis.multi().incrby(key, amount).pexpire(key, windowMs, "NX").pttl(key).exec());
      return read(count, ttl);
    },
    async reset(value) {
      await redis.del(keyOf(value));
    },
  };
}
