// The demo quarter `npm run seed` writes: which services exist, how their problems recur, and how people and
// monitoring handle them. Plain data and a seeded PRNG, so every run tells the same story.
import type { AlertSeverity } from "../src/modules/alerts/alert-enums.js";
import type { Priority } from "../src/modules/incidents/incident-priority.js";
import { seededRandom } from "../src/shared/seeded-random.js";

/** A seeded generator with the picks the demo needs. */
export function prng(seed: number) {
  const next = seededRandom(seed);
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    /** A duration with a long tail (log-normal), in milliseconds, around `median`. */
    tail: (median: number) => Math.round(median * Math.exp((next() + next() + next() - 1.5) * 1.6)),
    hex: (length: number) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join(""),
  };
}
export type Random = ReturnType<typeof prng>;

/** A recurring problem: its title varies (hosts, numbers, ids), its template does not. */
export interface ProblemFamily {
  /** Incidents a day, on average. */
  rate: number;
  title(random: Random): string;
  /** The alertname label: fixed, as a Prometheus rule's name is, whatever the title says. */
  alertName: string;
  severity: AlertSeverity;
  /** Alert labels beyond alertname and severity. */
  labels?(random: Random): Record<string, string>;
  description: string;
}

export interface DemoService {
  name: string;
  description: string;
  /** How its incidents are opened: by its alerts (and which format), or by people. */
  source: "ALERTMANAGER" | "EVENTS_V2" | "PEOPLE";
  autoResolve: boolean;
  families: ProblemFamily[];
}

const host = (prefix: string, count: number) => (random: Random) => `${prefix}-${random.int(1, count)}`;
const db = host("db", 12);

export const demoServices: DemoService[] = [
  {
    name: "Postgres primary",
    description: "The orders and accounts database cluster.",
    source: "ALERTMANAGER",
    autoResolve: true,
    families: [
      { rate: 3, alertName: "DiskFull", severity: "WARNING", title: (r) => `Disk ${r.int(85, 99)}% full on ${db(r)}`, description: "Free space below the threshold on the data volume.", labels: (r) => ({ instance: `${db(r)}:9187`, mount: "/var/lib/postgresql" }) },
      { rate: 1.6, alertName: "ReplicationLag", severity: "ERROR", title: (r) => `Replication lag ${r.int(30, 600)}s on ${db(r)}`, description: "A replica fell behind the primary.", labels: (r) => ({ instance: `${db(r)}:9187` }) },
      { rate: 0.8, alertName: "TooManyConnections", severity: "ERROR", title: (r) => `Too many connections on ${db(r)}`, description: "Connection slots nearly exhausted.", labels: (r) => ({ instance: `${db(r)}:9187` }) },
      { rate: 0.1, alertName: "AutovacuumStuck", severity: "CRITICAL", title: (r) => `Autovacuum stuck on table "${r.pick(["orders", "payments", "sessions"])}"`, description: "Dead tuples keep growing: wraparound risk." },
    ],
  },
  {
    name: "Checkout API",
    description: "Cart, checkout and order placement.",
    source: "EVENTS_V2",
    autoResolve: true,
    families: [
      { rate: 2.4, alertName: "HighErrorRate", severity: "ERROR", title: (r) => `HTTP 5xx rate ${r.int(3, 40)}% on checkout-${r.int(1, 8)}`, description: "Error budget burning fast.", labels: (r) => ({ component: `checkout-${r.int(1, 8)}`, group: "web" }) },
      { rate: 1.8, alertName: "HighLatency", severity: "WARNING", title: (r) => `Latency above ${r.pick([800, 1200, 1500, 2000])}ms on checkout-api`, description: "p99 latency over the SLO for 5 minutes.", labels: () => ({ component: "checkout-api", group: "web" }) },
      { rate: 0.4, alertName: "PaymentProviderTimeout", severity: "ERROR", title: (r) => `Payment provider timeout for order ${r.hex(12)}`, description: "The provider did not answer within 10 s.", labels: () => ({ component: "payment-client", group: "web" }) },
    ],
  },
  {
    name: "Payments",
    description: "Card authorization, refunds and payouts.",
    source: "EVENTS_V2",
    autoResolve: false,
    families: [
      { rate: 1.5, alertName: "CardAuthorizationFailures", severity: "CRITICAL", title: (r) => `Card authorization failures above ${r.int(2, 15)}%`, description: "Declines well above the daily baseline.", labels: () => ({ component: "authorizer", class: "payments" }) },
      { rate: 0.3, alertName: "RefundJobStuck", severity: "WARNING", title: (r) => `Refund job ${uuid(r)} stuck`, description: "A refund batch has not progressed for 30 minutes.", labels: () => ({ component: "refunds" }) },
      { rate: 0.05, alertName: "WebhookSignatureMismatch", severity: "ERROR", title: () => `Webhook from "stripe" rejected: signature mismatch`, description: "Incoming provider webhooks fail verification." },
    ],
  },
  {
    name: "Search",
    description: "Product search and indexing.",
    source: "ALERTMANAGER",
    autoResolve: true,
    families: [
      { rate: 1.5, alertName: "IndexingLag", severity: "WARNING", title: (r) => `Indexing lag ${r.int(5, 90)} minutes on search-${r.int(1, 4)}`, description: "New products take too long to appear.", labels: (r) => ({ instance: `search-${r.int(1, 4)}:9200` }) },
      { rate: 1, alertName: "SearchQueryLatencyHigh", severity: "WARNING", title: (r) => `Query latency p99 ${r.pick([600, 800, 1200])}ms on search-api`, description: "Search is slow for shoppers.", labels: () => ({ instance: "search-api:8080" }) },
    ],
  },
  {
    name: "Auth",
    description: "Sign-in, sessions and tokens.",
    source: "ALERTMANAGER",
    autoResolve: true,
    families: [
      { rate: 1, alertName: "LoginFailureSpike", severity: "WARNING", title: (r) => `Login failures spike from 10.${r.int(0, 9)}.${r.int(0, 255)}.${r.int(1, 254)}`, description: "Possible credential stuffing.", labels: () => ({ instance: "auth-api:8080" }) },
      { rate: 0.15, alertName: "CertificateExpiringSoon", severity: "WARNING", title: (r) => `Certificate expires in ${r.int(3, 14)} days`, description: "The TLS certificate of auth.example.com needs renewing.", labels: () => ({ instance: "auth.example.com:443" }) },
    ],
  },
  {
    name: "Kafka",
    description: "The event backbone between services.",
    source: "ALERTMANAGER",
    autoResolve: true,
    families: [
      { rate: 1.8, alertName: "ConsumerLag", severity: "WARNING", title: (r) => `Consumer lag ${r.int(5, 90) * 1000} on topic "${r.pick(["orders", "payments", "emails"])}"`, description: "A consumer group is falling behind.", labels: () => ({ instance: "kafka-exporter:9308" }) },
      { rate: 0.5, alertName: "KafkaBrokerOffline", severity: "CRITICAL", title: (r) => `Broker kafka-${r.int(1, 6)} offline`, description: "A broker left the cluster.", labels: (r) => ({ instance: `kafka-${r.int(1, 6)}:9092` }) },
    ],
  },
  {
    name: "CDN",
    description: "Static assets and edge caching.",
    source: "EVENTS_V2",
    autoResolve: true,
    families: [
      { rate: 0.8, alertName: "CacheHitRatioLow", severity: "WARNING", title: (r) => `Cache hit ratio below ${r.pick([70, 80, 85])}%`, description: "More requests reach the origin than usual.", labels: () => ({ component: "edge" }) },
      { rate: 0.8, alertName: "OriginErrors", severity: "ERROR", title: (r) => `Origin 502 errors on cdn-edge-${r.int(1, 24)}`, description: "The edge cannot reach the origin.", labels: (r) => ({ component: `cdn-edge-${r.int(1, 24)}` }) },
    ],
  },
  {
    name: "Notifications",
    description: "E-mail, SMS and push delivery.",
    source: "PEOPLE",
    autoResolve: true,
    families: [
      { rate: 0.7, alertName: "PushNotificationsDelayed", severity: "WARNING", title: (r) => `Push notifications delayed by ${r.int(5, 60)} minutes`, description: "Customers report late order updates." },
      { rate: 0.5, alertName: "EmailBounceRate", severity: "WARNING", title: (r) => `Email bounces at ${r.int(2, 9)}% for "${r.pick(["gmail.com", "outlook.com", "yahoo.com"])}"`, description: "A mailbox provider rejects our mail." },
    ],
  },
];

