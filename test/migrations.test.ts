import Database from "better-sqlite3";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations, MigrationError } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { onPostgres } from "./support/database.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "incident-migrations-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A connection like the server's: foreign keys enforced. */
function open(): Database.Database {
  const db = new Database(join(dir, "incidents.db"));
  db.pragma("foreign_keys = ON");
  return db;
}

function seed(db: Database.Database, incidents: number, logsEach: number): void {
  const now = Date.now();
  db.prepare(
    "INSERT INTO users (email, name, password_hash, role, created_at, updated_at) VALUES ('a@x.io', 'A', 'h', 'ADMIN', ?, ?)",
  ).run(now, now);
  const incident = db.prepare(
    "INSERT INTO incidents (title, status, priority, reporter_id, created_at, updated_at) VALUES (?, 'OPEN', 'HIGH', 1, ?, ?)",
  );
  const log = db.prepare("INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES (?, 'NOTE', ?, 1, ?)");
  db.transaction(() => {
    for (let i = 0; i < incidents; i++) {
      const id = incident.run(`Incident ${i}`, now, now).lastInsertRowid;
      for (let j = 0; j < logsEach; j++) log.run(id, `note ${j}`, now);
    }
  })();
}

/** The upgraded schema takes what the current release writes: services, labels, alerts, nullable reporters, ALERT entries. */
function usesEveryTable(db: Database.Database): void {
  const now = Date.now();
  db.prepare("INSERT INTO services (name, name_key, created_at, updated_at) VALUES ('Checkout', 'checkout', ?, ?)").run(now, now);
  const incident = db
    .prepare("INSERT INTO incidents (title, status, priority, service_id, created_at, updated_at) VALUES ('From an alert', 'OPEN', 'LOW', 1, ?, ?)")
    .run(now, now).lastInsertRowid;
  db.prepare("INSERT INTO incident_labels (incident_id, key, value) VALUES (?, 'env', 'prod')").run(incident);
  db.prepare("INSERT INTO incident_logs (incident_id, kind, message, created_at) VALUES (?, 'ALERT', 'fired', ?)").run(incident, now);
  db.prepare("INSERT INTO integrations (service_id, name, kind, key_hash, key_hint, created_at) VALUES (1, 'am', 'ALERTMANAGER', 'h', 'abcd', ?)").run(now);
  const alert = db.prepare(
    `INSERT INTO alerts (incident_id, integration_id, service_id, fingerprint, status, severity, summary, labels, annotations, starts_at, last_seen_at, received_at)
     VALUES (?, 1, 1, 'fp', 'FIRING', 'INFO', 's', '{}', '{}', ?, ?, ?)`,
  );
  alert.run(incident, now, now, now);
  expect(() => alert.run(incident, now, now, now)).toThrow(/UNIQUE/);
  db.prepare("DELETE FROM services WHERE id = 1").run();
  expect(db.prepare("SELECT service_id FROM incidents WHERE id = ?").get(incident)).toEqual({ service_id: null });
  expect(count(db, "integrations")).toBe(0);
  expect(count(db, "alerts")).toBe(1);
}

