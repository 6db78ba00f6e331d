import { describe, expect, it } from "vitest";
import { createTimeSlicer } from "../../src/shared/time-slicer.js";

const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("the time slicer", () => {
  it("lets requests start and run at once while the loop's current stretch is short", async () => {
    const slicer = createTimeSlicer(50);
    expect(slicer.proceed("a")).toBeUndefined();
    busy(5);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await slicer.forRequest("a")();
    expect(immediateRan).toBe(false); // answered within the same turn
    expect(slicer.proceed("b")).toBeUndefined();
  });

  it("makes a request past the slice wait for a unit of its own, in a later turn of the loop", async () => {
    const slicer = createTimeSlicer(5);
    const pause = slicer.forRequest("a");
    await pause();
    busy(6);
    let immediateRan = false;
    setImmediate(() => (immediateRan = true));
    await pause();
    expect(immediateRan).toBe(true);
    // The unit starts a new stretch: the next question is answered in the same turn.
    let again = false;
    setImmediate(() => (again = true));
    await pause();
    expect(again).toBe(false);
  });

  it("answers a request's questions in order, so that siblings asking together still take turns once the work of the first passes the slice", async () => {
    const slicer = createTimeSlicer(5);
    const pause = slicer.forRequest("a");
    const ran: string[] = [];
    let turns = 0;
    const counter = setInterval(() => turns++, 0);
    // Two sibling fields ask before either has done its (synchronous) work, as sibling resolvers do.
    const sibling = async (name: string) => {
      await pause();
      ran.push(`${name}@${turns}`);
      busy(6);
    };
    await Promise.all([sibling("first"), sibling("second")]);
    clearInterval(counter);
    const [first, second] = ran.map((entry) => Number(entry.split("@")[1]));
    expect(second!).toBeGreaterThan(first!); // the second waited for a turn of the loop
  });

  it("queues a request that starts while others wait, even on a short stretch", async () => {
    const slicer = createTimeSlicer(5);
    slicer.proceed("a");
    busy(6);
    const first = slicer.forRequest("a")();
    expect(first).toBeInstanceOf(Promise);
    const second = slicer.proceed("b");
    expect(second).toBeInstanceOf(Promise);
    await Promise.all([first, second]);
  });

  it("starts waiting units one per turn, taking clients in rotation", async () => {
    const slicer = createTimeSlicer(1);
    const order: string[] = [];
    slicer.proceed("x");
    busy(2);
    const waits = [0, 1, 2, 3].map((i) => slicer.proceed("flooder")!.then(() => void order.push(`flooder${i}`)));
    waits.push(slicer.proceed("other")!.then(() => void order.push("other")));
    await Promise.all(waits);
    expect(order.indexOf("other")).toBeLessThanOrEqual(1);
    expect(order.filter((name) => name.startsWith("flooder"))).toEqual(["flooder0", "flooder1", "flooder2", "flooder3"]);
  });

  it("starts a new stretch in each pass of the loop, and schedules nothing once nobody asks", async () => {
    const slicer = createTimeSlicer(5);
    slicer.proceed("a");
    busy(6);
    await nextTurn();
    await nextTurn();
    expect(slicer.proceed("a")).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(process.getActiveResourcesInfo().filter((kind) => kind === "Immediate")).toEqual([]);
  });
});
