import { describe, expect, it } from "vitest";
import { defaultRetrySchedule, nextAttemptDelayMs, parseRetryAfter } from "../src/modules/webhooks/retry-policy.js";

const middle = () => 0.5; // no jitter: the scheduled delay itself

describe("the next attempt's delay", () => {
  it("follows the schedule, then ends it", () => {
    expect(nextAttemptDelayMs(defaultRetrySchedule, 1, undefined, middle)).toBe(5_000);
    expect(nextAttemptDelayMs(defaultRetrySchedule, 7, undefined, middle)).toBe(43_200_000);
    expect(nextAttemptDelayMs(defaultRetrySchedule, 8, undefined, middle)).toBeUndefined();
  });

  it("waits longer when Retry-After asks for more than the schedule, up to a day", () => {
    expect(nextAttemptDelayMs(defaultRetrySchedule, 1, 120, middle)).toBe(120_000);
    expect(nextAttemptDelayMs(defaultRetrySchedule, 1, 10 * 24 * 3600, middle)).toBe(24 * 3600 * 1000);
  });

  it("never waits less than the schedule, whatever Retry-After says", () => {
    for (const retryAfter of [0, 1, 2]) expect(nextAttemptDelayMs(defaultRetrySchedule, 1, retryAfter, middle)).toBe(5_000);
    expect(nextAttemptDelayMs(defaultRetrySchedule, 3, 0, middle)).toBe(300_000);
  });

  it("reads a date in the past, or a value that is no delay, as no wait of its own", () => {
    const now = Date.parse("2026-12-01T00:00:00Z");
    expect(parseRetryAfter("Fri, 31 Dec 1999 23:59:59 GMT", now)).toBe(0);
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(nextAttemptDelayMs(defaultRetrySchedule, 1, parseRetryAfter("1.5", now), middle)).toBe(5_000);
  });
});
