// `npm run bench [-- options]`: the API against its raw floor (bench/raw-floor.ts), on a temporary seeded database.
//
// Options (environment variables BENCH_<NAME> in upper case work too, e.g. BENCH_INCIDENTS=500):
//   --incidents N        incidents in the main database (200)      --logs N        timeline entries per incident (10)
//   --users N            seeded responders (6)                      --connections N autocannon connections (16)
//   --duration S         seconds per measured round (5)             --rounds N      measured rounds per side (3)
//   --warmup S           warm-up seconds per side (2)               --only LIST     scenarios: nested,filtered,byid,ceiling,update,note,ingest,webhooks
//                        (ceiling: the stack's own ceiling for incident by id, bench/stack-ceiling.ts, against the same floor)
//   --growth             growth at 1k, 10k and 100k incidents (default: a reduced form at 1k and 10k, one round)
//   --no-growth          skip the growth part                       --growth-sizes LIST  e.g. 1000,10000,100000
//   --growth-duration S  seconds per growth round                   --growth-rounds N
//   --page-sizes LIST    growth page sizes (10,50,100)
//   --quick              1 s rounds, 1 round, short warm-up, growth at 1k only
//   --cpu-prof           run the API server under --cpu-prof and summarise where its time goes
//   --json FILE          also write every figure as JSON              --keep          keep the temporary directory
//   --flood              a second user's latency while one user floods distinct documents (bench/flood.ts):
//                        --flood-connections N (16), --flood-seconds S (15), --heap MB (the API's heap cap)
//   --intelligence       search and similar incidents at --intelligence-sizes (10000,100000): p50 and p99 of
//                        similar(first: 5), similarIncidents and searchIncidents, --samples N requests each (300)
//   --api-node-args "..." node flags for the API server alone (e.g. "--max-semi-space-size=32"), to measure V8 settings
//                        (the server sets --heap-growing-percent and --no-allocation-site-pretenuring itself unless given here: src/shared/v8-flags.ts)
//   --pg, --backend postgres   the same on PostgreSQL: a temporary database (created on --postgres-url's server,
//                        postgres://postgres@127.0.0.1:5432/test by default; dropped at the end, on errors and on
//                        SIGINT too), seeded with bench/seed-pg.ts, against bench/raw-floor-pg.ts; no growth matrix
import autocannon from "autocannon";
import Database from "better-sqlite3";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpus, tmpdir, totalmem } from "node:os";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { summariseCpuProfile } from "./cpu-profile.js";
import { runFlood } from "./flood.js";
import { ingestionBench } from "./ingest.js";
import { intelligenceBench } from "./intelligence.js";
import { metricsBench, sqlitePlan } from "./metrics.js";
import { webhookBench } from "./webhooks.js";
import { seedIncidents, type SeedResult } from "./seed.js";
import { seedPostgres } from "./seed-pg.js";
import pg from "pg";
import type { Target } from "./load-target.js";

// ---------------------------------------------------------------------------------------------------- options

const argv = process.argv.slice(2);
/** `--name value` or `--name=value`; `dashed`: the value itself starts with "--" (node flags), so it is taken anyway. */
function option(name: string, dashed = false): string | undefined {
  const index = argv.indexOf(`--${name}`);
  if (index >= 0 && index + 1 < argv.length && (dashed || !argv[index + 1]!.startsWith("--"))) return argv[index + 1];
  const inline = argv.find((arg) => arg.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, "_")}`];
}
const flag = (name: string) => argv.includes(`--${name}`) || ["1", "true", "yes"].includes(process.env[`BENCH_${name.toUpperCase().replace(/-/g, "_")}`] ?? "");
const num = (name: string, fallback: number) => {
  const value = option(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number, got ${value}`);
  return parsed;
};
const list = (name: string, fallback: number[]) => (option(name)?.split(",").map(Number) ?? fallback).filter((n) => n > 0);

const quick = flag("quick");
const fullGrowth = flag("growth");
const opts = {
  incidents: num("incidents", 200),
  logs: num("logs", 10),
  users: num("users", 6),
  connections: num("connections", 16),
  duration: num("duration", quick ? 1 : 5),
  rounds: Math.max(1, num("rounds", quick ? 1 : 3)),
  warmup: num("warmup", quick ? 0.5 : 2),
  growth: !flag("no-growth"),
  growthSizes: list("growth-sizes", quick ? [1000] : fullGrowth ? [1000, 10_000, 100_000] : [1000, 10_000]),
  growthDuration: num("growth-duration", quick ? 1 : fullGrowth ? 5 : 3),
  growthRounds: Math.max(1, num("growth-rounds", quick ? 1 : fullGrowth ? 3 : 1)),
  pageSizes: list("page-sizes", [10, 50, 100]),
  only: option("only")?.split(","),
  cpuProf: flag("cpu-prof"),
  /** Extra node flags for the API server only, space-separated: for measuring V8 settings as levers. */
  apiNodeArgs: (option("api-node-args", true) ?? "").split(" ").filter(Boolean),
  json: option("json"),
  keep: flag("keep"),
  pg: flag("pg") || option("backend") === "postgres" || option("backend") === "pg",
  postgresUrl: option("postgres-url") ?? "postgres://postgres@127.0.0.1:5432/test",
};
const wants = (scenario: string) => !opts.only || opts.only.includes(scenario);

// ---------------------------------------------------------------------------------------------------- children

