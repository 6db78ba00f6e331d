import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { RateLimitedError } from "../shared/errors.js";
import type { LoginThrottle } from "./login-throttle.js";

export interface RedisThrottleOptions {
  redis: Redis;
  /** Namespaces the keys, e.g. "incident-api:login:email:"; the throttled value follows it. */
  keyPrefix: string;
  maxFailures: number;
  windowMs: number;
}

/** Values longer than this are hashed, so that a huge email or address cannot make a huge key. */
const maxKeyPart = 256;

/**
 * Failed logins per key in a fixed window that starts at the first failure, counted in Redis so that every
 * instance of the deployment shares the count: INCR, and PEXPIRE NX (Redis 7) sets the window once. The key
 * expires with its window, so Redis holds one small counter per key that failed lately, and nothing else.
 */
export function createRedisLoginThrottle({ redis, keyPrefix, maxFailures, windowMs }: RedisThrottleOptions): LoginThrottle {
  const keyOf = (value: string) =>
    keyPrefix + (value.length <= maxKeyPart ? value : `sha256:${createHash("sha256").update(value).digest("hex")}`);

  return {
    async check(value) {
      const key = keyOf(value);
      const results = await redis.multi().get(key).pttl(key).exec();
      if (!results) throw new Error("redis transaction aborted");
      for (const [error] of results) if (error) throw error;
      const failures = Number(results[0]![1] ?? 0);
      const remainingMs = Number(results[1]![1]);
      if (failures >= maxFailures) {
        throw new RateLimitedError(Math.max(1, Math.ceil((remainingMs > 0 ? remainingMs : windowMs) / 1000)));
      }
    },
    async fail(value) {
      const key = keyOf(value);
      // NX: only the first failure of a window sets its end; a key somehow left without one gets it here too.
      const results = await redis.multi().incr(key).pexpire(key, windowMs, "NX").exec();
      if (!results) throw new Error("redis transaction aborted");
      for (const [error] of results) if (error) throw error;
    },
    async succeed(value) {
      await redis.del(keyOf(value));
    },
  };
}