function uuid(random: Random): string {
  const h = random.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** One-off problems late in the quarter: nothing like them before, so they show as ANOMALY. */
export const anomalies: Array<{ service: string; title: string; description: string; priority: Priority }> = [
  { service: "Checkout API", title: "Checkout shows prices in the wrong currency for EU customers", description: "Reported by support after a config deploy.", priority: "HIGH" },
  { service: "Search", title: "Search returns products from another storefront", description: "Tenant filter missing in one query path.", priority: "CRITICAL" },
  { service: "Auth", title: "Password reset links point to the staging domain", description: "A template variable was not set in production.", priority: "HIGH" },
  { service: "Postgres primary", title: "Sequence for order ids close to its maximum", description: "Found during capacity review.", priority: "MEDIUM" },
];

/** Problems people report without a service. */
export const unservicedTitles = [
  "VPN drops every few minutes for the Berlin office",
  "Status page shows stale data",
  "Office Wi-Fi captive portal down",
  "Shared drive out of space",
];

export const notes = [
  "Looking into it.",
  "Rolled back the last deploy; watching the graphs.",
  "Scaled the pool up by two instances.",
  "Root cause: a slow query after the index was dropped. Recreated it.",
  "Vendor confirmed a degradation on their side.",
  "Rotated the logs and freed space; a follow-up ticket tracks retention.",
  "Restarted the stuck consumer; lag is going down.",
  "Added a temporary rate limit on the noisy client.",
];

export const people = [
  { name: "Alex Admin", email: "admin@example.com", role: "ADMIN" },
  { name: "Priya Raman", email: "priya@example.com", role: "RESPONDER" },
  { name: "Tomás Ortega", email: "tomas@example.com", role: "RESPONDER" },
  { name: "Mei Chen", email: "mei@example.com", role: "RESPONDER" },
  { name: "Jonas Weber", email: "jonas@example.com", role: "RESPONDER" },
  { name: "Aisha Bello", email: "aisha@example.com", role: "RESPONDER" },
  { name: "Sam Viewer", email: "viewer@example.com", role: "VIEWER" },
] as const;

export const DEMO_PASSWORD = "incident-demo-2026";