const here = fileURLToPath(new URL(".", import.meta.url));
const MAIN_JS = join(here, "..", "src", "main.js");
const FLOOR_JS = join(here, "raw-floor.js");
const FLOOR_PG_JS = join(here, "raw-floor-pg.js");
const CEILING_JS = join(here, "stack-ceiling.js");
const PROJECT_ROOT = join(here, "..", "..");
const JWT_SECRET = "benchmark-secret-0123456789abcdef-0123456789";

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];
/** Temporary PostgreSQL databases (--pg): dropped by killAll, whichever way the bench ends. */
const tempDatabases: string[] = [];

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function createTempDatabase(): Promise<string> {
  const name = `bench_${process.pid}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: opts.postgresUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  tempDatabases.push(name);
  return withDatabase(opts.postgresUrl, name);
}

/** Synchronous (it runs from the "exit" handler too): a child node drops the databases, after the servers are gone. */
function dropTempDatabases(): void {
  if (tempDatabases.length === 0) return;
  const names = tempDatabases.splice(0);
  const script = `const pg = require("pg");
    (async () => {
      const client = new pg.Client({ connectionString: process.env.BENCH_ADMIN_URL });
      await client.connect();
      for (const name of JSON.parse(process.env.BENCH_DROP)) await client.query('DROP DATABASE IF EXISTS "' + name + '" WITH (FORCE)');
      await client.end();
    })().catch((error) => { console.error(String(error)); process.exit(1); });`;
  const result = spawnSync(process.execPath, ["-e", script], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BENCH_ADMIN_URL: opts.postgresUrl, BENCH_DROP: JSON.stringify(names) },
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.status !== 0) process.stderr.write(`could not drop ${names.join(", ")}: ${result.stderr || result.error}\n`);
  else process.stderr.write(`dropped the temporary database ${names.join(", ")}\n`);
}

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  if (!opts.keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  dropTempDatabases();
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers\n`);
    killAll();
    process.exit(130);
  });
}

interface Child {
  process: ChildProcess;
  pid: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function track(child: ChildProcess, label: string): Child {
  children.add(child);
  const tail: string[] = [];
  const remember = (chunk: Buffer) => {
    tail.push(chunk.toString());
    if (tail.length > 50) tail.shift();
  };
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    process: child,
    pid: child.pid!,
    output: () => `${label}: ${tail.join("").slice(-4000)}`,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, child: Child, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${what} exited early\n${child.output()}`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms\n${child.output()}`);
}

interface Api {
  child: Child;
  base: string;
  url: string;
}

async function startApi(dir: string, databaseUrl: string, profileDir?: string, env: Record<string, string> = {}): Promise<Api> {
  const port = await freePort();
  const nodeArgs = [...opts.apiNodeArgs, ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])];
  const child = track(
    spawn(process.execPath, [...nodeArgs, MAIN_JS], {
      cwd: dir, // no .env there
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? dir,
        NODE_ENV: "production",
        // Production's cost budget (5,000 points an hour) would throttle the load generator within seconds.
        RATE_LIMIT_POINTS: "0",
        JWT_SECRET,
        LOG_LEVEL: "warn",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        // The ingestion section sends far more than an integration's default 600 requests a minute.
        INGEST_RATE_LIMIT: "1000000000",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
    "api",
  );
  const base = `http://127.0.0.1:${port}`;
  serverPids.set(base, child.pid);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, child, "API server");
  return { child, base, url: `${base}/graphql` };
}

interface FloorProcess {
  child: Child;
  base: string;
}

/** The SQLite floor over a file, or with a postgres:// URL the PostgreSQL floor. */
function startFloorProcess(database: string): Promise<FloorProcess> {
  return startFloorScript(database.startsWith("postgres") ? [FLOOR_PG_JS, "--url", database] : [FLOOR_JS, "--db", database], "floor");
}

/** A floor script (`node <args>`), once it has printed {"port":N}. */
async function startFloorScript(args: string[], label: string): Promise<FloorProcess> {
  const child = track(spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] }), label);
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${label} did not start\n${child.output()}`)), 15_000);
    child.process.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /\{"port":(\d+)\}/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.process.once("exit", () => reject(new Error(`${label} exited\n${child.output()}`)));
  });
  serverPids.set(`http://127.0.0.1:${port}`, child.pid);
  return { child, base: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------------- memory

const peaks = new Map<number, { label: string; rssKb: number; hwmKb: number }>();
function sampleMemory(): void {
  for (const [pid, peak] of peaks) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak.rssKb = Math.max(peak.rssKb, rss);
      peak.hwmKb = Math.max(peak.hwmKb, hwm);
    } catch {
      // gone already
    }
  }
}
const memoryTimer = setInterval(sampleMemory, 250);
memoryTimer.unref();
const watchMemory = (pid: number, label: string) => peaks.set(pid, { label, rssKb: 0, hwmKb: 0 });
const peakMb = (pid: number) => {
  sampleMemory();
  const peak = peaks.get(pid);
  return peak ? Math.max(peak.rssKb, peak.hwmKb) / 1024 : Number.NaN;
};

// ---------------------------------------------------------------------------------------------------- load

/** The pid of the server listening at each origin, for its CPU time per request. */
const serverPids = new Map<string, number>();
const ticksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of a process, in clock ticks (usually 10 ms). */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Busy and total clock ticks of the whole machine (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** CPU taken by processes other than the bench and its servers, as a share of the machine, for each load(). */
const backgroundShares: number[] = [];
function backgroundMeter(): () => number {
  const ours = () => cpuTicks(process.pid) + [...busyPids].reduce((sum, pid) => sum + cpuTicks(pid), 0);
  const startMachine = machineTicks();
  const startOurs = ours();
  return () => {
    const machineNow = machineTicks();
    const total = machineNow.total - startMachine.total;
    const foreign = machineNow.busy - startMachine.busy - (ours() - startOurs);
    const share = total > 0 ? Math.max(0, foreign / total) : 0;
    backgroundShares.push(share);
    return share;
  };
}

/** Servers whose leftover work (requests still queued when autocannon stopped, GC) must end before the next round. */
const busyPids = new Set<number>();

/** Waits until the servers have been idle for 100 ms (at most 10 s), so one side's backlog never runs into the other's round. */
async function settle(): Promise<void> {
  const deadline = Date.now() + 10_000;
  let previous = [...busyPids].map(cpuTicks);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = [...busyPids].map(cpuTicks);
    if (now.every((ticks, i) => ticks - previous[i]! <= 1)) return;
    previous = now;
  }
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  /** Share of the machine's CPU used by other processes during the load (0-1). */
  background: number;
  /**
   * CPU time of the server's own process per answered request, in µs (NaN when unknown): other load on the machine
   * moves it far less than throughput. On PostgreSQL the SQL's own work is in the database's processes, not here.
   */
  cpuUs: number;
}


