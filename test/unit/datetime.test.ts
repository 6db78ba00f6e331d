import { describe, expect, it } from "vitest";
import { DateTimeScalar } from "../../src/shared/datetime.scalar.js";

describe("the DateTime scalar", () => {
  it("serializes as ISO-8601 UTC with milliseconds", () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 0, 31, 12)))).toBe("2026-01-31T12:00:00.000Z");
  });

  it.each(["2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123Z", "2026-01-31T13:00:00+01:00", "2028-02-29T00:00:00.000Z"])(
    "accepts %s",
    (text) => {
      expect(DateTimeScalar.parseValue(text)).toBeInstanceOf(Date);
    },
  );

  it.each(["2026-02-30T00:00:00.000Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01", "yesterday", "2026-01-01T00:00:00+25:00"])(
    "rejects %s",
    (text) => {
      expect(() => DateTimeScalar.parseValue(text)).toThrow(/DateTime/);
    },
  );
});
