import { hash } from "@node-rs/argon2";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { openSqlite } from "../src/db/sqlite.js";
import { copySqliteToPostgres, CopyRefusedError } from "../src/db/sqlite-to-postgres.js";
import { onPostgres, POSTGRES_ADMIN_URL, POSTGRES_DATABASE_PREFIX, postgresAdminQuery } from "./support/database.js";

// `npm run db:copy`: a SQLite database of the API moved into PostgreSQL, every row and column kept and verified.
// Needs a PostgreSQL server (127.0.0.1:5432, or TEST_POSTGRES_URL) whichever backend the suite runs on; with
// plain `npm test` and no server answering, the block is skipped with a warning.

const COPY_JS = fileURLToPath(new URL("../dist/scripts/db-copy.js", import.meta.url));
const PASSWORD = "correct horse battery";
const JWT_SECRET = "db-copy-tests-jwt-secret-0123456789abcdef";

const postgresAnswers = await (async () => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
})();
if (!postgresAnswers && !onPostgres) console.warn(`db-copy.test.ts skipped: no PostgreSQL answers at ${POSTGRES_ADMIN_URL}`);

/** Every table db:copy copies, with the columns each is ordered by. */
const TABLE_ORDER = {
  services: "id",
  users: "id",
  incidents: "id",
  incident_labels: "incident_id, key",
  incident_logs: "id",
  integrations: "id",
  alerts: "id",
  webhook_endpoints: "id",
  webhook_snapshots: "id",
  webhook_deliveries: "id",
} as const;
const TABLES = Object.keys(TABLE_ORDER) as Array<keyof typeof TABLE_ORDER>;
const STATUSES = ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"] as const;
const PRIORITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;
const ID_COLUMNS = new Set(["id", "reporter_id", "assignee_id", "incident_id", "author_id", "service_id", "integration_id", "merged_into", "endpoint_id", "snapshot_id"]);
const BOOLEAN_COLUMNS = new Set(["users.active", "services.auto_resolve", "incidents.resolved_by_system", "webhook_endpoints.enabled"]);

let dir: string;
let databaseCounter = 0;
const databases: string[] = [];

/** A fresh, empty PostgreSQL database of this test file, dropped in afterAll. */
async function createPgDatabase(): Promise<string> {
  const name = `${POSTGRES_DATABASE_PREFIX}copy_${process.pid}_${++databaseCounter}`.toLowerCase();
  await postgresAdminQuery(`CREATE DATABASE "${name}"`);
  databases.push(name);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function pgQuery<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Rows of both backends in one shape: ids and times (epoch ms) as numbers, booleans as booleans. */
function normalize(row: Record<string, unknown>, table: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (value instanceof Date) out[column] = value.getTime();
    else if (value !== null && ID_COLUMNS.has(column)) out[column] = Number(value);
    else if (BOOLEAN_COLUMNS.has(`${table}.${column}`)) out[column] = value === true || value === 1;
    else out[column] = value;
  }
  return out;
}

async function pgRows(url: string, table: keyof typeof TABLE_ORDER) {
  const order = TABLE_ORDER[table].replace("key", `key COLLATE "C"`);
  return (await pgQuery(url, `SELECT * FROM "${table}" ORDER BY ${order}`)).map((row) => normalize(row, table));
}

function sqliteRows(path: string, table: keyof typeof TABLE_ORDER) {
  const handle = openSqlite({ path, busyTimeoutMs: 5_000 });
  try {
    return (handle.client.prepare(`SELECT * FROM "${table}" ORDER BY ${TABLE_ORDER[table]}`).all() as Record<string, unknown>[]).map((row) =>
      normalize(row, table),
    );
  } finally {
    handle.close();
  }
}

async function pgCounts(url: string) {
  const counts: Record<string, number> = {};
  for (const table of TABLES) counts[table] = Number((await pgQuery<{ n: string }>(url, `SELECT count(*) AS n FROM "${table}"`))[0]!.n);
  return counts;
}

const base = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

/**
 * A migrated SQLite database like a server's: three users (one inactive, a unicode name and email), an incident
 * for every status and priority with nullable columns both null and set, timelines with system entries (no
 * author), 2,500 notes, deleted rows (so that SQLite's id sequences run past the largest id left), and two
 * services with integrations, alerts (one of a deleted integration) and incident labels that sort differently by
 * byte and by locale.
 * `poison` adds, last of all, a note PostgreSQL cannot store (a NUL character).
 */
