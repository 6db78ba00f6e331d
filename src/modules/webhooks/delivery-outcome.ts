import type { AttemptOutcome } from "./webhook.repository.js";
import type { AttemptResult } from "./webhook-sender.js";
import { nextAttemptDelayMs, parseRetryAfter } from "./retry-policy.js";
import { cutText } from "../../shared/unstorable-text.js";

export const maxLastErrorLength = 1_000;

/** For webhook_deliveries_total{outcome}. */
export type AttemptMetric = "delivered" | "retry" | "failed" | "gone" | "refused";

export interface Decision {
  outcome: AttemptOutcome;
  metric: AttemptMetric;
  /** 410 Gone: the receiver asks for no more deliveries. */
  disableEndpoint: boolean;
}

const cut = (text: string) => cutText(text, maxLastErrorLength);

/** What an attempt's result means for its delivery (section 11, "Delivery"). `attempts` counts this one. */
export function decide(
  result: Exclude<AttemptResult, { kind: "aborted" }>,
  attempts: number,
  schedule: readonly number[],
  now: Date,
  random: () => number = Math.random,
): Decision {
  const done = (metric: AttemptMetric, statusCode: number | null, error: string | null, disableEndpoint = false): Decision => ({
    outcome: { status: "FAILED", statusCode, error: error && cut(error), nextAttemptAt: null, deliveredAt: null },
    metric,
    disableEndpoint,
  });
  if (result.kind === "refused") return done("refused", null, result.error);
  const statusCode = result.kind === "response" ? result.statusCode : null;
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
    return { outcome: { status: "DELIVERED", statusCode, error: null, nextAttemptAt: null, deliveredAt: now }, metric: "delivered", disableEndpoint: false };
  }
  if (statusCode === 410) return done("gone", 410, "410 Gone: the endpoint is disabled", true);
  const error = result.kind === "error" ? result.error : `HTTP ${statusCode}`;
  const honoured = statusCode === 429 || statusCode === 503;
  const retryAfter = honoured && result.kind === "response" ? parseRetryAfter(result.retryAfter, now.getTime()) : undefined;
  const delay = nextAttemptDelayMs(schedule, attempts, retryAfter, random);
  if (delay === undefined) return done("failed", statusCode, error);
  return {
    outcome: { status: "PENDING", statusCode, error: cut(error), nextAttemptAt: new Date(now.getTime() + delay), deliveredAt: null },
    metric: "retry",
    disableEndpoint: false,
  };
}
