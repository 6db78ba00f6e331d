import { describe, expect, it } from "vitest";
import { createTimeSlicer } from "../../src/shared/time-slicer.js";

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe("the time slicer", () => {
  it("never pauses a request that has not run a whole slice", () => {
    const pause = createTimeSlicer(50).forRequest("a");
    expect(pause()).toBeUndefined();
    expect(pause()).toBeUndefined();
  });

  it("pauses a request past its slice until a later turn of the event loop, then gives it a new slice", async () => {
    const pause = createTimeSlicer(5).forRequest("a");
    busy(6);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    const waited = pause();
    expect(waited).toBeInstanceOf(Promise);
    await waited;
    expect(pause()).toBeUndefined();
    // A timer due now ran before the paused request resumed: the loop turned in between.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(timerRan).toBe(true);
  });

  it("resumes waiting requests one per turn, taking clients in rotation", async () => {
    const slicer = createTimeSlicer(1);
    const order: string[] = [];
    const waits: Promise<void>[] = [];
    const flooder = [0, 1, 2, 3].map(() => slicer.forRequest("flooder"));
    const other = slicer.forRequest("other");
    busy(2);
    for (const [i, pause] of flooder.entries()) waits.push(pause()!.then(() => void order.push(`flooder${i}`)));
    waits.push(other()!.then(() => void order.push("other")));
    await Promise.all(waits);
    expect(order.indexOf("other")).toBeLessThanOrEqual(1);
    expect(order.filter((name) => name.startsWith("flooder"))).toEqual(["flooder0", "flooder1", "flooder2", "flooder3"]);
  });
});
