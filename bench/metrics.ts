// The metrics section of `npm run bench`: incidentMetrics over a year, grouped by service and week, at 10,000 and
// 100,000 incidents, measured in-process at the service (the same code a request runs below GraphQL), on SQLite and,
// with --pg, on PostgreSQL. Rows are bulk-inserted: a year of incidents spread evenly over twelve services, four
// fifths acknowledged, two thirds resolved, a quarter of those by the system.
import type Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
import { postgresBackend, sqliteBackend, type SqlBackend } from "../src/db/sql-backend.js";
import { openSqlite } from "../src/db/sqlite.js";
import { createPgIncidentRepository } from "../src/modules/incidents/incident.pg-repository.js";
import { createSqliteIncidentRepository, type IncidentRepository } from "../src/modules/incidents/incident.repository.js";
import { IncidentService } from "../src/modules/incidents/incident.service.js";
import { createInsightRepository } from "../src/modules/insights/insight.repository.js";
import { metricsStatement } from "../src/modules/insights/insight-statements.js";
import { metricsBuckets } from "../src/modules/insights/metrics-buckets.js";
import { sqliteDialect } from "../src/db/sql-work.js";
import { InsightService } from "../src/modules/insights/insight.service.js";
import type { UserRow } from "../src/modules/users/user.table.js";
import { createCursorCodec } from "../src/shared/cursor.js";
import { seededRandom } from "../src/shared/seeded-random.js";

export interface MetricsBenchOptions {
  sizes: number[];
  /** Measured calls per size (after five warm-up calls). */
  runs: number;
  /** A PostgreSQL server URL to create temporary databases on; SQLite only when absent. */
  postgresUrl?: string;
}

export interface MetricsFigure {
  backend: "sqlite" | "postgres";
  incidents: number;
  rows: number;
  p50: number;
  p99: number;
}

const YEAR_START = Date.UTC(2025, 0, 1);
const YEAR_MS = 365 * 86_400_000;
const SERVICES = 12;
const priorities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const reader = { id: 1, role: "VIEWER", active: true } as UserRow;
const input = {
  from: new Date(YEAR_START),
  to: new Date(YEAR_START + YEAR_MS),
  groupBy: ["SERVICE" as const],
  bucket: "WEEK" as const,
  timeZone: "Europe/Berlin",
};

interface BenchRow {
  title: string;
  status: string;
  priority: string;
  serviceId: number;
  assigneeId: number;
  createdAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  bySystem: boolean;
}

function* rows(count: number): Generator<BenchRow> {
  const next = seededRandom(count);
  for (let i = 0; i < count; i++) {
    const createdAt = YEAR_START + Math.floor((i / count) * YEAR_MS);
    const acknowledgedAt = next() < 0.8 ? createdAt + Math.floor(next() * 3_600_000) : null;
    const resolved = acknowledgedAt !== null && next() < 0.8;
    yield {
      title: `Disk ${Math.floor(next() * 100)}% full on db-${i % 40}`,
      status: resolved ? (next() < 0.5 ? "CLOSED" : "RESOLVED") : acknowledgedAt !== null ? "INVESTIGATING" : "OPEN",
      priority: priorities[i % 4]!,
      serviceId: 1 + (i % SERVICES),
      assigneeId: 1 + (i % 5),
      createdAt,
      acknowledgedAt,
      resolvedAt: resolved ? acknowledgedAt! + Math.floor(next() * 86_400_000) : null,
      bySystem: resolved && next() < 0.25,
    };
  }
}

