import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
import { openSqlite } from "../src/db/sqlite.js";
import { postgresBackend, sqliteBackend } from "../src/db/sql-backend.js";
import { criteriaSql } from "../src/modules/incidents/incident-criteria-sql.js";
import { countedDocuments, intelligenceStatements } from "../src/modules/intelligence/intelligence-statements.js";
import { createIntelligenceRepository } from "../src/modules/intelligence/intelligence.repository.js";
import { fts5Query, tsQuery } from "../src/modules/intelligence/search-terms.js";
import { numberedPlaceholders, postgresDialect, sqliteDialect } from "../src/db/sql-work.js";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.js";

// The search index below the API: the migrations build it for rows that existed before them, and the search and
// similarity statements read it (FTS5 on SQLite, the GIN index on PostgreSQL) rather than scanning incidents.

const backend = onPostgres ? "PostgreSQL" : "SQLite";

/** A copy of the migrations folder that stops before the search index, to stand for an older release. */
function migrationsBeforeSearch(): string {
  const source = migrationsFolder(onPostgres ? "postgres" : "sqlite");
  const copy = mkdtempSync(join(tmpdir(), "migrations-before-search-"));
  cpSync(source, copy, { recursive: true });
  const journalPath = join(copy, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const index = journal.entries.findIndex((entry) => entry.tag.endsWith("_search_index"));
  journal.entries = journal.entries.slice(0, index);
  writeFileSync(journalPath, JSON.stringify(journal));
  return copy;
}

const seedSql = (incidents: number) => `
  INSERT INTO users (email, name, password_hash, role, created_at, updated_at) VALUES ('a@x.io', 'A', 'h', 'ADMIN', ${onPostgres ? "now(), now()" : "0, 0"});
  INSERT INTO incidents (title, description, status, priority, reporter_id, created_at, updated_at)
  ${onPostgres
    ? `SELECT 'Routine ' || g, 'nothing special ' || g, 'OPEN', 'LOW', 1, now(), now() FROM generate_series(1, ${incidents}) g`
    : `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${incidents})
       SELECT 'Routine ' || n, 'nothing special ' || n, 'OPEN', 'LOW', 1, 0, 0 FROM g`};
  INSERT INTO incidents (title, description, status, priority, reporter_id, created_at, updated_at)
  VALUES ('Gateway déploiement failed', 'the canary rolled back', 'OPEN', 'HIGH', 1, ${onPostgres ? "now(), now()" : "0, 0"});
  INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at)
  ${onPostgres
    ? `SELECT g, 'NOTE', 'checked the dashboards ' || g, 1, now() FROM generate_series(1, ${incidents}) g`
    : `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${incidents})
       SELECT n, 'NOTE', 'checked the dashboards ' || n, 1, 0 FROM g`};
  INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at)
  VALUES (${incidents + 1}, 'NOTE', 'Root cause: expired kerberos ticket', 1, ${onPostgres ? "now()" : "0"}),
         (${incidents + 1}, 'STATUS_CHANGE', 'kerberos status only', 1, ${onPostgres ? "now()" : "0"});`;

