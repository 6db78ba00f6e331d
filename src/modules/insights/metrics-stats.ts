import type { DurationRecord } from "./insight.repository.js";

/** What DurationStats shows: seconds, null when nothing was counted. */
export interface DurationStats {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  max: number | null;
}

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

/** The database's milliseconds as seconds, and the mean from the exact integer sum. */
export function durationStats(record: DurationRecord): DurationStats {
  if (record.count === 0) return { count: 0, mean: null, p50: null, p90: null, p95: null, max: null };
  return {
    count: record.count,
    mean: record.sum === null ? null : record.sum / record.count / 1000,
    p50: seconds(record.p50),
    p90: seconds(record.p90),
    p95: seconds(record.p95),
    max: seconds(record.max),
  };
}