const count = (db: Database.Database, table: string) =>
  (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

/**
 * A copy of the committed migrations plus one more that rebuilds `incidents` the way drizzle-kit does for
 * SQLite (new table, copy, DROP the original, rename): the step that cascades into incident_logs when
 * foreign keys are enforced.
 */
function foldersWithRebuild(db: Database.Database, extraSql?: string): string {
  const folder = join(dir, "drizzle");
  cpSync(migrationsFolder(), folder, { recursive: true });
  const create = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'incidents'").get() as { sql: string }).sql;
  const columns = (db.prepare("PRAGMA table_xinfo(incidents)").all() as { name: string; hidden: number }[])
    .filter((column) => column.hidden === 0)
    .map((column) => `"${column.name}"`)
    .join(", ");
  const indexes = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents' AND sql IS NOT NULL").all() as {
    sql: string;
  }[]).map((row) => row.sql);
  const statements = [
    "PRAGMA foreign_keys=OFF;",
    `${create.replace(/CREATE TABLE [`"]?incidents[`"]?/, "CREATE TABLE `__new_incidents`")};`,
    `INSERT INTO \`__new_incidents\`(${columns}) SELECT ${columns} FROM \`incidents\`;`,
    "DROP TABLE `incidents`;",
    "ALTER TABLE `__new_incidents` RENAME TO `incidents`;",
    "PRAGMA foreign_keys=ON;",
    ...indexes.map((sql) => `${sql};`),
    ...(extraSql ? [extraSql] : []),
  ];
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  const last = journal.entries[journal.entries.length - 1];
  const tag = "9999_rebuild_incidents";
  journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1000, tag });
  writeFileSync(journalPath, JSON.stringify(journal));
  writeFileSync(join(folder, `${tag}.sql`), statements.join("\n--> statement-breakpoint\n"));
  return folder;
}

/** The tags of the committed migrations, in order. */
const committedMigrations = (): string[] =>
  JSON.parse(readFileSync(join(migrationsFolder(), "meta", "_journal.json"), "utf8")).entries.map((entry: { tag: string }) => entry.tag);

