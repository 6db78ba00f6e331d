// The hot reads walk indexes: EXPLAIN QUERY PLAN of every statement they execute shows no full scan of a table
// and no sort of the rows (which would grow with the table, where the keyset pages must not). The statements are
// the repositories' own, caught as they run, with the parameters they ran with.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedIncidents } from "../bench/seed.js";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { createSqliteIncidentRepository, type IncidentPageQuery, type IncidentRepository } from "../src/modules/incidents/incident.repository.js";
import { createSqliteUserRepository, type UserRepository } from "../src/modules/users/user.repository.js";
import { onPostgres } from "./support/database.js";
import { recordStatements } from "./support/statement-recorder.js";

interface Executed {
  source: string;
  params: unknown[];
}

let dir: string;
let handle: SqliteHandle;
let incidents: IncidentRepository;
let users: UserRepository;
let executed: Executed[] = [];
let newestIds: number[];


/** What each statement `work` executes would do, as EXPLAIN QUERY PLAN's lines. */
async function plansOf(work: () => Promise<unknown>): Promise<Array<{ source: string; plan: string[] }>> {
  executed = [];
  await work();
  const explain = new Database(join(dir, "plans.db"), { readonly: true });
  try {
    explain.function("unicode_lower", { deterministic: true }, (text: unknown) => text);
    return executed.map(({ source, params }) => ({
      source,
      plan: (explain.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail),
    }));
  } finally {
    explain.close();
  }
}

/**
 * A plan line that reads a whole table, or sorts rows. `SCAN t USING INDEX i` alone is an in-order walk of an
 * index that the statement's LIMIT ends (a first page has no condition to search by); a sort would read every
 * matching row before the first could be returned, so it may not appear with it.
 */
const tableScan = (line: string) => /^SCAN (incidents|incident_logs|users)(?! USING)/.test(line);
const sort = (line: string) => /USE TEMP B-TREE/.test(line);

async function expectIndexedOnly(work: () => Promise<unknown>, expectedStatements: number, options: { sorted?: boolean } = {}) {
  const plans = await plansOf(work);
  expect(plans).toHaveLength(expectedStatements);
  for (const { source, plan } of plans) {
    const context = `${source}\n${plan.join("\n")}`;
    expect(plan.filter(tableScan), context).toEqual([]);
    if (!options.sorted) expect(plan.filter(sort), context).toEqual([]);
    if (plan.some((line) => /^SCAN \w+ USING/.test(line))) expect(source, context).toMatch(/\blimit\b/i);
  }
  return plans;
}

const firstPage = (overrides: Partial<IncidentPageQuery> = {}): IncidentPageQuery => ({
  criteria: {},
  sort: { field: "createdAt", descending: true },
  first: 50,
  ...overrides,
});

describe.skipIf(onPostgres)("query plans of the hot reads (SQLite: EXPLAIN QUERY PLAN; skipped with TEST_DATABASE=postgres)", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "incident-plans-"));
    handle = openSqlite({ path: join(dir, "plans.db"), busyTimeoutMs: 5000 });
    applyMigrations(handle.client, migrationsFolder("sqlite"));
    seedIncidents(handle.client, { incidents: 3000, logsPerIncident: 5 });
    recordStatements(handle.client, (source, params) => executed.push({ source, params }));
    incidents = createSqliteIncidentRepository(handle);
    users = createSqliteUserRepository(handle);
    newestIds = handle.client.prepare("SELECT id FROM incidents ORDER BY created_at DESC, id DESC LIMIT 50").pluck().all() as number[];
  });

  afterAll(() => {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the first page, newest first, reads the created_at index in order and stops at the page's end", async () => {
    const [page] = await expectIndexedOnly(() => incidents.page(firstPage()), 1);
    expect(page!.plan.join("\n")).toMatch(/incidents_created_idx/);
  });

  it("a later page starts from its cursor in the same index", async () => {
    const after = { value: Date.now(), id: newestIds[10]! };
    const [page] = await expectIndexedOnly(() => incidents.page(firstPage({ after })), 1);
    expect(page!.plan.join("\n")).toMatch(/SEARCH incidents USING INDEX incidents_created_idx/);
  });

  it("pages in the other orders and directions use their own indexes", async () => {
    for (const field of ["updatedAt", "priorityRank"] as const) {
      for (const descending of [true, false]) {
        await expectIndexedOnly(() => incidents.page(firstPage({ sort: { field, descending } })), 1);
      }
    }
  });

  it("a page filtered by status searches the (status, created_at, id) index, one status at a time", async () => {
    // The sort merges the statuses asked for; each status is read in index order and SQLite stops reading it once
    // the LIMIT is filled (its IN early-out), so the rows sorted are at most LIMIT per status, whatever the table.
    const [page] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { statuses: ["OPEN", "CLOSED"] } })), 1, {
      sorted: true,
    });
    expect(page!.plan.join("\n")).toMatch(/SEARCH incidents USING INDEX incidents_status_created_idx \(status=\?\)/);
  });

  it("a page filtered by priority searches the (priority, created_at, id) index, one priority at a time", async () => {
    const [page] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { priorities: ["CRITICAL", "HIGH"] } })), 1, {
      sorted: true,
    });
    expect(page!.plan.join("\n")).toMatch(/SEARCH incidents USING INDEX incidents_priority_created_idx \(priority=\?\)/);
  });

  it("a page filtered by assignee or reporter searches that column's index", async () => {
    const [assigned] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { assigneeId: 2 } })), 1);
    expect(assigned!.plan.join("\n")).toMatch(/incidents_assignee_created_idx/);
    const [reported] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { reporterId: 2 } })), 1);
    expect(reported!.plan.join("\n")).toMatch(/incidents_reporter_created_idx/);
  });

  it("the timelines of a whole page search the (incident_id, id) index per incident", async () => {
    const [logs] = await expectIndexedOnly(() => incidents.logPages(newestIds, 10, undefined, ["message", "authorId"]), 1);
    expect(logs!.plan.join("\n")).toMatch(/SEARCH \w+ USING (COVERING )?INDEX incident_logs_incident_idx \(incident_id=\? AND id>\?\)/);
  });

  it("a page filtered by labels starts from the (key, value, incident_id) index; one by service searches its index", async () => {
    const labels = [{ key: "env", value: "prod" }, { key: "team", value: "core" }];
    const [labelled] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { labels } })), 1, { sorted: true });
    expect(labelled!.plan.join("\n")).toMatch(/incident_labels_pair_idx \(key=\? AND value=\?\)/);
    const [serviced] = await expectIndexedOnly(() => incidents.page(firstPage({ criteria: { serviceIds: [1, 2] } })), 1, { sorted: true });
    expect(serviced!.plan.join("\n")).toMatch(/incidents_service_created_idx/);
  });

  it("incidents and users by id are primary-key lookups", async () => {
    const plans = await expectIndexedOnly(async () => {
      await incidents.findById(newestIds[0]!);
      await incidents.findByIds(newestIds.slice(0, 5));
      await users.findByIds([1, 2, 3]);
    }, 3);
    for (const { plan } of plans) expect(plan.join("\n")).toMatch(/USING INTEGER PRIMARY KEY/);
  });
});
