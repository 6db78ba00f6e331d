import { afterEach, describe, expect, it, vi } from "vitest";
import { createUnsentAnswers } from "../../src/shared/unsent-answers.js";

const stuck = (bytes: number) => () => bytes;

describe("unsent answers", () => {
  it("counts each answer until it is released", () => {
    const unsent = createUnsentAnswers(100);
    const first = unsent.hold(30, () => {}, stuck(30));
    const second = unsent.hold(50, () => {}, stuck(50));
    expect(unsent.bytes).toBe(80);
    first();
    first();
    expect(unsent.bytes).toBe(50);
    second();
    expect(unsent.bytes).toBe(0);
  });

  it("cuts, until a new answer fits, the connections with the most still unsent, and never the new one", () => {
    const cut: string[] = [];
    let counted = 0;
    const unsent = createUnsentAnswers(100, () => counted++);
    unsent.hold(40, () => cut.push("reading"), stuck(5)); // has taken most of its answer
    const stalled = unsent.hold(40, () => cut.push("stalled"), stuck(40));
    unsent.hold(20, () => cut.push("small"), stuck(20));
    unsent.hold(60, () => cut.push("new"), stuck(60));
    expect(cut).toEqual(["stalled", "small"]);
    expect(counted).toBe(2);
    expect(unsent.bytes).toBe(100);
    stalled(); // released after its cut: already let go
    expect(unsent.bytes).toBe(100);
  });

  it("cuts the latest held first among equally stalled ones, so that an earlier reader is cut last", () => {
    const cut: string[] = [];
    const unsent = createUnsentAnswers(100);
    unsent.hold(30, () => cut.push("earlier"), stuck(30));
    unsent.hold(30, () => cut.push("later"), stuck(30));
    unsent.hold(30, () => cut.push("latest"), stuck(30));
    unsent.hold(30, () => cut.push("new"), stuck(30));
    expect(cut).toEqual(["latest"]);
  });

  it("takes an answer larger than the limit once everything else is cut", () => {
    const cut: string[] = [];
    const unsent = createUnsentAnswers(100);
    unsent.hold(10, () => cut.push("a"), stuck(10));
    const big = unsent.hold(150, () => cut.push("big"), stuck(150));
    expect(cut).toEqual(["a"]);
    expect(unsent.bytes).toBe(150);
    big();
    expect(unsent.bytes).toBe(0);
  });

  describe("with answers looked at over time", () => {
    afterEach(() => vi.useRealTimers());

    it("cuts a connection whose unsent bytes stopped going down before one still taking its answer, however much that one has left", () => {
      vi.useFakeTimers();
      const cut: string[] = [];
      const unsent = createUnsentAnswers(100);
      let readerLeft = 45;
      unsent.hold(45, () => cut.push("reader"), () => readerLeft);
      unsent.hold(45, () => cut.push("stalled"), stuck(30));
      vi.advanceTimersByTime(250);
      readerLeft = 40; // it reads, slowly
      vi.advanceTimersByTime(250);
      unsent.hold(45, () => cut.push("new"), stuck(45));
      expect(cut).toEqual(["stalled"]);
    });

    it("cuts connections that read nothing for several looks before a reader that one late look found unmoved, though it has more unsent", () => {
      vi.useFakeTimers();
      const cut: string[] = [];
      const unsent = createUnsentAnswers(100);
      unsent.hold(30, () => cut.push("paused0"), stuck(20));
      unsent.hold(30, () => cut.push("paused1"), stuck(20));
      vi.advanceTimersByTime(250);
      vi.advanceTimersByTime(250);
      let readerLeft = 30;
      unsent.hold(30, () => cut.push("reader"), () => readerLeft);
      vi.advanceTimersByTime(250);
      readerLeft = 25;
      vi.advanceTimersByTime(250);
      // The process was busy: the next look finds the reader's bytes where the last one did, then it reads again.
      vi.advanceTimersByTime(250);
      unsent.hold(60, () => cut.push("new"), stuck(60));
      expect(cut).toEqual(["paused1", "paused0"]);
      readerLeft = 10;
      vi.advanceTimersByTime(250);
      unsent.hold(60, () => cut.push("newer"), stuck(60));
      expect(cut).toEqual(["paused1", "paused0", "new"]);
    });

    it("finds stalled connections held after many readers, not only among the longest held", () => {
      vi.useFakeTimers();
      const cut: string[] = [];
      const unsent = createUnsentAnswers(50 * 10);
      const left = Array.from({ length: 40 }, () => 20);
      for (let i = 0; i < 40; i++) unsent.hold(10, () => cut.push(`reader${i}`), () => left[i]!);
      for (let i = 0; i < 5; i++) unsent.hold(10, () => cut.push(`stalled${i}`), stuck(5));
      vi.advanceTimersByTime(250);
      left.fill(15); // every reader takes some of its answer
      vi.advanceTimersByTime(250);
      unsent.hold(100, () => cut.push("new"), stuck(100));
      expect(cut).toEqual(["stalled4", "stalled3", "stalled2", "stalled1", "stalled0"]);
    });
  });
});
