import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.js";

// PostgreSQL's twin of the SQLite upgrade test for section 10's columns: a database left by the release before them,
// with data, gains merged_into (ON DELETE SET NULL) and resolved_by_system, backfilled from each timeline.

describe.runIf(onPostgres)("PostgreSQL: upgrading to merges and system resolutions (needs PostgreSQL)", () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase("incident-api-pg-upgrade-");
    dir = mkdtempSync(join(tmpdir(), "incident-pg-migrations-"));
  });
  afterAll(async () => {
    await database?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The committed migrations up to (not including) `tag`: a database as the release before it left it. */
  function migrationsBefore(tag: string): string {
    const folder = join(dir, "before");
    cpSync(migrationsFolder("postgres"), folder, { recursive: true });
    const journalPath = join(folder, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8"));
    const index = journal.entries.findIndex((entry: { tag: string }) => entry.tag === tag);
    expect(index).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, index);
    writeFileSync(journalPath, JSON.stringify(journal));
    return folder;
  }

  it("marks the incidents whose last resolution had no author, and clears merged_into when the target goes", async () => {
    const handle = openPostgres({ url: database.url, poolSize: 1 });
    try {
      await applyPostgresMigrations(handle, migrationsBefore("0004_merges_and_system_resolutions"));
      await database.exec(`
        INSERT INTO users (email, name, password_hash, role, created_at, updated_at) VALUES ('a@x.io', 'A', 'h', 'ADMIN', now(), now());
        INSERT INTO incidents (title, status, priority, reporter_id, created_at, updated_at)
          SELECT 'Incident ' || n, 'OPEN', 'HIGH', 1, now(), now() FROM generate_series(1, 4) AS n;`);
      const history: Array<[number, string, Array<[number | null, string, string]>]> = [
        [1, "RESOLVED", [[null, "OPEN", "RESOLVED"]]],
        [2, "RESOLVED", [[1, "OPEN", "INVESTIGATING"], [1, "INVESTIGATING", "RESOLVED"]]],
        [3, "CLOSED", [[null, "INVESTIGATING", "RESOLVED"], [1, "RESOLVED", "CLOSED"]]],
        [4, "RESOLVED", [[null, "OPEN", "RESOLVED"], [1, "RESOLVED", "INVESTIGATING"], [1, "INVESTIGATING", "RESOLVED"]]],
      ];
      for (const [incident, status, changes] of history) {
        await database.exec(`UPDATE incidents SET status = '${status}' WHERE id = ${incident}`);
        for (const [author, from, to] of changes) {
          await database.exec(
            `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
             VALUES (${incident}, 'STATUS_CHANGE', 'm', ${author ?? "NULL"}, '${from}', '${to}', now())`,
          );
        }
      }
      await applyPostgresMigrations(handle, migrationsFolder("postgres"));
      expect(await database.query("SELECT id::int AS id, resolved_by_system AS system FROM incidents ORDER BY id")).toEqual([
        { id: 1, system: true },
        { id: 2, system: false },
        { id: 3, system: true },
        { id: 4, system: false },
      ]);
      await database.exec("UPDATE incidents SET merged_into = 1 WHERE id = 2; DELETE FROM incidents WHERE id = 1;");
      expect(await database.query("SELECT merged_into FROM incidents WHERE id = 2")).toEqual([{ merged_into: null }]);
      expect(await database.integrityProblems()).toEqual([]);
    } finally {
      await handle.close();
    }
  });

  it("leaves only the first pending delivery of each endpoint and incident due when only heads are due", async () => {
    await database.remove();
    database = await createTestDatabase("incident-api-pg-upgrade-");
    const handle = openPostgres({ url: database.url, poolSize: 1 });
    try {
      await applyPostgresMigrations(handle, migrationsBefore("0009_webhook_due_heads"));
      await database.exec(`
        INSERT INTO webhook_endpoints (url, enabled, secret, secret_hint, created_at, updated_at) VALUES
          ('http://127.0.0.1:1/a', TRUE, 'whsec_a', 'a', now(), now()), ('http://127.0.0.1:1/b', FALSE, 'whsec_b', 'b', now(), now());`);
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
      for (const [i, [endpoint, incident, status]] of rows.entries()) {
        const at = `timestamptz '2026-11-30 00:00:00+00' + interval '${i} seconds'`;
        await database.exec(
          `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, delivered_at, created_at)
           VALUES (${endpoint}, ${incident}, 'INCIDENT_UPDATED', '{}', '${status}', 0, ${status === "PENDING" ? at : "NULL"},
             ${status === "DELIVERED" ? at : "NULL"}, ${at})`,
        );
      }
      await applyPostgresMigrations(handle, migrationsFolder("postgres"));
      const after = await database.query<{ id: number; status: string; due: number | null }>(
        `SELECT id::int AS id, status, extract(epoch FROM next_attempt_at - timestamptz '2026-11-30 00:00:00+00')::int AS due
         FROM webhook_deliveries ORDER BY id`,
      );
      expect(after).toEqual([
        { id: 1, status: "DELIVERED", due: null },
        { id: 2, status: "PENDING", due: 1 },
        { id: 3, status: "PENDING", due: null },
        { id: 4, status: "PENDING", due: 3 },
        { id: 5, status: "FAILED", due: null },
        { id: 6, status: "PENDING", due: null },
        { id: 7, status: "PENDING", due: 6 },
        { id: 8, status: "PENDING", due: null },
      ]);
      // Written before snapshots existed: each keeps its whole body and no snapshot, and is sent as it is.
      expect(await database.scalar("SELECT count(*) FROM webhook_deliveries WHERE body = '{}' AND snapshot_id IS NULL")).toBe(rows.length);
      expect(await database.scalar("SELECT count(*) FROM webhook_snapshots")).toBe(0);
      expect(await database.integrityProblems()).toEqual([]);
    } finally {
      await handle.close();
    }
  });
});
