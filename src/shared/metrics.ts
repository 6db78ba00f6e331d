import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** What a bounded cache reports: the heap its entries are estimated to hold, and how many there are. */
export interface CacheGauge {
  readonly bytes: number;
  readonly size: number;
}

export interface Metrics {
  registry: Registry;
  graphqlOperations: Counter<"operation" | "outcome">;
  httpDuration: Histogram<"method" | "route" | "status">;
  dbQueries: Counter;
  /** Reports `cache` as `cache_bytes{cache="<name>"}` and `cache_entries{cache="<name>"}`. */
  watchCache(name: string, cache: CacheGauge): void;
  alertsReceived: Counter<"integration_kind" | "outcome">;
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
  return {
    watchCache: (name, cache) => void caches.set(name, cache),
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
      help: "SQL statements executed, including transaction control",
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
