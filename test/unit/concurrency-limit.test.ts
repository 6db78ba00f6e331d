import { describe, expect, it } from "vitest";
import { createConcurrencyLimit, createFairShareLimit } from "../../src/shared/concurrency-limit.js";
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

describe("the fair-share limit", () => {
  const fair = (total: number, queuedPerKey: number, queuedTotal: number) =>
    createFairShareLimit({ total, perKey: total, queuedPerKey, queuedTotal });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("gives a freed slot to a waiting quiet key before the flooding key's own queue", async () => {
    const limit = fair(2, 8, 16);
    const floodGates = Array.from({ length: 6 }, deferred);
    const started: string[] = [];
    const flood = floodGates.map((gate, i) =>
      limit.run("flood", async () => {
        started.push(`flood${i}`);
        await gate.promise;
      }),
    );
    await settle();
    expect(started).toEqual(["flood0", "flood1"]);
    const quiet = limit.run("quiet", async () => started.push("quiet"));
    floodGates[0]!.resolve();
    await quiet;
    // The first slot to free went to the quiet key, though four of the flood's requests waited before it.
    expect(started.slice(0, 3)).toEqual(["flood0", "flood1", "quiet"]);
    floodGates.forEach((gate) => gate.resolve());
    await Promise.all(flood);
    expect(started).toEqual(["flood0", "flood1", "quiet", "flood2", "flood3", "flood4", "flood5"]);
  });

  it("shares the slots round-robin between waiting keys that run as many", async () => {
    const limit = fair(1, 8, 16);
    const gate = deferred();
    const order: string[] = [];
    const first = limit.run("a", () => gate.promise);
    const runs = ["a", "a", "b", "b", "c"].map((key) => limit.run(key, async () => order.push(key)));
    gate.resolve();
    await Promise.all([first, ...runs]);
    expect(order).toEqual(["b", "c", "a", "b", "a"]);
  });

  it("bounds one key's queue: its surplus is refused while another key is still queued", async () => {
    const limit = fair(1, 2, 16);
    const gate = deferred();
    const held = [limit.run("flood", () => gate.promise), limit.run("flood", () => gate.promise), limit.run("flood", () => gate.promise)];
    await expect(limit.run("flood", async () => "late")).rejects.toBeInstanceOf(RateLimitedError);
    const quiet = limit.run("quiet", async () => "quiet");
    gate.resolve();
    await expect(quiet).resolves.toBe("quiet");
    await Promise.all(held);
  });

  it("with the whole queue full, refuses the newest waiter of the longest queue to admit a quiet key", async () => {
    const limit = fair(1, 8, 4);
    const gate = deferred();
    const running = limit.run("flood", () => gate.promise);
    const queued = Array.from({ length: 4 }, (_, i) => limit.run("flood", async () => i));
    const outcomes = Promise.allSettled(queued);
    // A second flood key: the queue is full, and its queue would not be shorter than the first's after the swap.
    const quiet = limit.run("quiet", async () => "quiet");
    gate.resolve();
    await running;
    await expect(quiet).resolves.toBe("quiet");
    const settled = await outcomes;
    expect(settled.map((outcome) => outcome.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected"]);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
  });

  it("refuses a newcomer when the full queue is already shared evenly", async () => {
    const limit = fair(1, 8, 2);
    const gate = deferred();
    const running = limit.run("a", () => gate.promise);
    const queued = [limit.run("a", async () => 1), limit.run("b", async () => 2)];
    await expect(limit.run("c", async () => 3)).rejects.toBeInstanceOf(RateLimitedError);
    gate.resolve();
    await Promise.all([running, ...queued]);
  });

  it("keeps a slot from one key when its share is less than the total: another key starts at once", async () => {
    const limit = createFairShareLimit({ total: 3, perKey: 2, queuedPerKey: 8, queuedTotal: 16 });
    const gate = deferred();
    const started: string[] = [];
    const flood = [0, 1, 2].map((i) => limit.run("flood", async () => (started.push(`flood${i}`), gate.promise)));
    await settle();
    expect(started).toEqual(["flood0", "flood1"]);
    await expect(limit.run("quiet", async () => "quiet")).resolves.toBe("quiet");
    gate.resolve();
    await Promise.all(flood);
    expect(started).toEqual(["flood0", "flood1", "flood2"]);
  });

  it("never runs more than the total, and forgets keys once idle", async () => {
    const limit = fair(3, 8, 16);
    let now = 0;
    let most = 0;
    const tasks = Array.from({ length: 20 }, (_, i) =>
      limit.run(`k${i % 4}`, async () => {
        most = Math.max(most, ++now);
        await settle();
        now -= 1;
      }).catch(() => undefined),
    );
    await Promise.all(tasks);
    expect(most).toBe(3);
    await expect(limit.run("k0", async () => "free")).resolves.toBe("free");
  });
});
