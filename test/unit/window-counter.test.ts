import { describe, expect, it } from "vitest";
import { createMemoryWindowCounter } from "../../src/shared/window-counter.js";

describe("the in-memory window counter", () => {
  it("counts within a window that starts at the first addition, then starts over", async () => {
    let now = 1000;
    const counter = createMemoryWindowCounter({ windowMs: 60_000, maxBytes: 1 << 20, now: () => now });
    expect(await counter.add("k", 3)).toEqual({ count: 3, resetAt: 61_000 });
    now = 30_000;
    expect(await counter.add("k", 2)).toEqual({ count: 5, resetAt: 61_000 });
    expect(await counter.peek("k")).toEqual({ count: 5, resetAt: 61_000 });
    now = 61_000;
    expect(await counter.peek("k")).toEqual({ count: 0, resetAt: 61_000 });
    expect(await counter.add("k", 1)).toEqual({ count: 1, resetAt: 121_000 });
  });

  it("stays within its byte budget whatever the number or length of keys", async () => {
    const counter = createMemoryWindowCounter({ windowMs: 60_000, maxBytes: 32 * 1024 });
    for (let i = 0; i < 20_000; i++) await counter.add(`${"x".repeat(i % 3 === 0 ? 100_000 : 10)}${i}`, 1);
    expect(counter.cache.bytes).toBeLessThanOrEqual(32 * 1024);
  });
});