describe(`the search index (${backend})`, () => {
  let db: TestDatabase;
  let folder: string;
  beforeAll(async () => {
    db = await createTestDatabase("search-index-");
    folder = migrationsBeforeSearch();
  });
  afterAll(async () => {
    await db?.remove();
    rmSync(folder, { recursive: true, force: true });
  });

  it("is built by the migration for incidents and notes that existed before it, and then kept in step", async () => {
    const seeded = 2_000;
    if (onPostgres) {
      const handle = openPostgres({ url: db.url, poolSize: 2 });
      try {
        await applyPostgresMigrations(handle, folder);
        await handle.pool.query(seedSql(seeded));
        await applyPostgresMigrations(handle, migrationsFolder("postgres"));
        await handle.pool.query("ANALYZE");
      } finally {
        await handle.close();
      }
    } else {
      const handle = openSqlite({ path: db.dbPath, busyTimeoutMs: 5000 });
      try {
        applyMigrations(handle.client, folder);
        handle.client.exec(seedSql(seeded));
        applyMigrations(handle.client, migrationsFolder("sqlite"));
        handle.client.exec("INSERT INTO incident_fts (incident_fts) VALUES ('integrity-check')");
        handle.client.exec("INSERT INTO incident_note_fts (incident_note_fts) VALUES ('integrity-check')");
      } finally {
        handle.close();
      }
    }
    const found = await withRepository(db, (repository) => repository.search(["deploiement", "kerb"], {}, 10));
    expect(found.map((match) => [match.incidentId, match.notes])).toEqual([[seeded + 1, "Root cause: expired kerberos ticket"]]);
    expect(await withRepository(db, (repository) => repository.search(["status"], {}, 10))).toEqual([]);
    expect(await db.scalar("SELECT count(*) FROM incident_search")).toBe(seeded + 1);
    // One index document per note, none for other entries.
    expect(await db.scalar(onPostgres ? "SELECT count(*) FROM incident_note_search" : "SELECT count(*) FROM incident_note_fts_docsize")).toBe(seeded + 1);
    expect(await db.integrityProblems()).toEqual([]);
  });

  it("reuses the counts of common words until a lookup sees the collection grown by 1%, and counts rare ones every time", async () => {
    const now = onPostgres ? "now()" : "0";
    await withRepository(db, async (repository) => {
      const lookup = async () => (await repository.termStatistics(["routine", "kerberos"])).frequencies;
      // "routine" is in the 2,000 seeded titles (PostgreSQL counts up to countedDocuments), "kerberos" in one note.
      const common = onPostgres ? countedDocuments : 2_000;
      expect(Object.fromEntries(await lookup())).toEqual({ routine: common, kerberos: 1 });
      // Edits do not grow the collection: the common count is kept (for a minute), the rare one is counted again.
      await db.exec(`UPDATE incidents SET title = 'Ordinary ' || id WHERE id <= 1950`);
      await db.exec(`INSERT INTO incident_logs (incident_id, kind, message, author_id, created_at) VALUES (5, 'NOTE', 'kerberos again', 1, ${now})`);
      expect(Object.fromEntries(await lookup())).toEqual({ routine: common, kerberos: 2 });
      // 21 more incidents grow 2,001 by over 1%: the lookup that sees them is the last to use the kept count.
      await db.exec(
        `INSERT INTO incidents (title, description, status, priority, reporter_id, created_at, updated_at)
         SELECT 'Fresh', '', 'OPEN', 'LOW', 1, ${now}, ${now} FROM incidents WHERE id <= 21`,
      );
      expect((await lookup()).get("routine")).toBe(common);
      expect(Object.fromEntries(await lookup())).toEqual({ routine: 50, kerberos: 2 });
    });
  });

  it("is what the search and similarity statements read (EXPLAIN)", async () => {
    const plans = onPostgres ? await postgresPlans(db) : await sqlitePlans(db);
    for (const [name, plan] of Object.entries(plans)) {
      // Both indexes: titles and descriptions, and notes.
      if (onPostgres) expect(plan, name).toMatch(/Bitmap Index Scan on incident_search_doc_idx/);
      else expect(plan, name).toMatch(/SCAN f VIRTUAL TABLE INDEX \d+:M/);
      if (onPostgres) expect(plan, name).toMatch(/Bitmap Index Scan on incident_note_search_doc_idx/);
      else expect(plan, name).toMatch(/SCAN n VIRTUAL TABLE INDEX \d+:M/);
      expect(plan, name).not.toMatch(onPostgres ? /Seq Scan on incidents/ : /SCAN i\b/);
    }
  });
});

async function withRepository<T>(db: TestDatabase, work: (repository: ReturnType<typeof createIntelligenceRepository>) => Promise<T>): Promise<T> {
  if (onPostgres) {
    const handle = openPostgres({ url: db.url, poolSize: 2 });
    try {
      return await work(createIntelligenceRepository(postgresBackend(handle)));
    } finally {
      await handle.close();
    }
  }
  const handle = openSqlite({ path: db.dbPath, busyTimeoutMs: 5000 });
  try {
    return await work(createIntelligenceRepository(sqliteBackend(handle)));
  } finally {
    handle.close();
  }
}

/** The statements with the parameters they run with: a search with a filter, and both candidate queries. */
function cases(kind: "sqlite" | "postgres") {
  const d = kind === "sqlite" ? sqliteDialect : postgresDialect;
  const q = intelligenceStatements(d);
  const text = kind === "sqlite" ? fts5Query : tsQuery;
  const filter = criteriaSql(d, { statuses: ["OPEN"] });
  const window = [d.time(new Date(0)), d.time(new Date(Date.now() + 86_400_000)), 0];
  return {
    search: {
      text: q.search("", "").text,
      params: [...q.searchParams([text(["kerberos"], "all"), text(["gatew"], "all")], text(["kerberos", "gatew"], "all")), 20],
    },
    "search with a filter": {
      text: q.search(filter.shape, filter.text).text,
      params: [...q.searchParams([text(["kerberos"], "all")], text(["kerberos"], "all")), ...filter.params, 20],
    },
    similar: { text: q.candidates(false).text, params: q.candidateParams(text(["kerber", "gatew"], "any"), window, 60) },
    "similar, same service": { text: q.candidates(true).text, params: q.candidateParams(text(["kerber"], "any"), [...window, null], 60) },
  };
}

async function sqlitePlans(db: TestDatabase): Promise<Record<string, string>> {
  const handle = openSqlite({ path: db.dbPath, busyTimeoutMs: 5000 });
  try {
    return Object.fromEntries(
      Object.entries(cases("sqlite")).map(([name, { text, params }]) => [
        name,
        (handle.client.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[]).map((row) => row.detail).join("\n"),
      ]),
    );
  } finally {
    handle.close();
  }
}

async function postgresPlans(db: TestDatabase): Promise<Record<string, string>> {
  const handle = openPostgres({ url: db.url, poolSize: 1 });
  try {
    const plans: Record<string, string> = {};
    for (const [name, { text, params }] of Object.entries(cases("postgres"))) {
      const result = await handle.pool.query(`EXPLAIN ${numberedPlaceholders(text)}`, params);
      plans[name] = result.rows.map((row: Record<string, string>) => row["QUERY PLAN"]).join("\n");
    }
    return plans;
  } finally {
    await handle.close();
  }
}
