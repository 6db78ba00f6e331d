import { describe, expect, it } from "vitest";
import { characterCount } from "../../src/shared/character-count.js";
import { searchWords } from "../../src/modules/incidents/incident.rules.js";
import { countedString } from "../support/counted-string.js";

describe("character count", () => {
  it("counts code points exactly up to its bound, a surrogate pair as one and a lone half as one", () => {
    expect(characterCount("", 10)).toBe(0);
    expect(characterCount("\u{1F525}".repeat(10), 10)).toBe(10);
    expect(characterCount("\u{1F525}".repeat(10) + "a", 10)).toBe(11);
    expect(characterCount("\ud800\ud800\udc00", 10)).toBe(2);
  });

  it("reads no string of more than twice its bound in UTF-16 units, and says it is past the bound", () => {
    const long = countedString(1_000_000);
    expect(characterCount(long.text, 100)).toBeGreaterThan(100);
    expect(long.reads()).toBe(0);
  });

  it("refuses a filter's search word of a million characters as it refuses one of 101", () => {
    expect(() => searchWords("a".repeat(1_000_000))).toThrow("search takes at most 10 words of at most 100 characters");
    expect(() => searchWords("a".repeat(101))).toThrow("search takes at most 10 words of at most 100 characters");
    expect(searchWords("\u{1F525}".repeat(100))).toHaveLength(1);
  });
});
