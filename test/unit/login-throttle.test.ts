import { describe, expect, it } from "vitest";
import { createLoginThrottle } from "../../src/auth/login-throttle.js";
import { RateLimitedError } from "../../src/shared/errors.js";

describe("the login throttle", () => {
  it("refuses the 11th attempt after 10 failures until the window passes", () => {
    let time = 0;
    const throttle = createLoginThrottle({ maxFailures: 10, windowMs: 15 * 60_000, now: () => time });
    for (let i = 0; i < 10; i++) {
      throttle.check("a@x.io");
      throttle.fail("a@x.io");
    }
    expect(() => throttle.check("a@x.io")).toThrow(RateLimitedError);
    try {
      throttle.check("a@x.io");
    } catch (error) {
      expect((error as RateLimitedError).retryAfterSeconds).toBe(900);
    }
    expect(() => throttle.check("b@x.io")).not.toThrow();
    time = 15 * 60_000;
    expect(() => throttle.check("a@x.io")).not.toThrow();
  });
});
