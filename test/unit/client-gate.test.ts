import { describe, expect, it } from "vitest";
import { createClientGate } from "../../src/http/client-gate.js";
import { RateLimitedError } from "../../src/shared/errors.js";
import { createTimeSlicer } from "../../src/shared/time-slicer.js";

const gateOf = (concurrent: number, queued: number) => createClientGate(concurrent, queued, createTimeSlicer());

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
};

describe("the per-client gate", () => {
  it("runs at most `concurrent` tasks of one client at once, the others in order as slots free", async () => {
    const gate = gateOf(2, 10);
    const blockers = Array.from({ length: 5 }, deferred);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const tasks = blockers.map((blocker, i) =>
      gate.run("user:1", async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await blocker.promise;
        running -= 1;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual([0, 1]);
    for (const blocker of blockers) blocker.resolve();
    await Promise.all(tasks);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses with RATE_LIMITED once the client's queue is full, while other clients still run", async () => {
    const gate = gateOf(1, 2);
    const blocker = deferred();
    const held = [0, 1, 2].map(() => gate.run("user:1", () => blocker.promise));
    await expect(gate.run("user:1", async () => "late")).rejects.toBeInstanceOf(RateLimitedError);
    await expect(gate.run("user:2", async () => "other")).resolves.toBe("other");
    blocker.resolve();
    await Promise.all(held);
    await expect(gate.run("user:1", async () => "again")).resolves.toBe("again");
  });

  it("frees a slot when a task fails", async () => {
    const gate = gateOf(1, 0);
    await expect(gate.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(gate.run("a", async () => 1)).resolves.toBe(1);
  });

  it("lets the event loop turn between one client's queued tasks", async () => {
    const gate = gateOf(1, 100);
    let timerRan = false;
    let tasksBeforeTimer = 0;
    setTimeout(() => (timerRan = true), 0);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        gate.run("a", async () => {
          if (!timerRan) tasksBeforeTimer += 1;
          const end = Date.now() + 2; // a task that holds the loop, as a request on SQLite does
          while (Date.now() < end);
        }),
      ),
    );
    expect(tasksBeforeTimer).toBeLessThan(20);
  });
});
