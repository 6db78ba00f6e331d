import { describe, expect, it } from "vitest";
import { isTimeZone, keptTimeZones, metricsBuckets } from "../../src/modules/insights/metrics-buckets.js";

// Bucket bounds for incidentMetrics: local midnights of an IANA zone as UTC instants, across clock changes.

const labels = (from: string, to: string, bucket: "DAY" | "WEEK" | "MONTH", zone: string) =>
  metricsBuckets(new Date(from), new Date(to), bucket, zone).map((b) => [b.label.toISOString(), b.lo.toISOString(), b.hi.toISOString()]);

describe("metricsBuckets", () => {
  it("keeps one formatter per zone, however its name is spelled", () => {
    const spellings = Array.from({ length: 500 }, (_, n) =>
      [..."america/argentina/comodrivadavia"].map((c, i) => ((n >> (i % 9)) & 1 ? c.toUpperCase() : c)).join(""),
    );
    for (const zone of ["America/Argentina/ComodRivadavia", ...spellings]) expect(isTimeZone(zone)).toBe(true);
    const kept = keptTimeZones();
    for (const zone of spellings.map((z) => z.replace("america", "AMERICA"))) isTimeZone(zone);
    expect(keptTimeZones()).toBe(kept);
    expect(kept).toBeLessThan(10);
  });

  it("puts the buckets of years 1-99 in those years", () => {
    expect(labels("0050-03-01T00:00:00Z", "0050-03-03T00:00:00Z", "DAY", "UTC").map(([label]) => label)).toEqual([
      "0050-03-01T00:00:00.000Z",
      "0050-03-02T00:00:00.000Z",
    ]);
  });

  it("makes Berlin's spring-forward day 23 hours and its fall-back day 25", () => {
    expect(labels("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", "DAY", "Europe/Berlin")).toEqual([
      ["2026-03-27T23:00:00.000Z", "2026-03-28T12:00:00.000Z", "2026-03-28T23:00:00.000Z"],
      ["2026-03-28T23:00:00.000Z", "2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z"],
      ["2026-03-29T22:00:00.000Z", "2026-03-29T22:00:00.000Z", "2026-03-30T12:00:00.000Z"],
    ]);
    const [day] = metricsBuckets(new Date("2026-10-25T00:00:00Z"), new Date("2026-10-26T00:00:00Z"), "DAY", "Europe/Berlin");
    expect(day!.label.toISOString()).toBe("2026-10-24T22:00:00.000Z");
    const [, next] = metricsBuckets(new Date("2026-10-25T00:00:00Z"), new Date("2026-10-27T00:00:00Z"), "DAY", "Europe/Berlin");
    expect(next!.label.getTime() - day!.label.getTime()).toBe(25 * 3_600_000);
  });

  it("starts a day whose midnight does not exist at its first instant (Santiago, clocks 00:00 -> 01:00)", () => {
    // 2026-09-06: Chile moves from -04 to -03 at local midnight; the day starts at 01:00 -03, 04:00Z.
    expect(labels("2026-09-05T12:00:00Z", "2026-09-07T12:00:00Z", "DAY", "America/Santiago").map(([label]) => label)).toEqual([
      "2026-09-05T04:00:00.000Z",
      "2026-09-06T04:00:00.000Z",
      "2026-09-07T03:00:00.000Z",
    ]);
  });

  it("starts weeks on Monday and months on the 1st, at local midnight", () => {
    expect(labels("2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z", "WEEK", "UTC").map(([label]) => label)).toEqual([
      "2025-12-29T00:00:00.000Z",
      "2026-01-05T00:00:00.000Z",
      "2026-01-12T00:00:00.000Z",
      "2026-01-19T00:00:00.000Z",
    ]);
    expect(labels("2026-01-15T00:00:00Z", "2026-04-02T00:00:00Z", "MONTH", "America/New_York").map(([label]) => label)).toEqual([
      "2026-01-01T05:00:00.000Z",
      "2026-02-01T05:00:00.000Z",
      "2026-03-01T05:00:00.000Z",
      "2026-04-01T04:00:00.000Z",
    ]);
    expect(labels("2026-12-20T00:00:00Z", "2027-01-02T00:00:00Z", "MONTH", "Pacific/Kiritimati").map(([label]) => label)).toEqual([
      "2026-11-30T10:00:00.000Z",
      "2026-12-31T10:00:00.000Z",
    ]);
  });

  it("covers the range exactly: consecutive buckets, clipped to [from, to)", () => {
    const buckets = metricsBuckets(new Date("2026-01-01T07:00:00Z"), new Date("2027-01-01T07:00:00Z"), "DAY", "Australia/Lord_Howe");
    expect(buckets).toHaveLength(366);
    expect(buckets[0]!.lo.toISOString()).toBe("2026-01-01T07:00:00.000Z");
    expect(buckets.at(-1)!.hi.toISOString()).toBe("2027-01-01T07:00:00.000Z");
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.lo.getTime()).toBe(buckets[i - 1]!.hi.getTime());
  });

  it("knows IANA zones and refuses anything else", () => {
    for (const zone of ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+12", ...Intl.supportedValuesOf("timeZone")]) {
      expect([zone, isTimeZone(zone)]).toEqual([zone, true]);
    }
    for (const zone of ["", "+02:00", "Mars/Olympus", "Europe/Berlin ", "UTC\\u0000", "../etc"]) expect(isTimeZone(zone)).toBe(false);
  });
});
