import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { groupMatchForms, groupMatchMaxBytes, groupMatchValue } from "../../src/modules/alerts/group-match.js";

describe("groupMatchValue", () => {
  it("keeps a value up to the limit as it is, so that rows written before still match", () => {
    const value = "k".repeat(groupMatchMaxBytes);
    expect(groupMatchValue(value)).toBe(value);
    expect(groupMatchForms(value)).toEqual([value]);
  });

  it("turns a longer value into its sha256 digest, counting UTF-8 bytes, not characters", () => {
    const euros = "€".repeat(400); // 400 characters, 1,200 bytes
    const digest = `sha256:${createHash("sha256").update(euros, "utf8").digest("hex")}`;
    expect(groupMatchValue(euros)).toBe(digest);
    expect(groupMatchForms(euros)).toEqual([digest, euros]);
    expect(groupMatchValue("k".repeat(groupMatchMaxBytes + 1))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("tells apart long values that differ in their last character", () => {
    const value = "x".repeat(5_000);
    expect(groupMatchValue(`${value}a`)).not.toBe(groupMatchValue(`${value}b`));
    expect(groupMatchValue(`${value}a`)).toBe(groupMatchValue(`${value}a`));
  });
});
