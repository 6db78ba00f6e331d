import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Metrics } from "../../shared/metrics.js";
import { decide } from "./delivery-outcome.js";
import type { WebhookSender } from "./webhook-sender.js";
import type { ClaimedDelivery, WebhookRepository } from "./webhook.repository.js";

export interface DispatcherOptions {
  repository: WebhookRepository;
  sender: WebhookSender;
  /** WEBHOOK_RETRY_SCHEDULE, seconds. */
  schedule: readonly number[];
  /** WEBHOOK_TIMEOUT: bounds each attempt, and so the lease. */
  timeoutMs: number;
  /** How often the database is asked for due deliveries when nothing wakes the dispatcher sooner. */
  pollIntervalMs?: number;
  /** Attempts in flight at most, across endpoints. */
  concurrency?: number;
  metrics: Metrics;
  logger: Logger;
}

export interface WebhookDispatcher {
  start(): void;
  /** Something was committed that may be due now: look without waiting for the next poll. */
  nudge(): void;
  /** Claims nothing more; attempts in flight get `graceMs` to finish, then are stopped and handed back untried. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs in the server process. It leases due deliveries (claim), sends each, and stores the outcome under its lease.
 * A lease outlives an attempt by a margin: if this process dies mid-attempt, another instance (or this one,
 * restarted) takes the delivery over once the lease has passed, so nothing committed is lost, and nothing is
 * attempted by two instances at once while the lease holds.
 */
export function createWebhookDispatcher(options: DispatcherOptions): WebhookDispatcher {
  const { repository, sender, schedule, timeoutMs, metrics, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const concurrency = options.concurrency ?? 32;
  // Long enough for the attempt and for storing its outcome; short enough that a crash delays its deliveries by seconds.
  const leaseMs = timeoutMs + 5_000;
  const claimer = randomUUID();
  const inFlight = new Map<number, Promise<void>>();
  const abort = new AbortController();
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let woken = false;

  const nudge = () => {
    woken = true;
    wake?.();
  };

  const pause = () =>
    new Promise<void>((resolve) => {
      if (woken || stopping) return resolve();
      const timer = setTimeout(done, pollIntervalMs);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function attempt(delivery: ClaimedDelivery, endpoint: { url: string; secret: string } | undefined): Promise<void> {
    if (!endpoint) return; // deleted meanwhile, its deliveries with it
    const started = performance.now();
    const result = await sender.send({ url: endpoint.url, id: String(delivery.id), body: delivery.body, secret: endpoint.secret }, abort.signal);
    if (result.kind === "aborted") {
      await repository.release(delivery.id, claimer);
      return;
    }
    metrics.webhookDuration.observe((performance.now() - started) / 1000);
    const decision = decide(result, delivery.attempts + 1, schedule, new Date());
    if (decision.disableEndpoint) await repository.disableEndpoint(delivery.endpointId);
    const kept = await repository.finish(delivery.id, claimer, decision.outcome);
    if (kept) metrics.webhookDeliveries.inc({ outcome: decision.metric });
    if (decision.outcome.status !== "DELIVERED") {
      logger.info({ deliveryId: delivery.id, endpointId: delivery.endpointId, outcome: decision.metric, error: decision.outcome.error }, "webhook attempt failed");
    }
  }

  function track(delivery: ClaimedDelivery, endpoint: { url: string; secret: string } | undefined) {
    const running = attempt(delivery, endpoint)
      .catch((error: unknown) => logger.error({ err: error, deliveryId: delivery.id }, "webhook attempt not recorded"))
      .finally(() => {
        inFlight.delete(delivery.id);
        // The next event of the same endpoint and incident may be due now.
        nudge();
      });
    inFlight.set(delivery.id, running);
  }

  async function claimSome(): Promise<boolean> {
    const free = concurrency - inFlight.size;
    if (free <= 0) return false;
    const now = new Date();
    const claimed = await repository.claim(claimer, now, new Date(now.getTime() + leaseMs), free);
    if (claimed.length === 0) return false;
    const endpoints = new Map((await repository.endpointsByIds([...new Set(claimed.map((d) => d.endpointId))])).map((e) => [e.id, e]));
    for (const delivery of claimed) track(delivery, endpoints.get(delivery.endpointId));
    return claimed.length === free;
  }

  async function run() {
    while (!stopping) {
      woken = false;
      let more = false;
      try {
        more = await claimSome();
      } catch (error) {
        if (!stopping) logger.error({ err: error }, "webhook deliveries not claimed");
      }
      if (!more) await pause();
    }
  }

  return {
    start() {
      loop ??= run();
    },
    nudge,
    async stop(graceMs = 5_000) {
      stopping = true;
      wake?.();
      await loop;
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
        await Promise.race([Promise.all(inFlight.values()), grace]);
        clearTimeout(timer);
        abort.abort();
        await Promise.all(inFlight.values());
      }
      sender.close();
    },
  };
}
