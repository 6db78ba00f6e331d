// The nested read (50 incidents x 10 entries, their users) in process, one layer at a time, against the raw floor's
// own function on its own connection to the same file: no HTTP and no Apollo, so the figures hold still on a busy
// machine. The steps alternate; each runs `--calls` times a sample, and the minimum and median of `--samples` samples
// are printed in µs of CPU time (process.cpuUsage: the main thread and V8's helper threads) per call.
//
//   node --no-allocation-site-pretenuring dist/bench/nested-layers.js [--samples 9] [--calls 300] [--only floor,execute]
//   node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256 dist/bench/nested-layers.js --alloc
//
// --no-allocation-site-pretenuring: V8 sometimes decides, early in a run, to allocate the rows' objects straight in the
// old generation, and the run then takes 30% longer; which runs do is chance, so A/B comparisons turn it off.
// --alloc prints the heap each step allocates per call (no scavenge happens within its calls with that young generation).
import "reflect-metadata";
import Database from "better-sqlite3";
import { parse } from "graphql";
import { compileQuery, isCompiledQuery } from "graphql-jit";
import { mkdtempSync, rmSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFloor } from "./raw-floor.js";
import { seedIncidents } from "./seed.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/open-database.js";
import { createMetrics } from "../src/shared/metrics.js";
import { createLogger } from "../src/shared/logger.js";
import { createCursorCodec } from "../src/shared/cursor.js";
import { createLoaders } from "../src/shared/loaders.js";
import { IncidentService } from "../src/modules/incidents/incident.service.js";
import { buildAppSchema, type SchemaServices } from "../src/schema/build-schema.js";
import { viewerResolver } from "../src/auth/viewer.js";
import { withinResponseSize } from "../src/graphql/response-size.js";
import type { GraphQLContext } from "../src/shared/context.js";
import type { TokenClaims } from "../src/auth/tokens.js";

const arg = (name: string, fallback: string) => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1]! : fallback;
};
const samples = Number(arg("samples", "9"));
const calls = Number(arg("calls", "300"));
const only = arg("only", "").split(",").filter(Boolean);

const dir = mkdtempSync(join(tmpdir(), "nested-layers-"));
const dbPath = join(dir, "incidents.db");
const secret = "x".repeat(40);
const config = loadConfig({ DATABASE_URL: `file:${dbPath}`, JWT_SECRET: secret, LOG_LEVEL: "silent" });
const logger = createLogger("silent");
const database = await openDatabase(config, createMetrics(), logger);
const raw = new Database(dbPath, { timeout: 5000 });
raw.pragma("foreign_keys = ON");
const seeded = seedIncidents(raw, { incidents: 200, logsPerIncident: 10, users: 6 });
raw.close();
const viewerId = seeded.users.responders[0]!;

const floor = openFloor(dbPath);
// Only the incident service is called by this document; the schema's other resolvers are never reached.
const schema = await buildAppSchema({ incidents: new IncidentService({ incidents: database.incidents, cursors: createCursorCodec(secret) }) } as SchemaServices);
const document = "query { incidents(first: 50) { nodes { id reporter { name } assignee { name } logs(first: 10) { nodes { message author { name } } } } } }";
const compiled = compileQuery(schema, parse(document), undefined, { disablingCapturingStackErrors: true } as never);
if (!isCompiledQuery(compiled)) throw new Error("the document did not compile");

/** What the server builds for each request, minus HTTP: loaders, the viewer read from the database, the size budget. */
const context = (): GraphQLContext => {
  const loaders = createLoaders(database);
  const claims: TokenClaims = { userId: viewerId, tokenVersion: 0 };
  return {
    requestId: "bench",
    log: logger,
    loaders,
    viewer: viewerResolver(true, async () => claims, loaders),
    responseBytes: { used: 0, max: config.limits.responseBytes },
  };
};

const pageQuery = { criteria: {}, sort: { field: "createdAt" as const, descending: true }, first: 50 };
const steps: Record<string, () => unknown> = {
  floor: () => floor.nested({ first: 50, logs: 10 }),
  // The repository's statements for the page, as the service issues them, without loaders or GraphQL.
  repository: async () => {
    const { incidents, users } = database;
    await users.findByIds([viewerId]);
    const rows = await incidents.page({ ...pageQuery, columns: ["id", "reporterId", "assigneeId"] });
    const logs = await incidents.logPages(rows.slice(0, 50).map((row) => row.id), 10, undefined, ["message", "authorId"]);
    const ids = new Set<number>();
    for (const row of rows) {
      if (row.reporterId !== null) ids.add(row.reporterId);
      if (row.assigneeId !== null) ids.add(row.assigneeId);
    }
    for (const page of logs.values()) for (const entry of page) if (entry.authorId !== null) ids.add(entry.authorId);
    return users.findByIds([...ids]);
  },
  execute: async () => {
    const result = await compiled.query(undefined, context(), {});
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result;
  },
  // What the executor hands Apollo, then Apollo's JSON (prettyJSONStringify).
  "execute+size+json": async () => {
    const ctx = context();
    const result = withinResponseSize(await compiled.query(undefined, ctx, {}), config.limits.responseBytes, ctx);
    return JSON.stringify(result) + "\n";
  },
};
const names = Object.keys(steps).filter((name) => only.length === 0 || only.includes(name));

if (floor.nested({ first: 50, logs: 10 }) !== (await steps["execute+size+json"]!())) throw new Error("the API's answer differs from the floor's");

if (process.argv.includes("--alloc")) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("--alloc needs --expose-gc");
  for (const name of names) {
    const step = steps[name]!;
    for (let i = 0; i < 50; i++) await step();
    gc();
    const before = getHeapStatistics().used_heap_size;
    for (let i = 0; i < 100; i++) await step();
    console.log(`${name.padEnd(20)} ${((getHeapStatistics().used_heap_size - before) / 100 / 1024).toFixed(1)} KB allocated per call`);
  }
} else {
  const times = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let sample = -1; sample < samples; sample++) {
    for (const name of names) {
      const step = steps[name]!;
      const before = process.cpuUsage();
      for (let i = 0; i < calls; i++) await step();
      const used = process.cpuUsage(before);
      if (sample >= 0) times.get(name)!.push((used.user + used.system) / calls);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const name of names) {
    const values = times.get(name)!;
    console.log(`${name.padEnd(20)} min ${Math.min(...values).toFixed(0).padStart(6)} µs   median ${median(values).toFixed(0).padStart(6)} µs`);
  }
}
floor.close();
await database.close();
rmSync(dir, { recursive: true, force: true });