function sqliteSeed(client: Database.Database, count: number): void {
  const now = YEAR_START;
  client.transaction(() => {
    const user = client.prepare(
      `INSERT INTO users (email, name, password_hash, role, active, token_version, created_at, updated_at) VALUES (?, ?, 'x', 'RESPONDER', 1, 0, ?, ?)`,
    );
    for (let i = 1; i <= 5; i++) user.run(`metrics-${i}@example.com`, `Responder ${i}`, now, now);
    const service = client.prepare(`INSERT INTO services (name, name_key, created_at, updated_at) VALUES (?, ?, ?, ?)`);
    for (let i = 1; i <= SERVICES; i++) service.run(`Service ${i}`, `service ${i}`, now, now);
    const insert = client.prepare(
      `INSERT INTO incidents (title, status, priority, reporter_id, assignee_id, service_id, created_at, updated_at, acknowledged_at, resolved_at, resolved_by_system)
       VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const row of rows(count)) {
      insert.run(row.title, row.status, row.priority, row.assigneeId, row.serviceId, row.createdAt, row.createdAt, row.acknowledgedAt, row.resolvedAt, row.bySystem ? 1 : 0);
    }
  })();
  client.exec("ANALYZE");
}

async function postgresSeed(pool: pg.Pool, count: number): Promise<void> {
  const now = new Date(YEAR_START);
  for (let i = 1; i <= 5; i++) {
    await pool.query(`INSERT INTO users (email, name, password_hash, role, active, token_version, created_at, updated_at) VALUES ($1, $2, 'x', 'RESPONDER', true, 0, $3, $3)`, [
      `metrics-${i}@example.com`,
      `Responder ${i}`,
      now,
    ]);
  }
  for (let i = 1; i <= SERVICES; i++) {
    await pool.query(`INSERT INTO services (name, name_key, created_at, updated_at) VALUES ($1, $2, $3, $3)`, [`Service ${i}`, `service ${i}`, now]);
  }
  const batch: BenchRow[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const column = <T>(pick: (row: BenchRow) => T) => batch.map(pick);
    const time = (value: number | null) => (value === null ? null : new Date(value).toISOString());
    await pool.query(
      `INSERT INTO incidents (title, status, priority, reporter_id, assignee_id, service_id, created_at, updated_at, acknowledged_at, resolved_at, resolved_by_system)
       SELECT t, s, p, 1, a, v, c, c, k, r, b FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::boolean[])
         AS x(t, s, p, a, v, c, k, r, b)`,
      [
        column((r) => r.title),
        column((r) => r.status),
        column((r) => r.priority),
        column((r) => r.assigneeId),
        column((r) => r.serviceId),
        column((r) => time(r.createdAt)),
        column((r) => time(r.acknowledgedAt)),
        column((r) => time(r.resolvedAt)),
        column((r) => r.bySystem),
      ],
    );
    batch.length = 0;
  };
  for (const row of rows(count)) {
    batch.push(row);
    if (batch.length === 5_000) await flush();
  }
  await flush();
  await pool.query("ANALYZE");
}

async function measure(service: InsightService, runs: number): Promise<{ rows: number; p50: number; p99: number }> {
  let count = 0;
  for (let i = 0; i < 5; i++) count = (await service.metrics(reader, input)).length;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await service.metrics(reader, input);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const rank = (p: number) => times[Math.max(1, Math.ceil((p / 100) * times.length)) - 1]!;
  return { rows: count, p50: rank(50), p99: rank(99) };
}

const cursors = createCursorCodec("metrics-bench-secret-0123456789abcdef");

/** The service as the server wires it, on one backend. */
function insightService(backend: SqlBackend, incidents: IncidentRepository): InsightService {
  return new InsightService({ insights: createInsightRepository(backend), incidents, incidentService: new IncidentService({ incidents, cursors }) });
}

async function sqliteCase(count: number, runs: number): Promise<MetricsFigure> {
  const dir = mkdtempSync(join(tmpdir(), "incident-metrics-bench-"));
  const handle = openSqlite({ path: join(dir, "incidents.db"), busyTimeoutMs: 5_000 });
  try {
    applyMigrations(handle.client, migrationsFolder("sqlite"));
    sqliteSeed(handle.client, count);
    const figure = await measure(insightService(sqliteBackend(handle), createSqliteIncidentRepository(handle)), runs);
    return { backend: "sqlite", incidents: count, ...figure };
  } finally {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCase(serverUrl: string, count: number, runs: number): Promise<MetricsFigure> {
  const name = `metrics_bench_${process.pid}_${count}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = openPostgres({ url: url.toString(), poolSize: 4 });
  try {
    await applyPostgresMigrations(handle, migrationsFolder("postgres"));
    await postgresSeed(handle.pool, count);
    const figure = await measure(insightService(postgresBackend(handle), createPgIncidentRepository(handle)), runs);
    return { backend: "postgres", incidents: count, ...figure };
  } finally {
    await handle.close();
    await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
    await admin.end();
  }
}

/** The plan SQLite chooses for the benchmarked statement at `count` incidents: each bucket's range read through an index. */
export function sqlitePlan(count: number): string {
  const dir = mkdtempSync(join(tmpdir(), "incident-metrics-plan-"));
  const handle = openSqlite({ path: join(dir, "incidents.db"), busyTimeoutMs: 5_000 });
  try {
    applyMigrations(handle.client, migrationsFolder("sqlite"));
    sqliteSeed(handle.client, count);
    const { statement, params } = metricsStatement(sqliteDialect, input.groupBy, {}, metricsBuckets(input.from, input.to, input.bucket, input.timeZone), 5_001);
    return handle.client
      .prepare(`EXPLAIN QUERY PLAN ${statement.text}`)
      .all(...params)
      .map((row) => (row as { detail: string }).detail)
      .join("; ");
  } finally {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function metricsBench(options: MetricsBenchOptions): Promise<MetricsFigure[]> {
  const figures: MetricsFigure[] = [];
  for (const size of options.sizes) {
    figures.push(await sqliteCase(size, options.runs));
    if (options.postgresUrl) figures.push(await postgresCase(options.postgresUrl, size, options.runs));
  }
  return figures;
}
