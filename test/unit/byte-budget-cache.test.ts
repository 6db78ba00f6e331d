import { describe, expect, it } from "vitest";
import { createByteBudgetCache, keyBytes } from "../../src/shared/byte-budget-cache.js";

describe("the byte-budget cache", () => {
  it("evicts the least recently used entries until the new one fits the budget", () => {
    const cache = createByteBudgetCache<string>({ maxBytes: 3 * (1000 + keyBytes("a")), maxEntryBytes: 10_000 });
    cache.set("a", "A", 1000);
    cache.set("b", "B", 1000);
    cache.set("c", "C", 1000);
    expect(cache.get("a")).toBe("A"); // now b is the least recently used
    cache.set("d", "D", 1000);
    expect(cache.get("b")).toBeUndefined();
    expect([cache.get("a"), cache.get("c"), cache.get("d")]).toEqual(["A", "C", "D"]);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });

  it("makes room for one heavy entry by evicting several light ones", () => {
    const cache = createByteBudgetCache<number>({ maxBytes: 10_000, maxEntryBytes: 10_000 });
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, i, 100);
    cache.set("heavy", -1, 6000);
    expect(cache.get("heavy")).toBe(-1);
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.size).toBeLessThan(51);
  });

  it("refuses an entry heavier than its per-entry share, keeping what it had", () => {
    const cache = createByteBudgetCache<string>({ maxBytes: 10_000, maxEntryBytes: 1000 });
    cache.set("small", "s", 100);
    expect(cache.set("big", "b", 5000)).toBe(false);
    expect(cache.get("big")).toBeUndefined();
    expect(cache.get("small")).toBe("s");
  });

  it("replaces an entry's weight when its key is stored again", () => {
    const cache = createByteBudgetCache<string>({ maxBytes: 10_000 });
    cache.set("a", "1", 2000);
    cache.set("a", "2", 500);
    expect(cache.bytes).toBe(500 + keyBytes("a"));
    expect(cache.get("a")).toBe("2");
  });

  it("admits a key on its second offer within the window, and not on its first", () => {
    let now = 0;
    const cache = createByteBudgetCache<string>({ maxBytes: 100_000, admitOnRecurrence: { windowMs: 1000, now: () => now } });
    expect(cache.admits("q", 100)).toBe(false);
    now = 500;
    expect(cache.admits("q", 100)).toBe(true);
    expect(cache.admits("late", 100)).toBe(false);
    now = 2000;
    expect(cache.admits("late", 100)).toBe(false); // the window passed: a first offer again
    expect(cache.admits("late", 100)).toBe(true);
  });

  it("never admits what exceeds the per-entry share, however often it recurs", () => {
    const cache = createByteBudgetCache<string>({ maxBytes: 16_000, maxEntryBytes: 1000, admitOnRecurrence: { windowMs: 60_000 } });
    for (let i = 0; i < 5; i++) expect(cache.admits("huge", 5000)).toBe(false);
  });

  it("keeps a recurring key admitted through a flood of one-off keys", () => {
    const cache = createByteBudgetCache<string>({ maxBytes: 64 * 1024, admitOnRecurrence: { windowMs: 60_000 } });
    cache.admits("hot", 100);
    cache.admits("hot", 100);
    cache.set("hot", "H", 100);
    for (let i = 0; i < 20_000; i++) expect(cache.admits(`one-off-${i}`, 100)).toBe(false);
    expect(cache.get("hot")).toBe("H");
    expect(cache.size).toBe(1);
  });
});
