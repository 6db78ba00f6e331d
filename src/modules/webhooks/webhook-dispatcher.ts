import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Metrics } from "../../shared/metrics.js";
import { deliveryPublicId } from "./delivery-id.js";
import { decide, type Decision } from "./delivery-outcome.js";
import type { WebhookSender } from "./webhook-sender.js";
import type { ClaimedDelivery, FinishedAttempt, WebhookRepository } from "./webhook.repository.js";
import type { WebhookEndpointRow } from "./webhook.table.js";

export interface DispatcherOptions {
  repository: WebhookRepository;
  sender: WebhookSender;
  /** WEBHOOK_RETRY_SCHEDULE, seconds. */
  schedule: readonly number[];
  /** WEBHOOK_TIMEOUT: bounds each attempt, and so the lease. */
  timeoutMs: number;
  /** How often the database is asked for due deliveries when nothing wakes the dispatcher sooner. */
  pollIntervalMs?: number;
  /** After a wake-up, how long to wait for more (commits, finished attempts), so that one transaction settles them all. */
  batchDelayMs?: number;
  /** Attempts in flight at most, across endpoints. */
  concurrency?: number;
  /**
   * Attempts in flight at most for one endpoint: a receiver that stalls, with a backlog of many incidents, holds this
   * many of the slots while its attempts time out, and the other endpoints keep the rest.
   */
  perEndpoint?: number;
  /** WEBHOOK_RETENTION: delivered and failed deliveries older than this are deleted. */
  retentionMs?: number;
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

interface Finished {
  delivery: ClaimedDelivery;
  decision: Decision;
}

const pruneBatchSize = 1_000;
const pruneBatches = 10;
/** Bodies written per transaction after a large change: about 15 ms of the event loop each (SQLite). */
const renderSlice = 1_000;

/**
 * Runs in the server process, in turns. Each turn is one transaction: it stores the outcomes of the attempts
 * finished since the last turn, hands back those stopped by shutdown, and leases the deliveries now due (the next
 * event of an incident becomes due once the previous one is stored as DELIVERED or FAILED, in that transaction, and
 * is leased in the same turn). Attempts run between turns, concurrently.
 *
 * A lease outlives an attempt by a margin: if this process dies mid-attempt, another instance (or this one,
 * restarted) takes the delivery over once the lease has passed, so nothing committed is lost, and nothing is
 * attempted by two instances at once while the lease holds.
 */
export function createWebhookDispatcher(options: DispatcherOptions): WebhookDispatcher {
  const { repository, sender, schedule, timeoutMs, metrics, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchDelayMs = options.batchDelayMs ?? 20;
  const concurrency = options.concurrency ?? 32;
  const perEndpoint = Math.min(concurrency, options.perEndpoint ?? 8);
  const inFlightOf = new Map<number, number>();
  // Attempts an endpoint may have in flight now: 1 until it answers, doubled by each answer up to `perEndpoint`, back
  // to 1 after an error or timeout. At a fixed 8 each, four receivers that never answer held all 32 slots for whole
  // timeouts, and every other endpoint's deliveries waited behind them (p50 30 s with WEBHOOK_TIMEOUT=30s).
  const allowanceOf = new Map<number, number>();
  const allowance = (endpointId: number) => allowanceOf.get(endpointId) ?? 1;
  // Long enough for the attempt and for storing its outcome; short enough that a crash delays its deliveries by seconds.
  const leaseMs = timeoutMs + 5_000;
  const claimer = randomUUID();
  let nextPrune = 0;
  const inFlight = new Map<number, Promise<void>>();
  const finished: Finished[] = [];
  const released: number[] = [];
  const abort = new AbortController();
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let woken = false;

  const nudge = () => {
    if (woken) return;
    woken = true;
    const pending = wake;
    if (pending) setTimeout(pending, batchDelayMs);
  };

  const pause = () =>
    new Promise<void>((resolve) => {
      if (woken || stopping) return resolve();
      const timer = setTimeout(done, pollIntervalMs);
      function done() {
        clearTimeout(timer);
        // A late timer of an earlier pause must not disarm this one.
        if (wake === done) wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function attempt(delivery: ClaimedDelivery, endpoint: WebhookEndpointRow | undefined): Promise<void> {
    if (!endpoint) return; // deleted meanwhile, its deliveries with it
    const started = performance.now();
    const result = await sender.send({ url: endpoint.url, id: deliveryPublicId(delivery.id, delivery.createdAt), body: delivery.body, secret: endpoint.secret }, abort.signal);
    if (result.kind === "aborted") {
      released.push(delivery.id);
      return;
    }
    metrics.webhookDuration.observe((performance.now() - started) / 1000);
    allowanceOf.set(delivery.endpointId, result.kind === "response" ? Math.min(perEndpoint, allowance(delivery.endpointId) * 2) : 1);
    finished.push({ delivery, decision: decide(result, delivery.attempts + 1, schedule, new Date()) });
  }

  function track(delivery: ClaimedDelivery, endpoint: WebhookEndpointRow | undefined) {
    const busy = inFlightOf.get(delivery.endpointId) ?? 0;
    if (busy >= allowance(delivery.endpointId)) {
      // Claimed in the same turn as others of its endpoint: handed back untried, for a turn when it has room.
      released.push(delivery.id);
      return;
    }
    inFlightOf.set(delivery.endpointId, busy + 1);
    const running = attempt(delivery, endpoint)
      .catch((error: unknown) => logger.error({ err: error, deliveryId: delivery.id }, "webhook attempt failed unexpectedly"))
      .finally(() => {
        const left = (inFlightOf.get(delivery.endpointId) ?? 1) - 1;
        if (left > 0) inFlightOf.set(delivery.endpointId, left);
        else inFlightOf.delete(delivery.endpointId);
        inFlight.delete(delivery.id);
        // The last one out does not wait for company: the next event of its incident goes at once.
        if (inFlight.size === 0 && wake) wake();
        else nudge();
      });
    inFlight.set(delivery.id, running);
  }

  const busyEndpoints = () => [...inFlightOf].filter(([endpointId, n]) => n >= allowance(endpointId)).map(([endpointId]) => endpointId);

  /** One turn; true when it leased as many as it could (more may be due at once). */
  async function turn(claim: boolean): Promise<boolean> {
    const done = finished.splice(0);
    const handedBack = released.splice(0);
    const free = claim ? concurrency - inFlight.size : 0;
    if (done.length === 0 && handedBack.length === 0 && free <= 0) return false;
    const now = new Date();
    // Nothing to store: a read first, so that an idle instance never takes the write lock (SQLite) to find nothing.
    if (done.length === 0 && handedBack.length === 0 && !(await repository.anyDue(now, busyEndpoints()))) return false;
    const attempts: FinishedAttempt[] = done.map(({ delivery, decision }) => ({
      id: delivery.id,
      outcome: decision.outcome,
      disableEndpointId: decision.disableEndpoint ? delivery.endpointId : undefined,
    }));
    let settled;
    try {
      settled = await repository.settle(claimer, {
        finished: attempts,
        released: handedBack,
        claim: free > 0 ? { now, leaseUntil: new Date(now.getTime() + leaseMs), limit: free, busyEndpoints: busyEndpoints(), perEndpoint } : undefined,
      });
    } catch (error) {
      // Tried again next turn; the leases still hold meanwhile.
      finished.unshift(...done);
      released.unshift(...handedBack);
      throw error;
    }
    done.forEach(({ delivery, decision }, i) => {
      if (!settled.kept[i]) return;
      metrics.webhookDeliveries.inc({ outcome: decision.metric });
      if (decision.outcome.status !== "DELIVERED") {
        const { metric: outcome, outcome: stored } = decision;
        logger.info({ deliveryId: delivery.id, endpointId: delivery.endpointId, outcome, error: stored.error }, "webhook attempt failed");
      }
    });
    const endpoints = new Map(settled.endpoints.map((endpoint) => [endpoint.id, endpoint]));
    for (const delivery of settled.claimed) track(delivery, endpoints.get(delivery.endpointId));
    return free > 0 && settled.claimed.length === free;
  }

  /** Retention, in batches, so that one pass never holds the write lock long; what is left waits for the next. */
  async function prune() {
    if (options.retentionMs === undefined || Date.now() < nextPrune) return;
    // Once a minute, or more often under a short retention.
    nextPrune = Date.now() + Math.min(60_000, Math.max(1_000, options.retentionMs / 2));
    const before = new Date(Date.now() - options.retentionMs);
    for (let batch = 0; batch < pruneBatches && !stopping; batch++) {
      if ((await repository.prune(before, pruneBatchSize)) < pruneBatchSize) break;
    }
  }

  /**
   * The bodies a large change left to write (SQLite), a slice per transaction, other work let in between: before a
   * turn claims, so that what it claims is whole (a delivery whose body is unwritten is not claimed meanwhile).
   */
  async function renderBodies() {
    while (!stopping && (await repository.renderBodies(renderSlice)) === renderSlice) await new Promise((resolve) => setImmediate(resolve));
  }

  async function run() {
    while (!stopping) {
      woken = false;
      let more = false;
      try {
        // Its own failure stops no delivery already whole from going.
        await renderBodies().catch((error: unknown) => {
          if (!stopping) logger.error({ err: error }, "webhook bodies not written");
        });
        more = await turn(true);
        await prune();
      } catch (error) {
        if (!stopping) logger.error({ err: error }, "webhook deliveries not settled");
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
      // The last outcomes, and the attempts stopped untried, are stored before the database closes.
      await turn(false).catch((error: unknown) => logger.error({ err: error }, "webhook outcomes not stored at shutdown"));
      sender.close();
    },
  };
}
