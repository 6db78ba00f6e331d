import { Algorithm, hash, verify } from "@node-rs/argon2";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { createConcurrencyLimit } from "../shared/concurrency-limit.js";
import { RateLimitedError } from "../shared/errors.js";

// OWASP's argon2id profile: 19 MiB of memory, 2 iterations, 1 lane.
const options = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same work as a real verification, so an unknown email cannot be told apart by timing. */
  verifyNothing(password: string): Promise<false>;
}

/**
 * Each running hash holds 19 MiB, so a login flood is bounded twice: a fixed number of hashes run at once
 * (one per core), and a bounded queue waits behind them; beyond that, RATE_LIMITED.
 */
export function createPasswordHasher(
  limit = createConcurrencyLimit(Math.max(2, availableParallelism()), 256),
): PasswordHasher {
  let decoy: Promise<string> | undefined;
  const check = async (stored: string, password: string) => {
    try {
      return await limit.run(() => verify(stored, password));
    } catch (error) {
      if (error instanceof RateLimitedError) throw error;
      return false;
    }
  };
  return {
    hash: (password) => limit.run(() => hash(password, options)),
    verify: check,
    async verifyNothing(password) {
      decoy ??= hash(randomBytes(24).toString("base64url"), options);
      await check(await decoy, password);
      return false;
    },
  };
}
