import { describe, expect, it } from "vitest";
import { createLoginThrottle } from "../../src/auth/login-throttle.js";
import { RateLimitedError } from "../../src/shared/errors.js";
import { createMemoryWindowCounter } from "../../src/shared/window-counter.js";

const throttleAt = (clock: { time: number }, maxFailures: number, windowMs: number, maxBytes = 1024 * 1024) => {
  const now = () => clock.time;
  return createLoginThrottle({ failures: createMemoryWindowCounter({ windowMs, maxBytes, now }), maxFailures, now });
};

describe("the login throttle", () => {
  it("refuses the 11th attempt after 10 failures until the window passes", async () => {
    const clock = { time: 0 };
    const throttle = throttleAt(clock, 10, 15 * 60_000);
    for (let i = 0; i < 10; i++) {
      await throttle.check("a@x.io");
      await throttle.fail("a@x.io");
    }
    await expect(throttle.check("a@x.io")).rejects.toThrow(RateLimitedError);
    const error = await throttle.check("a@x.io").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(900);
    await expect(throttle.check("b@x.io")).resolves.toBeUndefined();
    clock.time = 15 * 60_000;
    await expect(throttle.check("a@x.io")).resolves.toBeUndefined();
  });

  it("forgets a key's failures on success", async () => {
    const throttle = throttleAt({ time: 0 }, 2, 60_000);
    await throttle.fail("a@x.io");
    await throttle.fail("a@x.io");
    await expect(throttle.check("a@x.io")).rejects.toThrow(RateLimitedError);
    await throttle.succeed("a@x.io");
    await expect(throttle.check("a@x.io")).resolves.toBeUndefined();
  });

  it("counts a megabyte-long email under a short key, and still throttles it", async () => {
    const throttle = throttleAt({ time: 0 }, 2, 60_000, 4096);
    const huge = `${"a".repeat(1024 * 1024)}@x.io`;
    await throttle.fail(huge);
    await throttle.fail(huge);
    await expect(throttle.check(huge)).rejects.toThrow(RateLimitedError);
  });

  it("keeps within its byte budget under a flood of distinct emails, forgetting the least recent", async () => {
    const throttle = throttleAt({ time: 0 }, 1, 60_000, 64 * 1024);
    for (let i = 0; i < 100_000; i++) await throttle.fail(`user${i}@x.io`);
    await expect(throttle.check("user99999@x.io")).rejects.toThrow(RateLimitedError);
    await expect(throttle.check("user0@x.io")).resolves.toBeUndefined();
  });
});
