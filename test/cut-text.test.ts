import { describe, expect, it } from "vitest";
import { cutText, isUnstorable } from "../src/shared/unstorable-text.js";

describe("cutText", () => {
  const fire = "\u{1F525}";

  it("leaves a text within the limit as it is", () => {
    expect(cutText("abc", 3)).toBe("abc");
    expect(cutText(`a${fire}`, 3)).toBe(`a${fire}`);
  });

  it("cuts before a surrogate pair that the limit would split", () => {
    expect(cutText(`ab${fire}c`, 3)).toBe("ab");
    expect(cutText(`ab${fire}c`, 4)).toBe(`ab${fire}`);
  });

  it("never leaves a lone surrogate, wherever the limit falls in a text of emoji", () => {
    const text = `${fire}x${fire}${fire}yz${fire}`;
    for (let length = 0; length <= text.length; length++) {
      const cut = cutText(text, length);
      expect(cut.length).toBeLessThanOrEqual(length);
      expect(length - cut.length).toBeLessThanOrEqual(1);
      expect(isUnstorable(cut)).toBe(false);
    }
  });
});
