import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { openSqlite } from "../src/db/sqlite.js";
import { onPostgres } from "./support/database.js";

// The settings every SQLite connection of the server runs with (src/db/sqlite-pragmas.ts).

describe.skipIf(onPostgres)("a SQLite connection (skipped with TEST_DATABASE=postgres)", () => {
  it("writes ahead, syncs every commit, checks foreign keys, and reads through a 256 MB map and a 32 MB cache", () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlite-connection-"));
    const handle = openSqlite({ path: join(dir, "app.db"), busyTimeoutMs: 1234 });
    try {
      const value = (pragma: string) => handle.client.pragma(pragma, { simple: true });
      expect(value("journal_mode")).toBe("wal");
      expect(value("synchronous")).toBe(2); // FULL: a commit survives power loss, which WAL's default NORMAL does not promise
      expect(value("foreign_keys")).toBe(1);
      expect(value("busy_timeout")).toBe(1234);
      expect(value("mmap_size")).toBe(268_435_456);
      expect(value("cache_size")).toBe(-32_768);
    } finally {
      handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// duration_stats(): what incidentMetrics reads each group's durations with on SQLite (section 10); PostgreSQL computes
// the same figures with aggregates, and test/metrics.test.ts compares whole answers on both backends.
describe.skipIf(onPostgres)("duration_stats() on a SQLite connection (skipped with TEST_DATABASE=postgres)", () => {
  const handle = openSqlite({ path: ":memory:", busyTimeoutMs: 1000 });
  afterAll(() => handle.close());
  const stats = (list: string | null) => JSON.parse((handle.client.prepare("SELECT duration_stats(?) AS s").get(list) as { s: string }).s) as unknown[];
  /** Nearest rank, written from the definition: the smallest value with at least p% of the values at or below it. */
  const nearestRank = (sorted: number[], p: number) => sorted.find((_, i) => (i + 1) * 100 >= p * sorted.length);

  it("returns count, sum, max, the nearest-rank p50, p90 and p95 of any list of integers, and its length with nulls", () => {
    // Ties (many equal values) and values already in order, as well as spread ones; nulls (no duration) anywhere.
    const entries = (values: fc.Arbitrary<number>) => fc.array(fc.option(values, { freq: 8 }), { minLength: 1, maxLength: 600, size: "max" });
    const lists = fc.oneof(
      entries(fc.integer({ min: -5_000, max: 90_000_000 })),
      entries(fc.integer({ min: -2, max: 3 })),
      fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 600, size: "max" }).map((values): (number | null)[] => values.sort((a, b) => a - b)),
    );
    fc.assert(
      fc.property(lists, (list) => {
        const sorted = list.filter((value): value is number => value !== null).sort((a, b) => a - b);
        const n = sorted.length;
        const expected =
          n === 0
            ? [0, null, null, null, null, null, list.length]
            : [n, sorted.reduce((a, b) => a + b, 0), sorted.at(-1), ...[50, 90, 95].map((p) => nearestRank(sorted, p)), list.length];
        expect(stats(list.map((value) => (value === null ? "null" : String(value))).join(","))).toEqual(expected);
      }),
    );
  });

  it("has a count of 0 and nothing else for a group without durations (group_concat of none is NULL)", () => {
    expect(stats(null)).toEqual([0, null, null, null, null, null, 0]);
  });

  it("sums exactly past 2^53, as SQLite's sum() of integers did", () => {
    const read = handle.client.prepare("SELECT duration_stats(?) ->> '$[1]' AS s").safeIntegers(true);
    const sum = (read.get("9007199254740991,1,9007199254740991") as { s: bigint }).s;
    expect(sum).toBe(18_014_398_509_481_983n); // a double accumulating one by one ends at 2^54
  });
});

// has_every_word(): the incident filter's `search` on SQLite (section 3: words matched in title and description,
// case-insensitive); PostgreSQL uses strpos(lower(...)) per word.
describe.skipIf(onPostgres)("has_every_word() on a SQLite connection (skipped with TEST_DATABASE=postgres)", () => {
  const handle = openSqlite({ path: ":memory:", busyTimeoutMs: 1000 });
  afterAll(() => handle.close());
  const has = (title: string | null, description: string | null, words: string[]) =>
    (handle.client.prepare("SELECT has_every_word(?, ?, ?) AS m").get(title, description, JSON.stringify(words)) as { m: number }).m;

  it("holds when each word is in the title or in the description, ignoring case in every script", () => {
    expect(has("Disk FULL on db-7", "Backups ran long", ["disk", "backups"])).toBe(1);
    expect(has("ÉCLAIR ΣΊΣΥΦΟΣ", "", ["éclair", "σίσυφος"])).toBe(1);
    expect(has("Disk full", "Backups ran long", ["disk", "nowhere"])).toBe(0);
    expect(has("", "", [])).toBe(1);
    expect(has(null, "Disk", ["disk"])).toBe(1);
  });

  it("does not match a word spanning the title and the description", () => {
    expect(has("Disk fu", "ll on db-7", ["full"])).toBe(0);
  });

  it("agrees with instr(unicode_lower(...)) per word, for any texts and words", () => {
    const perWord = handle.client.prepare(
      "SELECT NOT EXISTS (SELECT 1 FROM json_each(?3) AS w WHERE instr(unicode_lower(?1), w.value) = 0 AND instr(unicode_lower(?2), w.value) = 0) AS m",
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.array(fc.string({ minLength: 1, maxLength: 3 }).map((word) => word.toLowerCase()), { maxLength: 4 }), (title, description, words) => {
        const expected = (perWord.get({ 1: title, 2: description, 3: JSON.stringify(words) }) as { m: number }).m;
        expect(has(title, description, words)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