/**
 * --pg: the PostgreSQL backends serving the temporary database. They work for the servers under test, so they count
 * as the bench's own CPU (not as other processes) and settle() waits for them too. Pools open connections lazily:
 * looked up again before every load.
 */
let postgresBackends: (() => Promise<number[]>) | undefined;

async function load(target: Target, seconds: number): Promise<LoadResult> {
  if (postgresBackends) for (const pid of await postgresBackends()) busyPids.add(pid);
  await settle();
  await target.before?.();
  const latencies: number[] = [];
  let bodyFailures = 0;
  const request: autocannon.Request = {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    // A dynamic body is built by setupRequest for every request, the first one included.
    body: typeof target.body === "string" ? target.body : "",
  };
  if (typeof target.body === "function") {
    const build = target.body;
    request.setupRequest = (req) => ({ ...req, body: build() });
  }
  if (target.onBody) {
    const check = target.onBody;
    request.onResponse = (_status, body) => {
      if (!check(body)) bodyFailures++;
    };
  }
  const background = backgroundMeter();
  const serverPid = serverPids.get(new URL(target.url).origin);
  const ticksBefore = serverPid === undefined ? 0 : cpuTicks(serverPid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: opts.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [request],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    // autocannon emits (client, statusCode, resBytes, responseTime in ms with sub-ms precision).
    (instance as unknown as NodeJS.EventEmitter).on("response", (...args: unknown[]) => {
      const status = args[1] as number;
      if (status >= 200 && status < 300) latencies.push(args[3] as number);
    });
  });
  const foreign = background();
  const serverTicks = serverPid === undefined ? Number.NaN : cpuTicks(serverPid) - ticksBefore;
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => (latencies.length === 0 ? Number.NaN : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
  const failed = result.non2xx + result.errors + bodyFailures;
  return {
    rps: (latencies.length - bodyFailures) / result.duration,
    p50: pick(0.5),
    p99: pick(0.99),
    ok: latencies.length - bodyFailures,
    failed,
    background: foreign,
    cpuUs: (serverTicks / ticksPerSecond) * 1e6 / Math.max(1, latencies.length),
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Comparison {
  api: LoadResult;
  floor: LoadResult;
  apiRounds: LoadResult[];
  floorRounds: LoadResult[];
}

/** Warm-up on both sides, then A B A B ... rounds; the median of each figure on each side. */
async function compare(name: string, api: Target, floor: Target, seconds: number, rounds: number, warmup: number): Promise<Comparison> {
  if (warmup > 0) {
    await load(api, warmup);
    await load(floor, warmup);
  }
  const apiRounds: LoadResult[] = [];
  const floorRounds: LoadResult[] = [];
  for (let round = 0; round < rounds; round++) {
    apiRounds.push(await load(api, seconds));
    floorRounds.push(await load(floor, seconds));
  }
  const summarise = (results: LoadResult[]): LoadResult => ({
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    background: Math.max(...results.map((r) => r.background)),
    cpuUs: median(results.map((r) => r.cpuUs)),
  });
  const result = { api: summarise(apiRounds), floor: summarise(floorRounds), apiRounds, floorRounds };
  const failures = result.api.failed + result.floor.failed;
  process.stderr.write(
    `  ${name.padEnd(34)} api ${fmt(result.api.rps)} req/s p50 ${fmt(result.api.p50, 2)} ms | floor ${fmt(result.floor.rps)} req/s p50 ${fmt(
      result.floor.p50,
      2,
    )} ms${failures ? `  (${failures} FAILED requests)` : ""}${
      Math.max(result.api.background, result.floor.background) > 0.1
        ? `  (other processes took up to ${fmt(100 * Math.max(result.api.background, result.floor.background))}% of the machine)`
        : ""
    }\n`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------------- the stack's ceiling

/**
 * Incident by id from servers that answer the API's own bytes from memory, one layer of the stack more at each step
 * (node:http, Fastify, Fastify + Apollo), each against the same floor: what the layers cost before any of our code.
 */
async function stackCeiling(api: Api, floor: FloorProcess, token: string, id: string, seconds: number, rounds: number, warmup: number) {
  const document = { query: byIdQuery, variables: { id } };
  const answer = await post(api.url, document, token);
  const floorTarget: Target = { url: `${floor.base}/incident`, headers: {}, body: JSON.stringify({ id }) };
  const layers = [["http", "node:http"], ["fastify", "Fastify"], ["apollo", "Fastify + Apollo, graphql-js"]] as const;
  for (const [mode, label] of layers) {
    const server = await startFloorScript([CEILING_JS, "--mode", mode, "--answer", answer], `ceiling ${mode}`);
    busyPids.add(server.child.pid);
    try {
      const target: Target = { url: `${server.base}/graphql`, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(document) };
      await assertIdentical(`stack ceiling (${label})`, await post(target.url, document, token), answer);
      const name = `incident by id, stack alone: ${label}`;
      addLoadRows(name, "req/s", await compare(name, target, floorTarget, seconds, rounds, warmup));
    } finally {
      busyPids.delete(server.child.pid);
      await server.child.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------------- GraphQL

const nestedQuery = (first: number, logs: number, filter = "") =>
  `query { incidents(first: ${first}${filter}) { nodes { id reporter { name } assignee { name } logs(first: ${logs}) { nodes { message author { name } } } } } }`;
const byIdQuery = "query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }";
const updateMutation = "mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id title priority version } }";
const noteMutation = "mutation($id: ID!, $message: String!) { addIncidentLog(incidentId: $id, message: $message) { id kind message } }";

async function post(url: string, body: unknown, token?: string): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return response.text();
}

async function signUp(api: Api): Promise<{ token: string; id: number }> {
  const text = await post(api.url, {
    query: "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id role } } }",
    variables: { input: { email: "bench@example.com", name: "Bench Admin", password: "correct horse battery staple" } },
  });
  const body = JSON.parse(text);
  if (!body.data?.signUp?.token) throw new Error(`signUp failed: ${text}`);
  if (body.data.signUp.user.role !== "ADMIN") throw new Error(`the bench user must be the first (ADMIN), got ${text}`);
  return { token: body.data.signUp.token, id: Number(body.data.signUp.user.id) };
}

async function metric(api: Api, name: string): Promise<number> {
  const text = await (await fetch(`${api.base}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : Number.NaN;
}

async function floorStatements(floor: FloorProcess): Promise<number> {
  return (JSON.parse(await (await fetch(`${floor.base}/stats`)).text()) as { statements: number }).statements;
}

/** SQL statements executed by one request on each side. */
async function statementsFor(api: Api, floor: FloorProcess, apiBody: unknown, token: string, floorPath: string, floorBody: unknown) {
  const before = await metric(api, "db_queries_total");
  const apiText = await post(api.url, apiBody, token);
  const after = await metric(api, "db_queries_total");
  if (apiText.includes('"errors"')) throw new Error(`API request failed: ${apiText.slice(0, 500)}`);
  const floorBefore = await floorStatements(floor);
  await post(`${floor.base}${floorPath}`, floorBody);
  const floorAfter = await floorStatements(floor);
  return { api: after - before, floor: floorAfter - floorBefore };
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at byte ${i}: API …${JSON.stringify(a.slice(Math.max(0, i - 60), i + 60))}… floor …${JSON.stringify(b.slice(Math.max(0, i - 60), i + 60))}…`;
}

async function assertIdentical(what: string, apiText: string, floorText: string): Promise<void> {
  if (apiText !== floorText) throw new Error(`${what}: the floor's JSON differs from the API's ${firstDifference(apiText, floorText)}`);
}

// ---------------------------------------------------------------------------------------------------- scenarios

function nestedTargets(api: Api, floor: FloorProcess, token: string, first: number, logs: number, status?: string[]) {
  const filter = status ? `, filter: {status: [${status.join(", ")}]}` : "";
  return {
    api: { url: api.url, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query: nestedQuery(first, logs, filter) }) },
    floor: { url: `${floor.base}/nested`, headers: {}, body: JSON.stringify({ first, logs, ...(status ? { status } : {}) }) },
  };
}

async function verifyNested(api: Api, floor: FloorProcess, token: string, first: number, logs: number, status?: string[]) {
  const targets = nestedTargets(api, floor, token, first, logs, status);
  const apiText = await post(api.url, JSON.parse(targets.api.body as string), token);
  const floorText = await post(targets.floor.url, JSON.parse(targets.floor.body as string));
  await assertIdentical(`nested read first ${first} logs ${logs}${status ? ` status ${status}` : ""}`, apiText, floorText);
  return apiText.length;
}

/** What the write scenarios read below the API, on either backend. */
interface WriteReader {
  priorities(ids: number[]): Promise<Map<number, string>>;
  /** Timeline entries an update writes (authored by `actor`): one per real change. */
  changeEntries(actor: number): Promise<number>;
  close(): Promise<void>;
}

function sqliteReader(dbPath: string): WriteReader {
  const reader = new Database(dbPath, { readonly: true, fileMustExist: true });
  const priorityOf = reader.prepare("SELECT priority FROM incidents WHERE id = ?").pluck();
  const changeEntries = reader
    .prepare("SELECT count(*) FROM incident_logs WHERE author_id = ? AND kind IN ('PRIORITY_CHANGE', 'EDIT')")
    .pluck();
  return {
    priorities: async (ids) => new Map(ids.map((id) => [id, priorityOf.get(id) as string])),
    changeEntries: async (actor) => changeEntries.get(actor) as number,
    close: async () => void reader.close(),
  };
}

function postgresReader(url: string): WriteReader {
  const client = new pg.Client({ connectionString: url });
  const connected = client.connect();
  return {
    async priorities(ids) {
      await connected;
      const { rows } = await client.query<{ id: string; priority: string }>("SELECT id, priority FROM incidents WHERE id = ANY($1::bigint[])", [ids]);
      return new Map(rows.map((row) => [Number(row.id), row.priority]));
    },
    async changeEntries(actor) {
      await connected;
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM incident_logs WHERE author_id = $1 AND kind IN ('PRIORITY_CHANGE', 'EDIT')",
        [actor],
      );
      return Number(rows[0]!.n);
    },
    close: () => client.end(),
  };
}

/** Writes: each request takes an incident no other request is changing, and really changes it. */
function writeTargets(api: Api, floor: FloorProcess, token: string, actor: number, reader: WriteReader, pool: number[]) {
  const state = new Map<number, string>();
  let free: number[] = [];
  let counter = 0;
  const runId = Date.now().toString(36);
  /** Before each run: every pool incident free again, its priority as the database has it. */
  const reset = async () => {
    free = [...pool];
    for (const [id, priority] of await reader.priorities(pool)) state.set(id, priority);
  };
  const next = (): { id: number; priority?: string; title?: string } => {
    const id = free.shift() ?? pool[Math.floor(Math.random() * pool.length)]!;
    const n = counter++;
    if (n % 2 === 0) {
      const priority = state.get(id) === "HIGH" ? "LOW" : "HIGH";
      state.set(id, priority);
      return { id, priority };
    }
    return { id, title: `Bench title ${runId}-${n}` };
  };
  const release = (id: number | undefined) => {
    if (id !== undefined && !free.includes(id)) free.push(id);
  };
  let successes = 0;
  const onBody = (key: string) => (text: string) => {
    try {
      const body = JSON.parse(text);
      const result = body.data?.[key];
      if (!result || body.errors) return false;
      successes++;
      if (key === "updateIncident") release(Number(result.id));
      return true;
    } catch {
      return false;
    }
  };
  const update = {
    api: {
      url: api.url,
      headers: { authorization: `Bearer ${token}` },
      body: () => {
        const { id, ...input } = next();
        return JSON.stringify({ query: updateMutation, variables: { id: String(id), input } });
      },
      onBody: onBody("updateIncident"),
    } satisfies Target,
    floor: {
      url: `${floor.base}/update`,
      headers: {},
      body: () => {
        const { id, ...input } = next();
        return JSON.stringify({ id: String(id), ...input, actor });
      },
      onBody: onBody("updateIncident"),
    } satisfies Target,
  };
  let notes = 0;
  const noteTarget = () => ({ id: String(pool[notes % pool.length]!), message: `Bench note ${runId}-${notes++}` });
  const note = {
    api: {
      url: api.url,
      headers: { authorization: `Bearer ${token}` },
      body: () => {
        const { id, message } = noteTarget();
        return JSON.stringify({ query: noteMutation, variables: { id, message } });
      },
      onBody: onBody("addIncidentLog"),
    } satisfies Target,
    floor: {
      url: `${floor.base}/note`,
      headers: {},
      body: () => JSON.stringify({ ...noteTarget(), actor }),
      onBody: onBody("addIncidentLog"),
    } satisfies Target,
  };
  return {
    update,
    note,
    reset,
    successes: () => successes,
    changeEntries: () => reader.changeEntries(actor),
    close: () => reader.close(),
  };
}

// ---------------------------------------------------------------------------------------------------- report

function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

interface Row {
  figure: string;
  api: string;
  floor: string;
  ratio: string;
}
const rows: Row[] = [];
const figures: Record<string, unknown> = {};
const ratio = (api: number, floor: number) => (Number.isFinite(api) && Number.isFinite(floor) && floor !== 0 ? `${(api / floor).toFixed(2)}x` : "n/a");
function addLoadRows(label: string, unit: string, result: Comparison): void {
  rows.push({ figure: `${label}: ${unit}`, api: fmt(result.api.rps), floor: fmt(result.floor.rps), ratio: ratio(result.api.rps, result.floor.rps) });
  rows.push({ figure: `${label}: p50 ms`, api: fmt(result.api.p50, 2), floor: fmt(result.floor.p50, 2), ratio: ratio(result.api.p50, result.floor.p50) });
  rows.push({ figure: `${label}: p99 ms`, api: fmt(result.api.p99, 2), floor: fmt(result.floor.p99, 2), ratio: ratio(result.api.p99, result.floor.p99) });
  rows.push({ figure: `${label}: server CPU µs/request`, api: fmt(result.api.cpuUs), floor: fmt(result.floor.cpuUs), ratio: ratio(result.api.cpuUs, result.floor.cpuUs) });
  if (result.api.failed + result.floor.failed > 0) {
    rows.push({ figure: `${label}: FAILED requests`, api: String(result.api.failed), floor: String(result.floor.failed), ratio: "" });
  }
  figures[label] = result;
}
function section(title: string): void {
  rows.push({ figure: `— ${title}`, api: "", floor: "", ratio: "" });
}
function printTable(): string {
  const header: Row = { figure: "figure", api: "API", floor: "raw floor", ratio: "API/floor" };
  const all = [header, ...rows];
  const widths = {
    figure: Math.max(...all.map((r) => r.figure.length)),
    api: Math.max(...all.map((r) => r.api.length)),
    floor: Math.max(...all.map((r) => r.floor.length)),
    ratio: Math.max(...all.map((r) => r.ratio.length)),
  };
  const line = (r: Row) =>
    `| ${r.figure.padEnd(widths.figure)} | ${r.api.padStart(widths.api)} | ${r.floor.padStart(widths.floor)} | ${r.ratio.padStart(widths.ratio)} |`;
  const separator = `|${"-".repeat(widths.figure + 2)}|${"-".repeat(widths.api + 1)}:|${"-".repeat(widths.floor + 1)}:|${"-".repeat(widths.ratio + 1)}:|`;
  return [line(header), separator, ...rows.map(line)].join("\n");
}

function machine(): string {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  return `nproc ${cpus().length}, ${model.trim()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}-${process.arch}`;
}

// ---------------------------------------------------------------------------------------------------- main

function seed(dbPath: string, incidents: number, logs: number) {
  const db = new Database(dbPath, { timeout: 10_000 });
  db.pragma("foreign_keys = ON");
  const started = performance.now();
  const result = seedIncidents(db, { incidents, logsPerIncident: logs, users: opts.users });
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { ...result, ms: performance.now() - started };
}

async function seedPg(url: string, incidents: number, logs: number): Promise<SeedResult & { ms: number }> {
  const started = performance.now();
  const result = await seedPostgres(url, { incidents, logsPerIncident: logs, users: opts.users });
  return { ...result, ms: performance.now() - started };
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return String((await client.query("SHOW server_version")).rows[0].server_version).split(" ")[0]!;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  if (flag("flood")) {
    const heap = option("heap");
    return runFlood({ connections: num("flood-connections", 16), seconds: num("flood-seconds", 15), heapMb: heap ? Number(heap) : undefined, incidents: opts.incidents });
  }
  if (flag("intelligence")) {
    return intelligenceBench({
      sizes: list("intelligence-sizes", [10_000, 100_000]),
      samples: num("samples", 300),
      postgresUrl: opts.pg ? opts.postgresUrl : undefined,
    });
  }
  if (opts.only?.length === 1 && opts.only[0] === "metrics") return void (await runMetricsBench());
  const startedAt = Date.now();
  process.stderr.write(`machine: ${machine()}\n`);
  process.stderr.write(`options: ${JSON.stringify(opts)}\n`);
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run npm run build`);

  const dir = mkdtempSync(join(tmpdir(), "incident-bench-"));
  tempDirs.push(dir);
  const dbPath = join(dir, "incidents.db");
  const profileDir = opts.cpuProf ? join(dir, "profiles") : undefined;
  if (profileDir) mkdirSync(profileDir);

  // The server creates the schema (it applies the migrations at start-up); the bench user signs up first, so it is
  // the ADMIN; everything else goes straight into the file.
  // --pg: a temporary PostgreSQL database instead of the file; the server migrates it the same way.
  const databaseUrl = opts.pg ? await createTempDatabase() : `file:${dbPath}`;
  const api = await startApi(dir, databaseUrl, profileDir);
  watchMemory(api.child.pid, "api");
  busyPids.add(api.child.pid);
  const bench = await signUp(api);
  const seeded = opts.pg ? await seedPg(databaseUrl, opts.incidents, opts.logs) : seed(dbPath, opts.incidents, opts.logs);
  process.stderr.write(`seeded ${opts.incidents} incidents x ${opts.logs} entries in ${fmt(seeded.ms)} ms (${opts.pg ? databaseUrl : dbPath})\n`);
  const floor = await startFloorProcess(opts.pg ? databaseUrl : dbPath);
  const reader = () => (opts.pg ? postgresReader(databaseUrl) : sqliteReader(dbPath));
  let monitor: pg.Client | undefined;
  if (opts.pg) {
    monitor = new pg.Client({ connectionString: databaseUrl });
    await monitor.connect();
    const client = monitor;
    const name = new URL(databaseUrl).pathname.slice(1);
    postgresBackends = async () =>
      (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name])).rows.map(
        (row) => row.pid,
      );
  }
  watchMemory(floor.child.pid, "floor");
  busyPids.add(floor.child.pid);

  // Same bytes first: a floor that answers something else is no floor.
  const pageFirst = Math.min(50, opts.incidents);
  const bytes = await verifyNested(api, floor, bench.token, 50, 10);
  await verifyNested(api, floor, bench.token, 50, 10, ["OPEN"]);
  for (const id of [String(seeded.incidentIds[0]), String(seeded.incidentIds.at(-1)), "999999999", "abc"]) {
    await assertIdentical(
      `incident(id: ${id})`,
      await post(api.url, { query: byIdQuery, variables: { id } }, bench.token),
      await post(`${floor.base}/incident`, { id }),
    );
  }
  process.stderr.write(`responses identical (nested read: ${fmt(bytes)} bytes for ${pageFirst} incidents)\n`);

  // Statements per request, on an otherwise idle server.
  const statements: Record<string, { api: number; floor: number }> = {};
  for (const first of [10, 50, 100]) {
    statements[`nested read ${first}x10`] = await statementsFor(api, floor, { query: nestedQuery(first, 10) }, bench.token, "/nested", { first, logs: 10 });
  }
  statements["nested read 1x1"] = await statementsFor(api, floor, { query: nestedQuery(1, 1) }, bench.token, "/nested", { first: 1, logs: 1 });
  statements["filtered page 50x10 (OPEN)"] = await statementsFor(
    api,
    floor,
    { query: nestedQuery(50, 10, ", filter: {status: [OPEN]}") },
    bench.token,
    "/nested",
    { first: 50, logs: 10, status: ["OPEN"] },
  );
  const someId = String(seeded.incidentIds[seeded.incidentIds.length >> 1]);
  statements["incident by id"] = await statementsFor(api, floor, { query: byIdQuery, variables: { id: someId } }, bench.token, "/incident", { id: someId });
  const probe = seeded.writable[0]!;
  statements["updateIncident (priority)"] = await statementsFor(
    api,
    floor,
    { query: updateMutation, variables: { id: String(probe), input: { priority: "HIGH" } } },
    bench.token,
    "/update",
    { id: String(probe), priority: "LOW", actor: bench.id },
  );
  statements["addIncidentLog"] = await statementsFor(
    api,
    floor,
    { query: noteMutation, variables: { id: String(probe), message: "statement count probe" } },
    bench.token,
    "/note",
    { id: String(probe), message: "statement count probe", actor: bench.id },
  );
  figures.statements = statements;

  const { duration, rounds, warmup } = opts;
  process.stderr.write(`measuring: ${opts.connections} connections, ${rounds} rounds x ${duration} s per side, ${warmup} s warm-up\n`);
  section(`main database (${opts.pg ? "PostgreSQL" : "SQLite"}): ${opts.incidents} incidents x ${opts.logs} entries`);
  if (wants("nested")) {
    const t = nestedTargets(api, floor, bench.token, 50, 10);
    addLoadRows("nested read 50x10", "req/s", await compare("nested read 50x10", t.api, t.floor, duration, rounds, warmup));
  }
  if (wants("filtered")) {
    const t = nestedTargets(api, floor, bench.token, 50, 10, ["OPEN"]);
    addLoadRows("filtered page 50x10 (OPEN)", "req/s", await compare("filtered page 50x10 (OPEN)", t.api, t.floor, duration, rounds, warmup));
  }
  if (wants("byid")) {
    const ids = seeded.incidentIds;
    let i = 0;
    let j = 0;
    const api1: Target = {
      url: api.url,
      headers: { authorization: `Bearer ${bench.token}` },
      body: () => JSON.stringify({ query: byIdQuery, variables: { id: String(ids[i++ % ids.length]) } }),
    };
    const floor1: Target = { url: `${floor.base}/incident`, headers: {}, body: () => JSON.stringify({ id: String(ids[j++ % ids.length]) }) };
    addLoadRows("incident by id", "req/s", await compare("incident by id", api1, floor1, duration, rounds, warmup));
  }
  if (wants("ceiling")) await stackCeiling(api, floor, bench.token, String(seeded.incidentIds[0]), duration, rounds, warmup);
  if (wants("update") || wants("note")) {
    const pool = seeded.writable.slice(0, Math.max(opts.connections * 4, 32));
    const writes = writeTargets(api, floor, bench.token, bench.id, reader(), pool);
    // Every load() starts with a fresh pool: a request cut off at the end of a round never gives its incident back.
    const runWrites = (name: string, a: Target, b: Target) =>
      compare(name, { ...a, before: writes.reset }, { ...b, before: writes.reset }, duration, rounds, warmup);
    if (wants("update")) {
      const entriesBefore = await writes.changeEntries();
      const successesBefore = writes.successes();
      addLoadRows("updateIncident (+ timeline entry)", "mutations/s", await runWrites("updateIncident", writes.update.api, writes.update.floor));
      await settle();
      // Every acknowledged update must have written its entry: a no-op update would flatter both sides.
      const acknowledged = writes.successes() - successesBefore;
      const written = (await writes.changeEntries()) - entriesBefore;
      process.stderr.write(`  updates acknowledged ${fmt(acknowledged)}, change entries written ${fmt(written)}\n`);
      if (written < acknowledged) {
        rows.push({ figure: "updateIncident: acknowledged without a change", api: fmt(acknowledged - written), floor: "", ratio: "" });
      }
      figures.updateChanges = { acknowledged, written };
    }
    if (wants("note")) addLoadRows("addIncidentLog", "mutations/s", await runWrites("addIncidentLog", writes.note.api, writes.note.floor));
    await writes.close();
  }

  section("SQL statements per request (db_queries_total difference; floor: its own count)");
  for (const [name, count] of Object.entries(statements)) {
    rows.push({ figure: `statements: ${name}`, api: String(count.api), floor: String(count.floor), ratio: ratio(count.api, count.floor) });
  }

  const apiPeak = peakMb(api.child.pid);
  const floorPeak = peakMb(floor.child.pid);
  figures.peakRssMb = { api: apiPeak, floor: floorPeak };
  busyPids.clear();
  postgresBackends = undefined;
  await monitor?.end();
  await floor.child.stop();
  // The profile is written only when the server exits by itself; on PostgreSQL its shutdown has been seen to take ~30 s.
  await api.child.stop(profileDir ? 60_000 : 10_000);
  rows.push({ figure: `peak RSS MB (main database)`, api: fmt(apiPeak, 1), floor: fmt(floorPeak, 1), ratio: ratio(apiPeak, floorPeak) });

  // ------------------------------------------------------------------------------------------------ growth
  // --pg: no growth matrix (yet).
  if (opts.growth && !opts.pg && opts.growthSizes.length > 0) {
    const gdir = mkdtempSync(join(tmpdir(), "incident-bench-growth-"));
    tempDirs.push(gdir);
    const gdb = join(gdir, "incidents.db");
    const gapi = await startApi(gdir, `file:${gdb}`);
    watchMemory(gapi.child.pid, "api (growth)");
    busyPids.add(gapi.child.pid);
    const gbench = await signUp(gapi);
    let gfloor: FloorProcess | undefined;
    let total = 0;
    const growth: Record<string, unknown> = {};
    for (const size of [...opts.growthSizes].sort((a, b) => a - b)) {
      const added = seed(gdb, size - total, opts.logs);
      total = size;
      process.stderr.write(`growth: ${fmt(size)} incidents (${fmt(added.ms)} ms to add ${fmt(added.incidentIds.length)} with ${opts.logs} entries each)\n`);
      gfloor ??= await startFloorProcess(gdb);
      watchMemory(gfloor.child.pid, "floor (growth)");
      busyPids.add(gfloor.child.pid);
      section(`growth: ${fmt(size)} incidents x ${opts.logs} entries (${opts.growthRounds} x ${opts.growthDuration} s)`);
      const shapes: Array<{ label: string; first: number; status?: string[] }> = [
        ...opts.pageSizes.map((first) => ({ label: `page ${first}x10`, first })),
        { label: "filtered page 50x10 (OPEN)", first: 50, status: ["OPEN"] },
      ];
      for (const shape of shapes) {
        await verifyNested(gapi, gfloor, gbench.token, shape.first, 10, shape.status);
        const t = nestedTargets(gapi, gfloor, gbench.token, shape.first, 10, shape.status);
        const label = `${fmt(size)}: ${shape.label}`;
        const result = await compare(label, t.api, t.floor, opts.growthDuration, opts.growthRounds, Math.min(warmup, 1));
        rows.push({ figure: `${label}: p50 ms`, api: fmt(result.api.p50, 2), floor: fmt(result.floor.p50, 2), ratio: ratio(result.api.p50, result.floor.p50) });
        rows.push({ figure: `${label}: p99 ms`, api: fmt(result.api.p99, 2), floor: fmt(result.floor.p99, 2), ratio: ratio(result.api.p99, result.floor.p99) });
  rows.push({ figure: `${label}: server CPU µs/request`, api: fmt(result.api.cpuUs), floor: fmt(result.floor.cpuUs), ratio: ratio(result.api.cpuUs, result.floor.cpuUs) });
        rows.push({ figure: `${label}: req/s`, api: fmt(result.api.rps), floor: fmt(result.floor.rps), ratio: ratio(result.api.rps, result.floor.rps) });
        if (result.api.failed + result.floor.failed > 0) {
          rows.push({ figure: `${label}: FAILED requests`, api: String(result.api.failed), floor: String(result.floor.failed), ratio: "" });
        }
        growth[label] = result;
      }
    }
    const gApiPeak = peakMb(gapi.child.pid);
    const gFloorPeak = gfloor ? peakMb(gfloor.child.pid) : Number.NaN;
    rows.push({ figure: `peak RSS MB (growth, ${fmt(total)} incidents)`, api: fmt(gApiPeak, 1), floor: fmt(gFloorPeak, 1), ratio: ratio(gApiPeak, gFloorPeak) });
    figures.growth = growth;
    figures.growthPeakRssMb = { api: gApiPeak, floor: gFloorPeak };
    await gfloor?.child.stop();
    await gapi.child.stop();
  }

  // ------------------------------------------------------------------------------------------------ ingestion
  if (wants("ingest")) {
    await ingestionBench({
      startApi: (d, url) => startApi(d, url),
      startFloor: startFloorScript,
      compare,
      section,
      row: (figure, api, floor, r) => rows.push({ figure, api, floor, ratio: r }),
      fmt,
      ratio,
      busy: (pid) => busyPids.add(pid),
      connections: opts.connections,
      duration: opts.duration,
      rounds: opts.rounds,
      warmup: opts.warmup,
      figures,
      postgresDatabase: opts.pg ? createTempDatabase : undefined,
    });
  }

  if (wants("metrics")) figures.metrics = await runMetricsBench();
  // ------------------------------------------------------------------------------------------------ webhooks
  if (wants("webhooks")) {
    await webhookBench({
      startApi: (d, url, env) => startApi(d, url, undefined, env),
      startFloor: startFloorScript,
      compare,
      section,
      row: (figure, a, b, r) => rows.push({ figure, api: a, floor: b, ratio: r }),
      fmt,
      busy: (pid) => busyPids.add(pid),
      duration: opts.duration,
      rounds: opts.rounds,
      warmup: opts.warmup,
      figures,
      postgresDatabase: opts.pg ? createTempDatabase : undefined,
    });
  }

  const table = printTable();
  process.stdout.write(`\nmachine: ${machine()}\n`);
  process.stdout.write(`backend: ${opts.pg ? `PostgreSQL (${await postgresVersion(databaseUrl)}; peak RSS counts the node processes only, not the PostgreSQL backends)` : "SQLite"}\n`);
  process.stdout.write(
    `load: autocannon in-process, ${opts.connections} connections, no pipelining; median of ${rounds} alternating rounds x ${duration} s ` +
      `(growth: ${opts.growthRounds} x ${opts.growthDuration} s); latencies from autocannon's per-response timings\n\n`,
  );
  process.stdout.write(`${table}\n`);
  if (backgroundShares.length > 0) {
    const mean = backgroundShares.reduce((a, b) => a + b, 0) / backgroundShares.length;
    process.stdout.write(
      `\nother processes on the machine during the loads: mean ${fmt(100 * mean)}%, max ${fmt(100 * Math.max(...backgroundShares))}% of all cores` +
        (mean > 0.05 ? " (figures are noisier than on a quiet machine)" : "") +
        "\n",
    );
    figures.backgroundCpuShare = { mean, max: Math.max(...backgroundShares) };
  }
  process.stdout.write(`\nratio: API/floor (req/s below 1 = slower; latency above 1 = slower). total ${fmt((Date.now() - startedAt) / 1000, 1)} s\n`);

  if (profileDir) {
    const files = readdirSync(profileDir).filter((file) => file.endsWith(".cpuprofile"));
    for (const file of files) {
      process.stdout.write(`\nCPU profile of the API server (${join(profileDir, file)}):\n`);
      process.stdout.write(summariseCpuProfile(join(profileDir, file)));
    }
    if (files.length === 0) process.stdout.write("\nno CPU profile was written\n");
    if (!opts.keep) process.stdout.write("(pass --keep to keep the profile files)\n");
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ machine: machine(), options: opts, figures }, null, 2));
}

/**
 * incidentMetrics for a year grouped by service and week (Europe/Berlin), at --metrics-sizes incidents (10,000 and
 * 100,000), --metrics-runs calls each (50): p50 and p99, and the growth from the smallest size to the largest.
 */
async function runMetricsBench() {
  const sizes = list("metrics-sizes", quick ? [10_000] : [10_000, 100_000]);
  section(`incidentMetrics: a year by service and week, ${sizes.map((size) => fmt(size)).join(" and ")} incidents`);
  const results = await metricsBench({ sizes, runs: num("metrics-runs", quick ? 10 : 50), postgresUrl: opts.pg ? opts.postgresUrl : undefined });
  process.stdout.write(`${"backend".padEnd(10)}${"incidents".padStart(10)}${"rows".padStart(7)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}\n`);
  for (const r of results) {
    process.stdout.write(`${r.backend.padEnd(10)}${fmt(r.incidents).padStart(10)}${String(r.rows).padStart(7)}${fmt(r.p50, 1).padStart(10)}${fmt(r.p99, 1).padStart(10)}\n`);
  }
  for (const backend of ["sqlite", "postgres"] as const) {
    const mine = results.filter((r) => r.backend === backend);
    if (mine.length > 1) process.stdout.write(`${backend}: p50 growth ${fmt(mine.at(-1)!.p50 / mine[0]!.p50, 2)}x from ${fmt(mine[0]!.incidents)} to ${fmt(mine.at(-1)!.incidents)}\n`);
  }
  process.stdout.write(`SQLite plan of the metrics statement at ${fmt(sizes.at(-1)!)}: ${sqlitePlan(sizes.at(-1)!)}\n`);
  return results;
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  },
);
