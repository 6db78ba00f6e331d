// `npm run bench` section "alert ingestion": the hooks against bench/ingest-floor.ts (SQLite) or, with --pg,
// bench/ingest-floor-pg.ts, each side on a fresh database of its own, then the storm figure. Called by bench/run.ts
// with its helpers.
import Database from "better-sqlite3";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface Target {
  url: string;
  headers: Record<string, string>;
  body: string | (() => string);
  onBody?: (body: string) => boolean;
}

interface Comparison {
  api: { rps: number; p50: number; p99: number; failed: number };
  floor: { rps: number; p50: number; p99: number; failed: number };
}

export interface IngestBenchDeps {
  startApi(dir: string, databaseUrl: string): Promise<{ base: string; url: string; child: { pid: number; stop(graceMs?: number): Promise<unknown> } }>;
  /** Runs `node <args>` and waits for the {"port":N} line. */
  startFloor(args: string[], label: string): Promise<{ child: { pid: number; stop(graceMs?: number): Promise<unknown> }; base: string }>;
  compare(name: string, api: Target, floor: Target, seconds: number, rounds: number, warmup: number): Promise<Comparison>;
  section(title: string): void;
  row(figure: string, api: string, floor: string, ratio: string): void;
  fmt(value: number, digits?: number): string;
  ratio(api: number, floor: number): string;
  busy(pid: number): void;
  connections: number;
  duration: number;
  rounds: number;
  warmup: number;
  figures: Record<string, unknown>;
  /** Set: PostgreSQL, each side on a temporary database this makes. */
  postgresDatabase?: () => Promise<string>;
}

const FLOOR_JS = fileURLToPath(new URL("./ingest-floor.js", import.meta.url));
const FLOOR_PG_JS = fileURLToPath(new URL("./ingest-floor-pg.js", import.meta.url));

