import type { TimeBucket } from "./insight-enums.js";
import type { BucketBounds } from "./insight-statements.js";

// Buckets are computed here, for the whole range, as UTC instants of local midnights in the requested IANA zone
// (Intl knows the zone rules; SQLite does not, and PostgreSQL's may differ from the server's Node): the database
// then groups by joining each incident to the bucket whose [lo, hi) holds its created_at. A day is 23 or 25 hours
// long when daylight saving time starts or ends in it; a day whose midnight does not exist starts at its first
// instant.

const formatters = new Map<string, Intl.DateTimeFormat>();
/** More than the names Intl knows (about 600 with their links): reaching it means something else is being kept. */
const maxFormatters = 2_048;

/** A formatter of local wall-clock parts in `timeZone`; throws RangeError for a zone Intl does not know. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  // Intl reads zone names in any case ("aMerIca/new_YORK"): one zone has billions of spellings, and one formatter.
  const key = timeZone.toLowerCase();
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    // Unknown names throw before they are kept; known ones are a few hundred.
    if (formatters.size >= maxFormatters) formatters.clear();
    formatters.set(key, format);
  }
  return format;
}

/** How many formatters are kept (bounded by the zones Intl knows, whatever the spellings asked for). */
export const keptTimeZones = () => formatters.size;

/**
 * Whether `timeZone` is an IANA zone name Intl knows. Offsets ("+02:00") are refused: they are not zones, and
 * PostgreSQL reads them with the opposite sign (POSIX).
 */
export function isTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timeZone) || timeZone.length > 64) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalDate {
  year: number;
  month: number; // 1-12
  day: number;
}

/** The wall-clock time of `instant` in the zone, as if that wall clock were UTC (epoch ms). */
function wallClock(format: Intl.DateTimeFormat, instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(instant)) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return utc(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (instant % 1000 + 1000) % 1000;
}

function localDate(format: Intl.DateTimeFormat, instant: number): LocalDate {
  const wall = new Date(wallClock(format, instant));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

const utcMidnight = (date: LocalDate) => utc(date.year, date.month - 1, date.day);

/** Date.UTC, but years 0-99 are those years, not 1900-1999. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  if (year < 0 || year > 99) return Date.UTC(year, month, day, hour, minute, second);
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second));
  date.setUTCFullYear(year, month, day);
  return date.getTime();
}

/** The first instant whose local date is `date` (its local midnight, unless the clocks skipped midnight). */
function startOfLocalDate(format: Intl.DateTimeFormat, date: LocalDate): number {
  const target = utcMidnight(date);
  // The offset at a guess, then at the instant it points to: exact unless midnight falls in a transition.
  let instant = target - (wallClock(format, target) - target);
  instant = target - (wallClock(format, instant) - instant);
  // Exact, and not the second of two midnights (clocks set back from 01:00 to 00:00): done.
  if (wallClock(format, instant) === target && wallClock(format, instant - 3_600_000) < target) return instant;
  // Midnight does not exist, or happens twice: search the first instant of the date, to the minute, within the 36
  // hours around it that hold every offset in use (local time >= midnight of the date is false, then true).
  let [low, high] = [target - 18 * 3_600_000, target + 18 * 3_600_000];
  while (high - low > 60_000) {
    const middle = low + Math.floor((high - low) / 120_000) * 60_000;
    if (wallClock(format, middle) < target) low = middle;
    else high = middle;
  }
  return high;
}

/** The local date `days` days after `date`, on the calendar (not 24-hour steps). */
function addDays(date: LocalDate, days: number): LocalDate {
  const next = new Date(utcMidnight(date) + days * 86_400_000);
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

function bucketStartDate(date: LocalDate, bucket: TimeBucket): LocalDate {
  if (bucket === "MONTH") return { ...date, day: 1 };
  if (bucket === "WEEK") return addDays(date, -((new Date(utcMidnight(date)).getUTCDay() + 6) % 7)); // back to Monday
  return date;
}

function nextBucketDate(date: LocalDate, bucket: TimeBucket): LocalDate {
  if (bucket === "MONTH") return date.month === 12 ? { year: date.year + 1, month: 1, day: 1 } : { ...date, month: date.month + 1, day: 1 };
  return addDays(date, bucket === "WEEK" ? 7 : 1);
}

/**
 * The buckets that cover [from, to): each labelled with its local start in `timeZone`, and bounded by it and the
 * next one's start, clipped to the range. Without a bucket size, one bucket, the range itself (label null).
 */
export function metricsBuckets(from: Date, to: Date, bucket: TimeBucket | null, timeZone: string): BucketBounds[] {
  if (!bucket) return [{ label: from, lo: from, hi: to }];
  const format = formatter(timeZone);
  const buckets: BucketBounds[] = [];
  let date = bucketStartDate(localDate(format, from.getTime()), bucket);
  let start = startOfLocalDate(format, date);
  while (start < to.getTime()) {
    const nextDate = nextBucketDate(date, bucket);
    const next = startOfLocalDate(format, nextDate);
    buckets.push({
      label: new Date(start),
      lo: new Date(Math.max(start, from.getTime())),
      hi: new Date(Math.min(next, to.getTime())),
    });
    [date, start] = [nextDate, next];
  }
  return buckets;
}
