/** Section 11's schedule, in seconds: after about 5 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h; then FAILED. */
export const defaultRetrySchedule = [5, 60, 300, 1800, 7200, 21600, 43200] as const;

/** Retry-After is honoured up to this, so that a misbehaving receiver cannot park a delivery for ever. */
const maxRetryAfterSeconds = 24 * 3600;

/** ±20% around the scheduled delay, so that the retries of many deliveries failing at once spread out. */
export const jittered = (seconds: number, random: () => number = Math.random) => seconds * (0.8 + 0.4 * random());

/**
 * When the next attempt is due after `attempts` failed ones (this one included), or undefined when the schedule is
 * exhausted. A Retry-After the receiver sent can make the wait longer than scheduled, never shorter: every attempt
 * counts against the schedule, and a receiver answering `Retry-After: 0` (or a date in the past) to a brief overload
 * had its deliveries' eight attempts spent within 21 ms, then FAILED, where the schedule spreads them over a day.
 */
export function nextAttemptDelayMs(
  schedule: readonly number[],
  attempts: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  const scheduled = schedule[attempts - 1];
  if (scheduled === undefined) return undefined;
  const backoff = Math.round(jittered(scheduled, random) * 1000);
  if (retryAfterSeconds === undefined) return backoff;
  return Math.max(backoff, Math.min(retryAfterSeconds, maxRetryAfterSeconds) * 1000);
}

/** A Retry-After header: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
