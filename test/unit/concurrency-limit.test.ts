import { describe, expect, it } from "vitest";
import { createConcurrencyLimit } from "../../src/shared/concurrency-limit.js";
import { RateLimitedError } from "../../src/shared/errors.js";

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
};

describe("the concurrency limit", () => {
  it("runs at most N tasks at once and refuses past the queue", async () => {
    const limit = createConcurrencyLimit(2, 1);
    let running = 0;
    let peak = 0;
    const gates = [deferred(), deferred(), deferred()];
    const task = (gate: { promise: Promise<void> }) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await gate.promise;
      running -= 1;
    };
    const runs = gates.map((gate) => limit.run(task(gate)));
    await expect(limit.run(async () => undefined)).rejects.toBeInstanceOf(RateLimitedError);
    gates.forEach((gate) => gate.resolve());
    await Promise.all(runs);
    expect(peak).toBe(2);
    await expect(limit.run(async () => "free again")).resolves.toBe("free again");
  });
});
