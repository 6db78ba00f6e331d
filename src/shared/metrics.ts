import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { createUnsentAnswers, type UnsentAnswers } from "./unsent-answers.js";

/** What a bounded cache reports: the heap its entries are estimated to hold, and how many there are. */
export interface CacheGauge {
  readonly bytes: number;
  readonly size: number;
}

export interface Metrics {
  registry: Registry;
  graphqlOperations: Counter<"operation" | "outcome">;
  httpDuration: Histogram<"method" | "route" | "status">;
  /** Unlabelled: statements of requests and writes; `source="background"`: the webhook dispatcher's and /metrics' own. */
  dbQueries: Counter<"source">;
  /** Reports `cache` as `cache_bytes{cache="<name>"}` and `cache_entries{cache="<name>"}`. */
  watchCache(name: string, cache: CacheGauge): void;
  alertsReceived: Counter<"integration_kind" | "outcome">;
  webhookDeliveries: Counter<"outcome">;
  webhookDuration: Histogram;
  /** Reports the age of the oldest pending webhook delivery, read when /metrics is scraped. */
  watchWebhookBacklog(oldestPending: () => Promise<Date | undefined>): void;
  /** The ledger of answers not yet taken by the network, reported as `answers_unsent_bytes` and `answers_cut_total`. */
  unsentAnswers(limitBytes: number): UnsentAnswers;
}

/** One registry per server, so that tests running several servers in one process do not share counts. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const caches = new Map<string, CacheGauge>();
  const cacheGauge = (name: string, help: string, read: (cache: CacheGauge) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["cache"],
      registers: [registry],
      collect() {
        for (const [cache, gauge] of caches) this.set({ cache }, read(gauge));
      },
    });
  cacheGauge("cache_bytes", "Heap (or native memory) held by each bounded in-process cache, estimated, in bytes", (cache) => cache.bytes);
  cacheGauge("cache_entries", "Entries in each bounded in-process cache", (cache) => cache.size);
  let oldestPending: (() => Promise<Date | undefined>) | undefined;
  new Gauge({
    name: "webhook_oldest_pending_delivery_age_seconds",
    help: "Age of the oldest webhook delivery still PENDING for an enabled endpoint (0 when none)",
    registers: [registry],
    async collect() {
      const oldest = oldestPending ? await oldestPending().catch(() => undefined) : undefined;
      this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
    },
  });
  const answersCut = new Counter({
    name: "answers_cut_total",
    help: "Answers dropped with their connection because unsent answers passed their limit (the slowest readers first)",
    registers: [registry],
  });
  return {
    unsentAnswers(limitBytes) {
      const ledger = createUnsentAnswers(limitBytes, () => answersCut.inc());
      new Gauge({
        name: "answers_unsent_bytes",
        help: "Bytes of HTTP answers and subscription events handed to sockets and not yet taken by the network",
        registers: [registry],
        collect() {
          this.set(ledger.bytes);
        },
      });
      return ledger;
    },
    watchCache: (name, cache) => void caches.set(name, cache),
    watchWebhookBacklog: (read) => void (oldestPending = read),
    webhookDeliveries: new Counter({
      name: "webhook_deliveries_total",
      help: "Webhook delivery attempts, by outcome (delivered, retry, failed: retries used up, gone: 410 disabled the endpoint, refused: URL or address not allowed)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    webhookDuration: new Histogram({
      name: "webhook_delivery_seconds",
      help: "Duration of webhook delivery attempts in seconds, until the receiver's answer or the failure",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    registry,
    graphqlOperations: new Counter({
      name: "graphql_operations_total",
      help: "GraphQL operations executed, by operation type and outcome",
      labelNames: ["operation", "outcome"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration in seconds",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    dbQueries: new Counter({
      name: "db_queries_total",
      help: "SQL statements executed, including transaction control; source=\"background\": the webhook dispatcher's and this endpoint's own",
      labelNames: ["source"],
      registers: [registry],
    }),
    alertsReceived: new Counter({
      name: "alerts_received_total",
      help: "Alerts received by the hooks, by integration kind and outcome (created, deduplicated, resolved, ignored; rejected counts refused requests)",
      labelNames: ["integration_kind", "outcome"],
      registers: [registry],
    }),
  };
}