/** A copy of the committed migrations that holds only the first `count` of them: a database as an older release left it. */
function firstMigrations(count: number): string {
  const folder = join(dir, `drizzle-${count}`);
  cpSync(migrationsFolder(), folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  journal.entries = journal.entries.slice(0, count);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

// SQLite only: the hazard guarded against here (drizzle-kit's SQLite table rebuild, whose DROP TABLE cascades
// into incident_logs under enforced foreign keys) does not exist on PostgreSQL, whose migrations alter tables in
// place and run in one transaction; test/postgres.test.ts covers the PostgreSQL migrator.
describe.skipIf(onPostgres)("migrations (SQLite: skipped with TEST_DATABASE=postgres, the table-rebuild hazard is SQLite's)", () => {
  it("create the schema on an empty database and are a no-op the second time", () => {
    const db = open();
    expect(applyMigrations(db, migrationsFolder())).toBeGreaterThan(0);
    expect(applyMigrations(db, migrationsFolder())).toBe(0);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    db.close();
  });

  it("upgrade a database that has data from every earlier release, keeping every row", () => {
    const total = committedMigrations().length;
    for (let released = 1; released < total; released++) {
      rmSync(join(dir, "incidents.db"), { force: true });
      const db = open();
      expect(applyMigrations(db, firstMigrations(released))).toBe(released);
      seed(db, 20, 5);
      expect(applyMigrations(db, migrationsFolder())).toBe(total - released);
      expect([count(db, "users"), count(db, "incidents"), count(db, "incident_logs")]).toEqual([1, 20, 100]);
      // Every column of every row as it was, the generated priority rank included.
      const incident = db.prepare("SELECT title, status, priority, priority_rank, reporter_id, service_id FROM incidents WHERE id = 1").get();
      expect(incident).toEqual({ title: "Incident 0", status: "OPEN", priority: "HIGH", priority_rank: 3, reporter_id: 1, service_id: null });
      expect(db.prepare("SELECT count(*) AS n FROM incident_logs WHERE incident_id = 1 AND kind = 'NOTE'").get()).toEqual({ n: 5 });
      usesEveryTable(db);
      expect(db.pragma("foreign_key_check")).toEqual([]);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      db.close();
    }
  });

  it("mark the incidents the system resolved before resolved_by_system existed, from their timelines", () => {
    const before = committedMigrations().indexOf("0003_merges_and_system_resolutions");
    const db = open();
    applyMigrations(db, firstMigrations(before));
    seed(db, 5, 0);
    const entry = db.prepare(
      "INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at) VALUES (?, 'STATUS_CHANGE', 'm', ?, ?, ?, ?)",
    );
    const now = Date.now();
    const history: Array<[incident: number, status: string, changes: Array<[author: number | null, from: string, to: string]>]> = [
      [1, "RESOLVED", [[null, "OPEN", "RESOLVED"]]], // by the system
      [2, "RESOLVED", [[1, "OPEN", "INVESTIGATING"], [1, "INVESTIGATING", "RESOLVED"]]], // by a person
      [3, "RESOLVED", [[null, "OPEN", "RESOLVED"], [1, "RESOLVED", "INVESTIGATING"], [1, "INVESTIGATING", "RESOLVED"]]], // reopened, then a person
      [4, "CLOSED", [[null, "INVESTIGATING", "RESOLVED"], [1, "RESOLVED", "CLOSED"]]], // the system, then closed
      [5, "INVESTIGATING", [[null, "OPEN", "RESOLVED"], [1, "RESOLVED", "INVESTIGATING"]]], // reopened: not resolved now
    ];
    for (const [incident, status, changes] of history) {
      db.prepare("UPDATE incidents SET status = ? WHERE id = ?").run(status, incident);
      changes.forEach(([author, from, to], i) => entry.run(incident, author, from, to, now + i));
    }
    applyMigrations(db, migrationsFolder());
    const marked = db.prepare("SELECT id, resolved_by_system AS system FROM incidents ORDER BY id").all();
    expect(marked).toEqual([
      { id: 1, system: 1 },
      { id: 2, system: 0 },
      { id: 3, system: 0 },
      { id: 4, system: 1 },
      { id: 5, system: 0 },
    ]);
    // merged_into: deleting the target leaves the duplicate, no longer merged (ON DELETE SET NULL, added in place).
    db.prepare("UPDATE incidents SET merged_into = 1 WHERE id = 2").run();
    db.prepare("DELETE FROM incidents WHERE id = 1").run();
    expect(db.prepare("SELECT merged_into FROM incidents WHERE id = 2").get()).toEqual({ merged_into: null });
    expect(db.pragma("foreign_key_check")).toEqual([]);
    db.close();
  });

  it("leave only the first pending delivery of each endpoint and incident due when only heads are due", () => {
    const before = committedMigrations().indexOf("0008_webhook_due_heads");
    const db = open();
    applyMigrations(db, firstMigrations(before));
    seed(db, 2, 0);
    const now = Date.now();
    db.prepare(
      `INSERT INTO webhook_endpoints (url, enabled, secret, secret_hint, created_at, updated_at) VALUES
         ('http://127.0.0.1:1/a', 1, 'whsec_a', 'a', ?, ?), ('http://127.0.0.1:1/b', 0, 'whsec_b', 'b', ?, ?)`,
    ).run(now, now, now, now);
    const delivery = db.prepare(
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, delivered_at, created_at)
       VALUES (?, ?, 'INCIDENT_UPDATED', '{}', ?, 0, ?, ?, ?)`,
    );
    // As the release before wrote them: every pending delivery due at its creation.
    const rows: Array<[endpoint: number, incident: number, status: string]> = [
      [1, 1, "DELIVERED"],
      [1, 1, "PENDING"], // the head of (1, 1)
      [1, 1, "PENDING"],
      [1, 2, "PENDING"], // the head of (1, 2)
      [1, 1, "FAILED"],
      [1, 1, "PENDING"],
      [2, 1, "PENDING"], // the head of (2, 1), a disabled endpoint: due again once enabled
      [2, 1, "PENDING"],
    ];
    rows.forEach(([endpoint, incident, status], i) => {
      const at = now + i;
      delivery.run(endpoint, incident, status, status === "PENDING" ? at : null, status === "DELIVERED" ? at : null, at);
    });
    applyMigrations(db, migrationsFolder());
    const after = db.prepare("SELECT id, status, next_attempt_at AS due FROM webhook_deliveries ORDER BY id").all();
    expect(after).toEqual([
      { id: 1, status: "DELIVERED", due: null },
      { id: 2, status: "PENDING", due: now + 1 },
      { id: 3, status: "PENDING", due: null },
      { id: 4, status: "PENDING", due: now + 3 },
      { id: 5, status: "FAILED", due: null },
      { id: 6, status: "PENDING", due: null },
      { id: 7, status: "PENDING", due: now + 6 },
      { id: 8, status: "PENDING", due: null },
    ]);
    // Written before snapshots existed: each keeps its whole body and no snapshot, and is sent as it is.
    expect(db.prepare("SELECT count(*) FROM webhook_deliveries WHERE body = '{}' AND snapshot_id IS NULL").pluck().get()).toBe(rows.length);
    expect(count(db, "webhook_snapshots")).toBe(0);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries' ORDER BY name").pluck().all();
    expect(indexes).toContain("webhook_deliveries_endpoint_due_idx");
    expect(indexes).toContain("webhook_deliveries_snapshot_idx");
    expect(indexes).not.toContain("webhook_deliveries_due_idx");
    expect(count(db, "incidents")).toBe(2);
    expect(db.pragma("foreign_key_check")).toEqual([]);
    db.close();
  });

  it("mark the alerts of OPEN and INVESTIGATING incidents as within the grouping lookups' reach, and no others", () => {
    const db = open();
    applyMigrations(db, firstMigrations(committedMigrations().indexOf("0012_alert_incident_active")));
    seed(db, 4, 0);
    const statuses = ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"];
    statuses.forEach((status, i) => db.prepare("UPDATE incidents SET status = ? WHERE id = ?").run(status, i + 1));
    const now = Date.now();
    const alert = db.prepare(
      `INSERT INTO alerts (incident_id, fingerprint, status, severity, summary, labels, annotations, group_key, starts_at, last_seen_at, received_at)
       VALUES (?, ?, 'RESOLVED', 'INFO', 's', '{}', '{}', 'g', ?, ?, ?)`,
    );
    for (const incident of [1, 1, 2, 3, 3, 4]) alert.run(incident, `fp-${incident}-${Math.random()}`, now, now, now);
    applyMigrations(db, migrationsFolder());
    const rows = db.prepare("SELECT incident_id AS incident, incident_active AS active FROM alerts ORDER BY id").all();
    expect(rows).toEqual([1, 1, 2, 3, 3, 4].map((incident) => ({ incident, active: incident <= 2 ? 1 : 0 })));
    db.close();
  });

  it("keep every incident and log when a later migration rebuilds incidents", () => {
    const db = open();
    applyMigrations(db, migrationsFolder());
    seed(db, 25, 8);
    const applied = applyMigrations(db, foldersWithRebuild(db));
    expect(applied).toBe(1);
    expect(count(db, "incidents")).toBe(25);
    expect(count(db, "incident_logs")).toBe(200);
    expect(db.pragma("foreign_key_check")).toEqual([]);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });

  it("would lose the logs without the guard (the hazard the guard exists for)", () => {
    const db = open();
    applyMigrations(db, migrationsFolder());
    seed(db, 3, 4);
    const folder = foldersWithRebuild(db);
    const sql = readFileSync(join(folder, "9999_rebuild_incidents.sql"), "utf8").split("--> statement-breakpoint");
    db.transaction(() => sql.forEach((statement) => db.exec(statement)))();
    expect(count(db, "incidents")).toBe(3);
    expect(count(db, "incident_logs")).toBe(0);
    db.close();
  });

  it("roll back entirely when a migration would leave dangling references", () => {
    const db = open();
    applyMigrations(db, migrationsFolder());
    seed(db, 2, 2);
    const folder = foldersWithRebuild(db, "DELETE FROM incidents WHERE id = 1;");
    expect(() => applyMigrations(db, folder)).toThrow(MigrationError);
    expect(count(db, "incidents")).toBe(2);
    expect(count(db, "incident_logs")).toBe(4);
    const journal = db.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    expect(journal.n).toBe(committedMigrations().length);
    db.close();
  });
});