async function seedSqlite(path: string, options: { poison?: boolean } = {}) {
  const handle = openSqlite({ path, busyTimeoutMs: 5_000 });
  const db = handle.client;
  try {
    applyMigrations(db, migrationsFolder("sqlite"));
    const passwordHash = await hash(PASSWORD);
    const user = db.prepare(
      "INSERT INTO users (email, name, password_hash, role, active, token_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const incident = db.prepare(
      `INSERT INTO incidents (title, description, status, priority, reporter_id, assignee_id, version, created_at, updated_at,
         acknowledged_at, resolved_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const log = db.prepare(
      "INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    db.transaction(() => {
      user.run("ada@example.com", "Ada Lovelace", passwordHash, "ADMIN", 1, 0, base, base + 1);
      user.run("zoë@例え.jp", "Zoë 🚒 Ünïcode — 東京 \"quoted\" 'single' \\", passwordHash, "RESPONDER", 0, 3, base - 86_400_000 * 20_000, base);
      user.run("viewer@example.com", "Vee", passwordHash, "VIEWER", 1, 1, base + 2, base + 999);
      let n = 0;
      for (const status of STATUSES) {
        for (const priority of PRIORITIES) {
          n++;
          const at = base + n * 1_001;
          const id = Number(
            incident.run(
              `Incident ${n}: ${status}/${priority} — ünïcødé ✓ 🔥`,
              n % 2 === 0 ? "" : `Line 1\nLine 2\t"quoted" 'single' \\ backslash 🚀 ${"x".repeat(n * 10)}`,
              status,
              priority,
              n % 3 === 0 ? 2 : 1,
              n % 2 === 0 ? null : 2,
              n,
              at,
              at + 7,
              status === "OPEN" ? null : at + 1,
              status === "RESOLVED" || status === "CLOSED" ? at + 2 : null,
              status === "CLOSED" ? Date.UTC(2999, 11, 31, 23, 59, 59, 999) : null,
            ).lastInsertRowid,
          );
          log.run(id, "STATUS_CHANGE", "Opened", 1, null, "OPEN", at);
          log.run(id, "PRIORITY_CHANGE", "Escalated automatically", null, null, null, at + 1);
          log.run(id, "ASSIGNMENT", "Assigned by the system", null, null, null, at + 2);
          if (status !== "OPEN") log.run(id, "STATUS_CHANGE", "Status changed", 2, "OPEN", status, at + 3);
          log.run(id, "EDIT", "Titel geändert — 标题已更改", 1, null, null, at + 4);
        }
      }
      // Two more incidents; the last is deleted with its timeline: SQLite never hands out its id again.
      const keep = Number(incident.run("Kept", "", "OPEN", "LOW", 1, null, 1, base, base, null, null, null).lastInsertRowid);
      const gone = Number(incident.run("Deleted", "", "OPEN", "LOW", 1, null, 1, base, base, null, null, null).lastInsertRowid);
      log.run(gone, "NOTE", "goes with its incident", 1, null, null, base);
      for (let i = 0; i < 2_500; i++) {
        log.run(1 + (i % 17), "NOTE", `note ${i} ${i % 7 === 0 ? "日本語 🚒 ñ" : "plain"}`, i % 5 === 0 ? null : 1 + (i % 3), null, null, base + i);
      }
      log.run(keep, "NOTE", "last note, deleted below", 1, null, null, base);
      seedAlerts(db);
      // Merged into a later incident: a self-reference PostgreSQL can take only once its target is there.
      db.prepare("UPDATE incidents SET merged_into = ?, status = 'CLOSED' WHERE id IN (3, 4)").run(keep);
      db.prepare("UPDATE incidents SET resolved_by_system = 1 WHERE id = 11").run();
      seedWebhooks(db);
      db.prepare("DELETE FROM incidents WHERE id = ?").run(gone);
      db.prepare("DELETE FROM incident_logs WHERE id = (SELECT max(id) FROM incident_logs)").run();
      if (options.poison) log.run(keep, "NOTE", "a NUL \u0000 character", 1, null, null, base);
    })();
  } finally {
    handle.close();
  }
}

/** Services, integrations (one deleted), alerts and labels on the first incidents; run inside the seed's transaction. */
function seedAlerts(db: ReturnType<typeof openSqlite>["client"]) {
  const service = db.prepare(
    `INSERT INTO services (name, name_key, description, auto_resolve, grouping_labels, grouping_window_seconds, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const checkout = Number(service.run("Checkout", "checkout", "Pays — 支払い", 1, `["cluster","alertname"]`, 300, base, base + 5).lastInsertRowid);
  const search = Number(service.run("Search ünï", "search ünï", "", 0, "[]", 0, base + 1, base + 1).lastInsertRowid);
  const integration = db.prepare(
    "INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at, last_event_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const am = Number(integration.run(checkout, "Prometheus", "ALERTMANAGER", "a".repeat(64), "ab12", base, base + 9).lastInsertRowid);
  const v2 = Number(integration.run(search, "Pager", "EVENTS_V2", "b".repeat(64), "cd34", base, null).lastInsertRowid);
  const gone = Number(integration.run(search, "Old", "EVENTS_V2", "c".repeat(64), "ef56", base, null).lastInsertRowid);
  db.prepare("UPDATE incidents SET service_id = ? WHERE id <= 6").run(checkout);
  db.prepare("UPDATE incidents SET service_id = ? WHERE id BETWEEN 7 AND 9").run(search);
  const alert = db.prepare(
    `INSERT INTO alerts (incident_id, integration_id, service_id, fingerprint, status, severity, summary, source, labels, annotations,
       generator_url, group_key, starts_at, last_seen_at, resolved_at, event_count, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let i = 1; i <= 9; i++) {
    const resolved = i % 3 === 0;
    alert.run(
      i,
      i <= 6 ? am : i === 9 ? gone : v2,
      i <= 6 ? checkout : search,
      `fp-${i}-ü`,
      resolved ? "RESOLVED" : "FIRING",
      ["CRITICAL", "ERROR", "WARNING", "INFO"][i % 4],
      `Disk ${90 + i}% full on db-${i}`,
      i % 2 ? "prometheus" : null,
      JSON.stringify({ alertname: "DiskFull", cluster: `eu-${i}`, "ünï": "✓" }),
      JSON.stringify({ runbook: `https://runbooks.example/${i}` }),
      i % 2 ? null : `http://prometheus:9090/graph?g0.expr=up%7B${i}%7D`,
      i <= 6 ? `{}:{alertname="DiskFull"}` : null,
      base + i,
      base + i * 10,
      resolved ? base + i * 20 : null,
      i,
      base + i * 10,
    );
  }
  db.prepare("DELETE FROM integrations WHERE id = ?").run(gone);
  const label = db.prepare("INSERT INTO incident_labels (incident_id, key, value) VALUES (?, ?, ?)");
  // "Z" < "a" < "é" byte by byte; a locale would put "a" first and "é" next to "e".
  for (const [key, value] of [
    ["team", "payments"],
    ["Zone", "eu-1"],
    ["a", "1"],
    ["é", "accent"],
    ["env", "prod"],
  ])
    for (const incident of [1, 2, 7]) label.run(incident, key, value);
}

/** Two endpoints (one disabled, with its secret to sign with) and deliveries in every status. */
function seedWebhooks(db: ReturnType<typeof openSqlite>["client"]) {
  const endpoint = db.prepare(
    `INSERT INTO webhook_endpoints (url, description, events, service_ids, enabled, secret, secret_hint, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const chat = Number(
    endpoint.run("https://chat.example/hooks/incidents", "Chat — 通知", `["INCIDENT_CREATED","INCIDENT_UPDATED"]`, "[1]", 1, `whsec_${"A".repeat(43)}=`, "AAA=", base, base + 3)
      .lastInsertRowid,
  );
  const warehouse = Number(endpoint.run("https://dw.example/in", "", "[]", "[]", 0, `whsec_${"B".repeat(43)}=`, "BBB=", base, base).lastInsertRowid);
  const delivery = db.prepare(
    `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, last_status_code, last_error,
       next_attempt_at, claimed_until, claimed_by, delivered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const body = (id: number) => JSON.stringify({ type: "incident.updated", timestamp: new Date(base).toISOString(), data: { incident: { id: String(id), title: "ünï ✓" } } });
  delivery.run(chat, 1, "INCIDENT_UPDATED", body(1), "DELIVERED", 1, 200, null, null, null, null, base + 10, base);
  delivery.run(chat, 2, "INCIDENT_UPDATED", body(2), "PENDING", 2, 503, "HTTP 503 — retry", base + 60_000, base + 5_000, "instance-a", null, base + 1);
  delivery.run(warehouse, 99_999, "INCIDENT_DELETED", body(99_999), "FAILED", 8, null, "connect ECONNREFUSED", null, null, null, null, base + 2);
  // As the outbox writes them now: the incident in a snapshot, the body with 0 in its place.
  const snapshot = Number(
    db.prepare("INSERT INTO webhook_snapshots (hash, body) VALUES (?, ?)").run("h-ü", JSON.stringify({ id: "3", title: "ünï ✓" })).lastInsertRowid,
  );
  db.prepare(
    `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, snapshot_id, status, attempts, next_attempt_at, created_at)
     VALUES (?, 3, 'INCIDENT_UPDATED', ?, ?, 'PENDING', 0, ?, ?)`,
  ).run(chat, JSON.stringify({ type: "incident.updated", timestamp: new Date(base).toISOString(), data: { incident: 0, actorId: null } }), snapshot, base + 3, base + 3);
}

const sequence = (path: string, table: string) => {
  const handle = openSqlite({ path, busyTimeoutMs: 5_000 });
  try {
    return (handle.client.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?").get(table) as { seq: number }).seq;
  } finally {
    handle.close();
  }
};

describe.skipIf(!postgresAnswers && !onPostgres)("db:copy from SQLite into PostgreSQL (needs PostgreSQL)", () => {
  let source: string;
  let target: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "incident-db-copy-"));
    source = join(dir, "incidents.db");
    await seedSqlite(source);
    target = await createPgDatabase();
  });

  afterAll(async () => {
    for (const name of databases) await postgresAdminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("copies every row and column, ids included, and verifies them (several batches per table)", async () => {
    const summaries = await copySqliteToPostgres({ sqlitePath: source, postgresUrl: target, batchSize: 7 });
    const expected = Object.fromEntries(TABLES.map((table) => [table, sqliteRows(source, table)]));
    // Every table both backends have, parents first.
    expect(Object.fromEntries(summaries.map((summary) => [summary.table, summary.rows]))).toEqual(
      Object.fromEntries(TABLES.map((table) => [table, expected[table]!.length])),
    );
    const position = (table: string) => summaries.findIndex((summary) => summary.table === table);
    expect(position("services")).toBeLessThan(position("incidents"));
    expect(position("incidents")).toBeLessThan(position("alerts"));
    expect(position("integrations")).toBeLessThan(position("alerts"));
    expect(expected.users).toHaveLength(3);
    expect(expected.incidents).toHaveLength(17);
    expect(expected.incident_logs!.length).toBeGreaterThan(2_500);

    for (const table of TABLES) {
      // SELECT *: priority_rank too, computed by each backend from the copied priority.
      const copied = await pgRows(target, table);
      expect(copied.length, table).toBe(expected[table]!.length);
      copied.forEach((row, i) => expect(row, `${table} row ${i}`).toEqual(expected[table]![i]));
    }
    // Every status and priority, nullable columns both null and set, system entries without an author.
    const incidents = expected.incidents!;
    for (const status of STATUSES) expect(incidents.some((row) => row.status === status)).toBe(true);
    for (const priority of PRIORITIES) expect(incidents.some((row) => row.priority === priority)).toBe(true);
    for (const column of ["assignee_id", "acknowledged_at", "resolved_at", "closed_at"]) {
      expect(incidents.some((row) => row[column] === null)).toBe(true);
      expect(incidents.some((row) => row[column] !== null)).toBe(true);
    }
    expect(expected.incident_logs!.some((row) => row.author_id === null)).toBe(true);
    expect(expected.users!.some((row) => row.active === false)).toBe(true);
    expect(expected.incidents!.filter((row) => row.merged_into !== null)).toHaveLength(2);
    expect(expected.incidents!.some((row) => row.resolved_by_system === true)).toBe(true);
    expect(expected.services).toHaveLength(2);
    expect(expected.webhook_endpoints!.map((row) => row.secret)).toEqual([`whsec_${"A".repeat(43)}=`, `whsec_${"B".repeat(43)}=`]);
    expect(expected.webhook_deliveries!.map((row) => row.status)).toEqual(["DELIVERED", "PENDING", "FAILED", "PENDING"]);
    expect(expected.alerts!.some((row) => row.integration_id === null)).toBe(true);
    expect(expected.incident_labels).toHaveLength(15);

    // The sequences continue after every id SQLite handed out, deleted ones included.
    const incidentSummary = summaries.find((summary) => summary.table === "incidents")!;
    expect(incidentSummary.nextId).toBe(sequence(source, "incidents") + 1);
    expect(incidentSummary.nextId).toBeGreaterThan(incidentSummary.maxId! + 1);
    expect(summaries.find((summary) => summary.table === "incident_labels")).toEqual({ table: "incident_labels", rows: 15 });
  });

  it("refuses a target that is not empty, and leaves it unchanged", async () => {
    const before = await Promise.all(TABLES.map((table) => pgRows(target, table)));
    await expect(copySqliteToPostgres({ sqlitePath: source, postgresUrl: target })).rejects.toThrow(CopyRefusedError);
    await expect(copySqliteToPostgres({ sqlitePath: source, postgresUrl: target })).rejects.toThrow(/not empty/);
    expect(await Promise.all(TABLES.map((table) => pgRows(target, table)))).toEqual(before);
  });

  it("gives a server started on the copy the copied accounts, and new ids after the copied ones", async () => {
    const config = loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", DATABASE_URL: target, JWT_SECRET });
    const app = await startApp(config, pino({ level: "silent" }));
    try {
      const gql = async (query: string, variables?: Record<string, unknown>, token?: string) => {
        const response = await fetch(app.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query, variables }),
        });
        return (await response.json()) as any;
      };
      // The password hash came across exactly.
      const login = await gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id role } } }`, {
        e: "ada@example.com",
        p: PASSWORD,
      });
      expect(login.data?.login.user, JSON.stringify(login)).toEqual({ id: "1", role: "ADMIN" });
      const token = login.data.login.token as string;

      const created = await gql(`mutation { createIncident(input: { title: "After the move", priority: HIGH }) { id } }`, undefined, token);
      expect(created.data?.createIncident.id, JSON.stringify(created)).toBe(String(sequence(source, "incidents") + 1));
      const note = await gql(
        `mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "still counting") { id } }`,
        { id: created.data.createIncident.id },
        token,
      );
      expect(Number(note.data?.addIncidentLog.id), JSON.stringify(note)).toBe(sequence(source, "incident_logs") + 1);

      // Copied rows read back through the API: unicode text, the reporter, a timeline with system entries.
      const read = await gql(`{ incident(id: "1") { title reporter { name } logs(first: 3) { nodes { kind author { name } } } } }`, undefined, token);
      expect(read.data?.incident, JSON.stringify(read)).toEqual({
        title: "Incident 1: OPEN/CRITICAL — ünïcødé ✓ 🔥",
        reporter: { name: "Ada Lovelace" },
        logs: {
          nodes: [
            { kind: "STATUS_CHANGE", author: { name: "Ada Lovelace" } },
            { kind: "PRIORITY_CHANGE", author: null },
            { kind: "ASSIGNMENT", author: null },
          ],
        },
      });

      // The copy is searchable: PostgreSQL's index is built as the rows arrive, notes included.
      const found = await gql(`{ searchIncidents(query: "Incident 1: OPEN/CRITICAL") { incident { id } } }`, undefined, token);
      expect(found.data?.searchIncidents[0], JSON.stringify(found)).toEqual({ incident: { id: "1" } });
      const byNote = await gql(`{ searchIncidents(query: "日本語") { incident { id } } }`, undefined, token);
      expect(byNote.data?.searchIncidents.length, JSON.stringify(byNote)).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it("refuses a SQLite database whose migrations are not all applied, before touching PostgreSQL", async () => {
    const empty = await createPgDatabase();
    const unmigrated = join(dir, "unmigrated.db");
    const handle = openSqlite({ path: unmigrated, busyTimeoutMs: 5_000 });
    handle.client.exec("CREATE TABLE users (id integer primary key)");
    handle.close();
    await expect(copySqliteToPostgres({ sqlitePath: unmigrated, postgresUrl: empty })).rejects.toThrow(/db:migrate/);

    const behind = join(dir, "behind.db");
    const old = openSqlite({ path: behind, busyTimeoutMs: 5_000 });
    old.client.exec(`CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
    old.close();
    const committed = JSON.parse(readFileSync(join(migrationsFolder("sqlite"), "meta", "_journal.json"), "utf8")).entries.length;
    await expect(copySqliteToPostgres({ sqlitePath: behind, postgresUrl: empty })).rejects.toThrow(
      new RegExp(`lacks ${committed} migration.*db:migrate`),
    );

    await expect(copySqliteToPostgres({ sqlitePath: join(dir, "missing.db"), postgresUrl: empty })).rejects.toThrow(/no SQLite database/);
    expect(existsSync(join(dir, "missing.db"))).toBe(false);
    expect(await pgQuery(empty, "SELECT to_regclass('public.users') AS users")).toEqual([{ users: null }]);
  });

  it("leaves the target empty when PostgreSQL refuses a row part-way, and a later copy then succeeds", async () => {
    const fresh = await createPgDatabase();
    const poisoned = join(dir, "poisoned.db");
    await seedSqlite(poisoned, { poison: true });
    await expect(copySqliteToPostgres({ sqlitePath: poisoned, postgresUrl: fresh, batchSize: 100 })).rejects.toThrow(/incident_logs/);
    expect(await pgCounts(fresh)).toEqual(Object.fromEntries(TABLES.map((table) => [table, 0])));

    const summaries = await copySqliteToPostgres({ sqlitePath: source, postgresUrl: fresh });
    expect(await pgCounts(fresh)).toEqual(Object.fromEntries(summaries.map((summary) => [summary.table, summary.rows])));
    // The failed attempt did not move the sequences.
    const [row] = await pgQuery<{ id: string }>(
      fresh,
      `INSERT INTO users (email, name, password_hash, role, created_at, updated_at) VALUES ('new@example.com', 'New', 'h', 'VIEWER', now(), now()) RETURNING id`,
    );
    expect(Number(row!.id)).toBe(sequence(source, "users") + 1);
  });

  it("works as a command: one line per table, exit code 1 and nothing changed when refused", async () => {
    expect(existsSync(COPY_JS), `${COPY_JS} is missing: run \`npm run build\` first`).toBe(true);
    const cliTarget = await createPgDatabase();
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    const run = (args: string[], extraEnv: Record<string, string> = {}) =>
      spawnSync(process.execPath, [COPY_JS, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: "utf8", timeout: 60_000 });

    const copied = run(["--from", `file:${source}`, "--to", cliTarget]);
    expect(copied.status, copied.stderr).toBe(0);
    const lines = copied.stdout.trim().split("\n");
    expect(lines).toHaveLength(TABLES.length + 1);
    expect(lines).toContain("users: 3 row(s) copied and verified (ids up to 3; next id 4)");
    expect(lines).toContain("incident_labels: 15 row(s) copied and verified");
    expect(lines.some((line) => /^incidents: 17 row\(s\) copied and verified/.test(line))).toBe(true);
    expect(lines.some((line) => /^incident_logs: \d+ row\(s\) copied and verified/.test(line))).toBe(true);
    for (const table of TABLES) expect(await pgRows(cliTarget, table)).toEqual(sqliteRows(source, table));

    // The source defaults to DATABASE_URL; the target is now full, so this copy is refused.
    const again = run(["--to", cliTarget], { DATABASE_URL: `file:${source}` });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^refused: the PostgreSQL database is not empty/);
    expect(await pgCounts(cliTarget)).toEqual(Object.fromEntries(TABLES.map((table) => [table, sqliteRows(source, table).length])));

    const noTarget = run(["--from", `file:${source}`]);
    expect(noTarget.status).toBe(1);
    expect(noTarget.stderr).toMatch(/--to must be a PostgreSQL URL/);
  });
});
