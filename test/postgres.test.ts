import "reflect-metadata";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
import { startChildServer, stopAllChildServers, tempDatabase } from "./support/child-server.js";
import { createTestDatabase, onPostgres, postgresAdminQuery, type TestDatabase } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";

// The PostgreSQL backend's own guarantees: start-up migrations under an advisory lock, the schema drizzle-kit
// generated (keys, cascade, checks, generated column, indexes), and surviving a database outage. These run with
// TEST_DATABASE=postgres (`npm run test:pg`); the rest of the suite runs unchanged on both backends.
// The last block is backend-neutral: the first user of an empty database is ADMIN even when sign-ups race.

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id role } } }`;
const signUpInput = (i: number) => ({ input: { email: `racer${i}@example.com`, name: `Racer ${i}`, password: "correct horse battery" } });

async function post(url: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe.runIf(onPostgres)("PostgreSQL: migrations at start-up", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("incident-api-pg-migrate-");
  });
  afterAll(() => database?.remove());

  it("are applied once when several instances migrate at the same moment, and are a no-op afterwards", async () => {
    const folder = migrationsFolder("postgres");
    const handles = Array.from({ length: 4 }, () => openPostgres({ url: database.url, poolSize: 2 }));
    try {
      const applied = await Promise.all(handles.map((handle) => applyPostgresMigrations(handle, folder)));
      const expected = await database.scalar("SELECT count(*) FROM drizzle.__drizzle_migrations");
      expect(expected).toBeGreaterThan(0);
      // One instance did the work, under the lock; the others found nothing left to do.
      expect([...applied].sort((a, b) => b - a)).toEqual([expected, 0, 0, 0]);
      expect(await applyPostgresMigrations(handles[0]!, folder)).toBe(0);
      expect(await database.scalar("SELECT count(*) FROM drizzle.__drizzle_migrations")).toBe(expected);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
  });

  it("create the tables, keys, checks, generated column and indexes of the SQLite schema", async () => {
    const tables = await database.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    // generated_secrets is PostgreSQL's own: the SQLite backend keeps its development secret in a file.
    // incident_search and incident_note_search are the search index's document tables, one row per incident (title
    // and description) and one per note (SQLite has incident_search too, beside its FTS5 tables). incident_templates
    // keeps each incident's title template for the outlier evidence, on both backends.
    expect(tables.map((row) => row.table_name).sort()).toEqual(
      [
        "alerts",
        "generated_secrets",
        "incident_labels",
        "incident_logs",
        "incident_note_search",
        "incident_search",
        "incident_templates",
        "incidents",
        "integrations",
        "services",
        "users",
        "webhook_deliveries",
        "webhook_endpoints",
        "webhook_snapshots",
      ].sort(),
    );

    const cascade = await database.query<{ name: string; on_delete: string }>(
      `SELECT conname AS name, confdeltype AS on_delete FROM pg_constraint
       WHERE contype = 'f' AND conrelid = 'incident_logs'::regclass AND confrelid = 'incidents'::regclass`,
    );
    expect(cascade).toEqual([{ name: "incident_logs_incident_id_incidents_id_fk", on_delete: "c" }]);
    // Section 8: a deleted service leaves its incidents (SET NULL) and takes its integrations (CASCADE); alerts stay.
    const onDelete = await database.query<{ name: string; on_delete: string }>(
      `SELECT conname AS name, confdeltype AS on_delete FROM pg_constraint
       WHERE contype = 'f' AND conrelid IN ('incidents'::regclass, 'integrations'::regclass, 'alerts'::regclass, 'incident_labels'::regclass)`,
    );
    expect(Object.fromEntries(onDelete.map((row) => [row.name, row.on_delete]))).toMatchObject({
      incidents_service_id_services_id_fk: "n",
      // Section 10: deleting a merge target leaves its duplicates, no longer merged into anything.
      incidents_merged_into_incidents_id_fk: "n",
      integrations_service_id_services_id_fk: "c",
      alerts_incident_id_incidents_id_fk: "c",
      alerts_integration_id_integrations_id_fk: "n",
      alerts_service_id_services_id_fk: "n",
      incident_labels_incident_id_incidents_id_fk: "c",
    });
    // Section 11: an endpoint's deliveries go with it; a snapshot goes only once no delivery uses it.
    const deliveries = await database.query<{ target: string; on_delete: string }>(
      `SELECT confrelid::regclass::text AS target, confdeltype AS on_delete FROM pg_constraint
       WHERE contype = 'f' AND conrelid = 'webhook_deliveries'::regclass ORDER BY 1`,
    );
    expect(deliveries).toEqual([
      { target: "webhook_endpoints", on_delete: "c" },
      { target: "webhook_snapshots", on_delete: "a" },
    ]);

    const checks = await database.query<{ name: string }>(
      "SELECT conname AS name FROM pg_constraint WHERE contype = 'c' AND connamespace = 'public'::regnamespace ORDER BY conname",
    );
    expect(checks.map((row) => row.name).sort()).toEqual([
      "alerts_severity_valid",
      "alerts_status_valid",
      "incident_logs_kind_valid",
      "incidents_priority_valid",
      "incidents_status_valid",
      "incidents_version_positive",
      "integrations_kind_valid",
      "services_window_range",
      "users_email_lower",
      "users_role_valid",
      "webhook_deliveries_status_valid",
    ].sort());

    const rank = await database.query<{ attgenerated: string }>(
      "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'incidents'::regclass AND attname = 'priority_rank'",
    );
    expect(rank).toEqual([{ attgenerated: "s" }]); // STORED

    const times = await database.query<{ data_type: string; datetime_precision: number }>(
      `SELECT DISTINCT data_type, datetime_precision FROM information_schema.columns
       WHERE table_schema = 'public' AND column_name LIKE '%\\_at' ESCAPE '\\'`,
    );
    expect(times).toEqual([{ data_type: "timestamp with time zone", datetime_precision: 3 }]);

    const indexes = await database.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' ORDER BY indexname",
    );
    expect(indexes.map((row) => row.indexname).sort()).toEqual([
      "alerts_firing_unique",
      "alerts_group_key_active_idx",
      "alerts_group_values_active_idx",
      "alerts_incident_idx",
      "alerts_service_received_idx",
      "incident_labels_incident_id_key_pk", // the composite primary key, named by drizzle-kit
      "incident_labels_pair_idx",
      "incident_logs_incident_idx",
      "incident_note_search_doc_idx", // the GIN index of full-text search over notes, one document per note
      "incident_search_doc_idx", // the GIN index of full-text search over titles and descriptions
      "incident_templates_service_created_idx",
      "incident_templates_service_template_idx",
      "incidents_assignee_created_idx",
      "incidents_created_idx",
      "incidents_merged_into_idx",
      "incidents_priority_created_idx",
      "incidents_priority_idx",
      "incidents_reporter_created_idx",
      "incidents_service_created_idx",
      "incidents_status_created_idx",
      "incidents_updated_idx",
      "integrations_key_hash_unique",
      "integrations_service_idx",
      "services_name_key_unique",
      "users_email_unique",
      "users_role_id_idx",
      "webhook_deliveries_endpoint_due_idx",
      "webhook_deliveries_endpoint_idx",
      "webhook_deliveries_finished_idx",
      "webhook_deliveries_order_idx",
      "webhook_deliveries_snapshot_idx",
      "webhook_deliveries_unrendered_idx",
      "webhook_snapshots_hash_idx",
    ].sort());
  });
});

describe.runIf(onPostgres)("PostgreSQL: the server and its database", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("computes priority_rank in the database and cascades a deletion to the timeline", async () => {
    const created = await server.gql(`mutation { createIncident(input: { title: "Ranked", priority: HIGH }) { id } }`, {}, server.admin.token);
    const id = Number(created.data.createIncident.id);
    await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "note") { id } }`, { id: String(id) }, server.admin.token);
    expect(await server.db.scalar("SELECT priority_rank FROM incidents WHERE id = ?", [id])).toBe(3);
    expect(await server.db.scalar("SELECT count(*) FROM incident_logs WHERE incident_id = ?", [id])).toBe(1);
    await server.db.exec(`DELETE FROM incidents WHERE id = ${id}`);
    expect(await server.db.scalar("SELECT count(*) FROM incident_logs WHERE incident_id = ?", [id])).toBe(0);
  });

  it("folds case with ICU when the server has it, whatever the database's ctype", async () => {
    const icu = await server.db.scalar("SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'");
    if (icu === 0) return; // without ICU the search follows lc_ctype (a warning is logged at start-up)
    const ctype = (await server.db.query<{ lc_ctype: string }>("SHOW lc_ctype"))[0]!.lc_ctype;
    const title = "ΣΊΣΥΦΟΣ ÉCLAIR ДЕЖУРНЫЙ";
    await server.gql(`mutation($t: String!) { createIncident(input: { title: $t }) { id } }`, { t: title }, server.admin.token);
    for (const search of ["σίσυφος", "éclair", "дежурный", "ÉCLAIR Дежурный"]) {
      const found = await server.gql(
        `query($s: String) { incidents(filter: { search: $s }) { nodes { title } } }`,
        { s: search },
        server.admin.token,
      );
      expect(found.data?.incidents.nodes, `${search} (lc_ctype ${ctype})`).toEqual([{ title }]);
    }
  });

  it("fails requests cleanly while the database is unreachable, and recovers when it is back", async () => {
    const name = new URL(server.db.url).pathname.slice(1);
    const query = `{ incidents(first: 1) { totalCount } }`;
    expect((await server.gql(query, {}, server.admin.token)).errors).toBeUndefined();
    // An outage of this database only (the server is shared by parallel test files): no new connections, and
    // every open one cut, as a restart or a network failure would.
    await postgresAdminQuery(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await server.db.exec(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    try {
      for (let i = 0; i < 3; i++) {
        const during = await server.gql(query, {}, server.admin.token);
        expect(during.status).toBe(200);
        expect(during.errors).toEqual([{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
      }
      expect((await fetch(`${server.base}/readyz`)).status).toBe(503);
      expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    } finally {
      await postgresAdminQuery(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    }
    const after = await server.gql(query, {}, server.admin.token);
    expect(after.errors).toBeUndefined();
    expect(after.data.incidents.totalCount).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
  });

  it("survives its connections being cut between requests (a database restart)", async () => {
    const query = `{ me { id } }`;
    expect((await server.gql(query, {}, server.admin.token)).errors).toBeUndefined();
    await server.db.exec(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The pool dropped the dead connections while they were idle; the next request opens a new one.
    const after = await server.gql(query, {}, server.admin.token);
    expect(after.errors).toBeUndefined();
    expect(after.data.me.id).toBe(server.admin.id);
  });
});

describe.runIf(onPostgres)("PostgreSQL: several instances on one new database", () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopAllChildServers();
    await cleanup?.();
    cleanup = undefined;
  });

  it("start together (one migrates, the others wait for the lock), survive a cut, and agree on one ADMIN", async () => {
    const database = await tempDatabase("incident-api-pg-instances-");
    cleanup = database.remove;
    const servers = await Promise.all([0, 1, 2].map(() => startChildServer({ dbPath: database.dbPath })));
    expect(await database.scalar("SELECT count(*) FROM drizzle.__drizzle_migrations")).toBeGreaterThan(0);

    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => servers[i % 3]!.gql(SIGN_UP, signUpInput(i))));
    expect(results.map((result) => result.errors)).toEqual(results.map(() => undefined));
    expect(results.filter((result) => result.data.signUp.user.role === "ADMIN")).toHaveLength(1);

    await database.exec(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const server of servers) {
      const me = await server.gql(`{ me { id } }`, {}, results[0]!.data.signUp.token);
      expect(me.errors, server.output()).toBeUndefined();
      expect(server.process.exitCode).toBeNull();
    }
    for (const server of servers) expect(await server.stop()).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe("the first user of an empty database", () => {
  let database: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    database = await createTestDatabase("incident-api-first-user-");
    app = await startApp(loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", DATABASE_URL: database.url }));
  });
  afterAll(async () => {
    await app?.close();
    await database?.remove();
  });

  it("is the only ADMIN even when sign-ups race", async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => post(app.url, SIGN_UP, signUpInput(i))));
    expect(results.map((result) => result.body.errors)).toEqual(results.map(() => undefined));
    const roles = results.map((result) => result.body.data.signUp.user.role as string);
    expect(roles.filter((role) => role === "ADMIN")).toHaveLength(1);
    expect(roles.filter((role) => role === "VIEWER")).toHaveLength(7);
  });

  it("is unique by email even when the same sign-up races: one succeeds, the others get CONFLICT", async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => post(app.url, SIGN_UP, signUpInput(99))));
    const codes = results.map((result) => result.body.errors?.[0]?.extensions?.code ?? "ok").sort();
    expect(codes).toEqual(["CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT", "ok"]);
  });
});
