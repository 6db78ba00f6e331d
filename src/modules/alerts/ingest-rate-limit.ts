import type { WindowCounter } from "../../shared/window-counter.js";

/** Requests an integration may send in a minute (INGEST_RATE_LIMIT). */
export interface IngestRateLimit {
  /** Counts one request; the seconds to wait when it is over the limit, else undefined. */
  take(integrationId: number): Promise<number | undefined>;
}

/**
 * Counted per integration in a one-minute window that starts at its first request, by the same window counters as
 * failed logins and cost budgets: in memory, or in Redis so that every instance shares an integration's budget.
 */
export function ingestRateLimit(requests: WindowCounter, limit: number, now: () => number = Date.now): IngestRateLimit {
  return {
    async take(integrationId) {
      const { count, resetAt } = await requests.add(String(integrationId), 1);
      return count > limit ? Math.max(1, Math.ceil((resetAt - now()) / 1000)) : undefined;
    },
  };
}