/** count(*) of a query on the API's database, whichever backend it is. */
async function countOn(databaseUrl: string, sql: string): Promise<number> {
  if (databaseUrl.startsWith("postgres")) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return Number((await client.query(sql)).rows[0].n);
    } finally {
      await client.end();
    }
  }
  const db = new Database(databaseUrl.slice("file:".length), { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

let sequence = 0;
/** A notification for a new group of `size` alerts: every alert new, so every request really writes. */
function amPayload(size: number) {
  const group = `g${Date.now().toString(36)}-${++sequence}`;
  return {
    version: "4",
    groupKey: `{}:{alertname="Bench",group="${group}"}`,
    status: "firing",
    receiver: "bench",
    groupLabels: { alertname: "Bench" },
    commonLabels: { alertname: "Bench", job: "node" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.example:9093",
    truncatedAlerts: 0,
    alerts: Array.from({ length: size }, (_, i) => ({
      status: "firing",
      labels: { alertname: "Bench", instance: `host-${i}:9100`, job: "node", severity: "warning", group },
      annotations: { summary: `Bench alert ${i} of ${group}`, description: "synthetic load" },
      startsAt: new Date().toISOString(),
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.example:9090/graph",
      fingerprint: `${group}-${i}`,
    })),
  };
}

function v2Trigger(routingKey: string) {
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: `e${Date.now().toString(36)}-${++sequence}`,
    payload: { summary: "Disk 91% full on db-7", source: "db-7", severity: "error", component: "postgres", custom_details: { free: 1024 } },
  };
}

async function gql(url: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function apiKeys(url: string) {
  const signUp = await gql(url, `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`, {
    input: { email: "ingest@bench.test", name: "Bench", password: "correct horse battery" },
  });
  const token = signUp.signUp.token as string;
  const service = (await gql(url, `mutation { createService(input: { name: "bench" }) { id } }`, {}, token)).createService.id;
  const key = async (kind: string) =>
    (await gql(url, `mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) { key } }`, { input: { serviceId: service, name: kind, kind } }, token))
      .createIntegration.key as string;
  return { am: await key("ALERTMANAGER"), v2: await key("EVENTS_V2") };
}

const accepted = (status: string) => (text: string) => text.startsWith(`{"status":"${status}"`);

export async function ingestionBench(deps: IngestBenchDeps): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "incident-bench-ingest-"));
  const apiDatabase = deps.postgresDatabase ? await deps.postgresDatabase() : `file:${join(dir, "api.db")}`;
  const api = await deps.startApi(dir, apiDatabase);
  deps.busy(api.child.pid);
  const keys = await apiKeys(api.url);
  const floorKeys = { am: randomBytes(32).toString("base64url"), v2: randomBytes(32).toString("base64url") };
  const floorWhere = deps.postgresDatabase ? [FLOOR_PG_JS, "--url", await deps.postgresDatabase()] : [FLOOR_JS, "--db", join(dir, "floor.db")];
  const floor = await deps.startFloor([...floorWhere, "--am-key", floorKeys.am, "--v2-key", floorKeys.v2], "ingest floor");
  deps.busy(floor.child.pid);

  deps.section(`alert ingestion (${deps.postgresDatabase ? "PostgreSQL" : "SQLite"}): ${deps.connections} connections, every request new alerts (a new incident per group)`);
  const scenarios = [
    { label: "Alertmanager, 1 alert a payload", alerts: 1, path: "/hooks/alertmanager" },
    { label: "Alertmanager, 100 alerts a payload", alerts: 100, path: "/hooks/alertmanager" },
    { label: "Events v2 trigger", alerts: 1, path: "/v2/enqueue" },
  ];
  const results: Record<string, unknown> = {};
  for (const scenario of scenarios) {
    const am = scenario.path === "/hooks/alertmanager";
    const target = (base: string, key: string): Target => ({
      url: `${base}${scenario.path}`,
      headers: am ? { authorization: `Bearer ${key}` } : {},
      body: () => JSON.stringify(am ? amPayload(scenario.alerts) : v2Trigger(key)),
      onBody: accepted(am ? "ok" : "success"),
    });
    const result = await deps.compare(
      scenario.label,
      target(api.base, am ? keys.am : keys.v2),
      target(floor.base, am ? floorKeys.am : floorKeys.v2),
      deps.duration,
      deps.rounds,
      deps.warmup,
    );
    const [apiRate, floorRate] = [result.api.rps * scenario.alerts, result.floor.rps * scenario.alerts];
    deps.row(`${scenario.label}: alerts/s`, deps.fmt(apiRate), deps.fmt(floorRate), deps.ratio(apiRate, floorRate));
    deps.row(`${scenario.label}: p99 ms`, deps.fmt(result.api.p99, 2), deps.fmt(result.floor.p99, 2), deps.ratio(result.api.p99, result.floor.p99));
    if (result.api.failed + result.floor.failed > 0) {
      deps.row(`${scenario.label}: FAILED requests`, String(result.api.failed), String(result.floor.failed), "");
    }
    results[scenario.label] = result;
  }
  await floor.child.stop();

  // The storm: 10,000 alerts in 100 groups of 100, sent 16 at a time; every answer 200 means every alert committed.
  const count = (sql: string) => countOn(apiDatabase, sql);
  const before = await count("SELECT count(*) AS n FROM incidents");
  const payloads = Array.from({ length: 100 }, () => JSON.stringify(amPayload(100)));
  const started = performance.now();
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: deps.connections }, async () => {
      while (next < payloads.length) {
        const body = payloads[next++]!;
        const response = await fetch(`${api.base}/hooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${keys.am}` },
          body,
        });
        await response.text();
        if (response.status !== 200) failures++;
      }
    }),
  );
  const ms = performance.now() - started;
  const incidents = (await count("SELECT count(*) AS n FROM incidents")) - before;
  const stored = await count("SELECT count(*) AS n FROM alerts WHERE group_key LIKE '%Bench%'");
  deps.section("alert storm: 10,000 alerts in 100 Alertmanager payloads of 100");
  deps.row("storm: ms until every alert is committed", deps.fmt(ms), "", "");
  deps.row("storm: alerts/s", deps.fmt(10_000 / (ms / 1000)), "", "");
  deps.row("storm: incidents opened (must be 100)", String(incidents), "", "");
  if (failures > 0) deps.row("storm: FAILED requests", String(failures), "", "");
  process.stderr.write(`  storm: ${deps.fmt(ms)} ms, ${incidents} incidents, ${failures} failed requests (${stored} bench alerts stored in all)\n`);
  deps.figures.ingestion = { ...results, storm: { ms, incidents, failures } };
  await api.child.stop();
}
