import { describe, expect, it } from "vitest";
import { FrequencyCache } from "../../src/modules/intelligence/frequency-cache.js";

// The counts of common terms that similarity reuses, without a database.

function cache(maxEntries = 10) {
  let now = 0;
  const frequencies = new FrequencyCache({ maxAgeMs: 60_000, maxEntries, now: () => now });
  return { frequencies, wait: (ms: number) => (now += ms) };
}

describe("kept term frequencies", () => {
  it("gives back a kept count while the collection has not grown by more than 1% and a minute has not passed", () => {
    const { frequencies, wait } = cache();
    frequencies.observe(100_000);
    frequencies.set("latency", 20_000);
    frequencies.observe(101_000);
    wait(60_000);
    expect(frequencies.get("latency")).toBe(20_000);
  });

  it("forgets a count once the collection has grown by more than 1%", () => {
    const { frequencies } = cache();
    frequencies.observe(100_000);
    frequencies.set("latency", 20_000);
    frequencies.observe(101_001);
    expect(frequencies.get("latency")).toBeUndefined();
    // Counted again, it is kept against the new size.
    frequencies.set("latency", 20_300);
    expect(frequencies.get("latency")).toBe(20_300);
  });

  it("forgets a count after a minute, when edits and deletions may have changed it without growing the collection", () => {
    const { frequencies, wait } = cache();
    frequencies.observe(100_000);
    frequencies.set("latency", 20_000);
    wait(60_001);
    expect(frequencies.get("latency")).toBeUndefined();
  });

  it("never takes a smaller collection size for the current one", () => {
    const { frequencies } = cache();
    frequencies.observe(100_000);
    frequencies.set("latency", 20_000);
    frequencies.observe(200_000);
    frequencies.observe(100_000); // an older answer, read before the newest one
    expect(frequencies.get("latency")).toBeUndefined();
  });

  it("keeps at most maxEntries counts, dropping the oldest first", () => {
    const { frequencies } = cache(2);
    frequencies.observe(10_000);
    frequencies.set("disk", 1_000);
    frequencies.set("latency", 2_000);
    frequencies.set("timeout", 3_000);
    expect([frequencies.get("disk"), frequencies.get("latency"), frequencies.get("timeout")]).toEqual([undefined, 2_000, 3_000]);
  });
});
