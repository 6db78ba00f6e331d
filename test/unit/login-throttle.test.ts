import { describe, expect, it } from "vitest";
import { createLoginThrottle } from "../../src/auth/login-throttle.js";
import { RateLimitedError } from "../../src/shared/errors.js";

describe("the login throttle", () => {
  it("refuses the 11th attempt after 10 failures until the window passes", async () => {
    let time = 0;
    const throttle = createLoginThrottle({ maxFailures: 10, windowMs: 15 * 60_000, now: () => time });
    for (let i = 0; i < 10; i++) {
      await throttle.check("a@x.io");
      await throttle.fail("a@x.io");
    }
    await expect(throttle.check("a@x.io")).rejects.toThrow(RateLimitedError);
    const error = await throttle.check("a@x.io").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(900);
    await expect(throttle.check("b@x.io")).resolves.toBeUndefined();
    time = 15 * 60_000;
    await expect(throttle.check("a@x.io")).resolves.toBeUndefined();
  });

  it("forgets a key's failures on success", async () => {
    const throttle = createLoginThrottle({ maxFailures: 2, windowMs: 60_000, now: () => 0 });
    await throttle.fail("a@x.io");
    await throttle.fail("a@x.io");
    await expect(throttle.check("a@x.io")).rejects.toThrow(RateLimitedError);
    await throttle.succeed("a@x.io");
    await expect(throttle.check("a@x.io")).resolves.toBeUndefined();
  });
});
