// Binding values that came from outside (signed cursors, filters) to PostgreSQL parameters. SQLite compares
// whatever number it is given; PostgreSQL casts parameters to the column's type and fails on a value the type
// cannot hold (1.5 or Infinity as bigint, year 0 or 300000 as timestamptz). Every real id, rank and time lies
// well inside the bounds below, so clamping into them never changes which rows a comparison selects.

const MIN_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z
const MAX_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** An integer for `column > value` (and keyset comparisons) on an integer column: floored, clamped to safe integers. */
export function integerBound(value: number): number {
  if (Number.isNaN(value)) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(Number.MIN_SAFE_INTEGER, Math.floor(value)));
}

/** Epoch milliseconds as ISO-8601 text that `::timestamptz` always accepts (years 1 to 9999). */
export function timestampBound(ms: number): string {
  const clamped = Number.isNaN(ms) ? 0 : Math.min(MAX_MS, Math.max(MIN_MS, Math.trunc(ms)));
  return new Date(clamped).toISOString();
}

/** PostgreSQL text cannot hold NUL: a search word with one matches nothing. */
export const matchesNoText = (word: string) => word.includes("\u0000");
