import { describe, expect, it } from "vitest";
import { createUnsentAnswers } from "../../src/shared/unsent-answers.js";

describe("unsent answers", () => {
  it("counts each answer until it is released", () => {
    const unsent = createUnsentAnswers(100);
    const first = unsent.hold(30, () => {});
    const second = unsent.hold(50, () => {});
    expect(unsent.bytes).toBe(80);
    first();
    first();
    expect(unsent.bytes).toBe(50);
    second();
    expect(unsent.bytes).toBe(0);
  });

  it("cuts the answers held longest, oldest first, until a new one fits, and never the new one", () => {
    const cut: string[] = [];
    let counted = 0;
    const unsent = createUnsentAnswers(100, () => counted++);
    unsent.hold(40, () => cut.push("a"));
    const b = unsent.hold(40, () => cut.push("b"));
    unsent.hold(20, () => cut.push("c"));
    unsent.hold(60, () => cut.push("d"));
    expect(cut).toEqual(["a", "b"]);
    expect(counted).toBe(2);
    expect(unsent.bytes).toBe(80);
    b(); // released after its cut: already let go
    expect(unsent.bytes).toBe(80);
  });

  it("takes an answer larger than the limit once everything else is cut", () => {
    const cut: string[] = [];
    const unsent = createUnsentAnswers(100);
    unsent.hold(10, () => cut.push("a"));
    const big = unsent.hold(150, () => cut.push("big"));
    expect(cut).toEqual(["a"]);
    expect(unsent.bytes).toBe(150);
    big();
    expect(unsent.bytes).toBe(0);
  });
});
