import { describe, expect, it } from "vitest";
import { createTimeSlicer } from "../../src/shared/time-slicer.js";

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe("the time slicer", () => {
  it("starts a unit in a later turn of the event loop, after what was already due", async () => {
    const slicer = createTimeSlicer(50);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await slicer.turn("a");
    expect(immediateRan).toBe(true);
  });

  it("never pauses a unit that has not run a whole slice", async () => {
    const slicer = createTimeSlicer(50);
    await slicer.turn("a");
    const pause = slicer.forRequest("a");
    expect(pause()).toBeUndefined();
    busy(5);
    expect(pause()).toBeUndefined();
  });

  it("pauses a unit past its slice until a unit of its own starts", async () => {
    const slicer = createTimeSlicer(5);
    await slicer.turn("a");
    const pause = slicer.forRequest("a");
    busy(6);
    const waited = pause();
    expect(waited).toBeInstanceOf(Promise);
    await waited;
    expect(pause()).toBeUndefined();
  });

  it("starts waiting units one per turn, taking clients in rotation", async () => {
    const slicer = createTimeSlicer(1);
    const order: string[] = [];
    const waits = [0, 1, 2, 3].map((i) => slicer.turn("flooder").then(() => void order.push(`flooder${i}`)));
    waits.push(slicer.turn("other").then(() => void order.push("other")));
    await Promise.all(waits);
    expect(order.indexOf("other")).toBeLessThanOrEqual(1);
    expect(order.filter((name) => name.startsWith("flooder"))).toEqual(["flooder0", "flooder1", "flooder2", "flooder3"]);
  });

  it("schedules nothing once no unit waits", async () => {
    const slicer = createTimeSlicer(10);
    await slicer.turn("a");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(process.getActiveResourcesInfo().filter((kind) => kind === "Immediate")).toEqual([]);
  });
});
