import type { Logger } from "pino";
import type { KeyedConcurrencyLimit } from "../../shared/concurrency-limit.js";
import { RateLimitedError } from "../../shared/errors.js";
import type { Metrics } from "../../shared/metrics.js";
import type { SystemIncidentEvents } from "../../realtime/incident-event-publisher.js";
import type { IntegrationKind } from "./alert-enums.js";
import { KeyRevokedError, type AlertOutcome, type IncomingAlert, type IngestResult } from "./alert-ingest.js";
import type { AlertRepository } from "./alert.repository.js";
import type { IngestRateLimit } from "./ingest-rate-limit.js";
import type { IntegrationService } from "./integration.service.js";

export class UnknownKeyError extends Error {
  override name = "UnknownKeyError";
  constructor() {
    super("The integration key is missing, unknown, rotated, deleted, or of another kind");
  }
}

export class IngestRateLimitedError extends Error {
  override name = "IngestRateLimitedError";
  constructor(
    readonly retryAfterSeconds: number,
    message = "Too many requests for this integration; retry later",
  ) {
    super(message);
  }
}

export interface AlertIntakeDeps {
  integrations: IntegrationService;
  alerts: AlertRepository;
  rateLimit: IngestRateLimit;
  /**
   * Ingest transactions at once, across integrations. On PostgreSQL each holds a pool connection for its whole
   * length (a second or more for a large payload): unbounded, a few senders at once took every connection and other
   * users' requests failed waiting for one. Shared fairly between integrations (keyed by integration id): one key's
   * flood took every slot and the whole queue, and another service's alerts were refused. Past its queue, senders
   * are told to retry.
   */
  slots: KeyedConcurrencyLimit;
  events?: SystemIncidentEvents;
  metrics: Metrics;
  logger: Logger;
}

const metricKind: Record<IntegrationKind, string> = { ALERTMANAGER: "alertmanager", EVENTS_V2: "events_v2" };

/**
 * Alerts from outside: the key, the integration's rate limit, then one transaction for the whole request; events
 * are published once it has committed. `parse` runs after the key and the rate limit are checked.
 */
export class AlertIntakeService {
  constructor(private readonly deps: AlertIntakeDeps) {}

  async receive(kind: IntegrationKind, key: string | undefined, parse: () => IncomingAlert[]): Promise<IngestResult> {
    const found = await this.deps.integrations.authenticate(key, kind);
    if (!found) throw new UnknownKeyError();
    const wait = await this.deps.rateLimit.take(found.target.integrationId);
    if (wait !== undefined) throw new IngestRateLimitedError(wait);
    const alerts = parse();
    let result: IngestResult;
    try {
      result = await this.deps.slots.run(String(found.target.integrationId), () => this.deps.alerts.ingest(found.target, alerts, new Date()));
    } catch (error) {
      if (error instanceof KeyRevokedError) throw new UnknownKeyError();
      if (error instanceof RateLimitedError) throw new IngestRateLimitedError(error.retryAfterSeconds, "Too many alert requests in progress; retry later");
      throw error;
    }
    this.count(kind, result.outcomes);
    this.publish(result);
    return result;
  }

  /** A request answered with anything but 2xx (bad body, key, rate limit, failure): none of its alerts was taken. */
  rejected(kind: IntegrationKind): void {
    this.deps.metrics.alertsReceived.inc({ integration_kind: metricKind[kind], outcome: "rejected" });
  }

  private count(kind: IntegrationKind, outcomes: readonly AlertOutcome[]) {
    const tally = new Map<AlertOutcome, number>();
    for (const outcome of outcomes) tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    for (const [outcome, n] of tally) this.deps.metrics.alertsReceived.inc({ integration_kind: metricKind[kind], outcome }, n);
  }

  /** After the commit; a failure to publish is logged, never turned into a failed request. */
  private publish(result: IngestResult) {
    const events = this.deps.events;
    if (!events) return;
    try {
      // One publication for the whole request: a legal burst (1,000 alerts firing and resolving) is not a slow consumer.
      events.batch(() => {
        for (const event of result.events) {
          if (event.kind === "CREATED") events.createdById(event.incidentId);
          else if (event.kind === "UPDATED") events.updatedById(event.incidentId);
          else events.alert(event.incidentId, event.alertId, event.logId, null);
        }
      });
    } catch (error) {
      this.deps.logger.error({ err: error }, "alert events not published");
    }
  }
}

