import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { openDatabase, type AppDatabase } from "../src/db/open-database.js";
import { demoServices } from "../scripts/demo-quarter.js";
import { templateEvidence } from "../src/modules/insights/template-evidence.js";
import { createMetrics } from "../src/shared/metrics.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

// `npm run seed`: a realistic quarter through the product's own services, the same story on every run, refused on
// a database that has incidents unless --force. Runs the built script (`npm run build`, which `npm test` runs first).

const SEED_JS = fileURLToPath(new URL("../dist/scripts/seed.js", import.meta.url));
/** A seed takes seconds on SQLite and tens of seconds on PostgreSQL on a busy machine. */
const SLOW = { timeout: 240_000 };

const runSeed = (database: TestDatabase, ...args: string[]) => runSeedWith(database, {}, ...args);
const runSeedWith = (database: TestDatabase, env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [SEED_JS, ...args], {
    cwd: database.dir,
    env: { PATH: process.env.PATH, DATABASE_URL: database.url, LOG_LEVEL: "silent", ...env },
    encoding: "utf8",
    timeout: 230_000,
  });

let first: TestDatabase;
let app: AppDatabase | undefined;
beforeAll(async () => {
  if (!existsSync(SEED_JS)) throw new Error(`${SEED_JS} is missing: run npm run build`);
  first = await createTestDatabase("incident-seed-");
});
afterAll(async () => {
  await app?.close();
  await first?.remove();
});

/** The incidents' titles in the order they were written. */
const story = async (database: TestDatabase) => (await database.query<{ title: string }>("SELECT title FROM incidents ORDER BY id")).map((row) => row.title);

describe("npm run seed", () => {
  it("fills an empty database with a quarter of services, alert-opened and human-opened incidents, timelines and merges", SLOW, async () => {
    const seeded = runSeed(first);
    expect(seeded.status, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/Seeded \d+ incidents/);
    const count = await first.scalar("SELECT count(*) FROM incidents");
    expect(count).toBeGreaterThan(1000);
    expect(count).toBeLessThan(3000);
    expect(await first.scalar("SELECT count(*) FROM services")).toBe(8);
    expect(await first.scalar("SELECT count(*) FROM integrations")).toBe(7);
    expect(await first.scalar("SELECT count(*) FROM incidents WHERE reporter_id IS NULL")).toBeGreaterThan(count / 2);
    expect(await first.scalar("SELECT count(*) FROM incidents WHERE reporter_id IS NOT NULL")).toBeGreaterThan(50);
    expect(await first.scalar("SELECT count(*) FROM incidents WHERE merged_into IS NOT NULL")).toBeGreaterThan(10);
    expect(await first.scalar("SELECT count(*) FROM incidents WHERE resolved_by_system")).toBeGreaterThan(100);
    expect(await first.scalar("SELECT count(*) FROM incident_logs WHERE kind = 'NOTE'")).toBeGreaterThan(100);
    expect(await first.scalar("SELECT count(*) FROM incident_logs WHERE kind = 'MERGE'")).toBeGreaterThan(20);
    // Every timeline reads forward in time, and no incident was acknowledged or resolved before it was created.
    expect(await first.scalar("SELECT count(*) FROM incident_logs a JOIN incident_logs b ON b.incident_id = a.incident_id AND b.id > a.id AND b.created_at < a.created_at")).toBe(0);
    expect(await first.scalar("SELECT count(*) FROM incidents WHERE acknowledged_at < created_at OR resolved_at < created_at OR updated_at < created_at")).toBe(0);
    expect(await first.integrityProblems()).toEqual([]);
    // Each problem has one alert name, as a Prometheus rule does, whatever its title says.
    const names = (await first.query<{ labels: string | Record<string, string> }>("SELECT labels FROM alerts")).map((row) => (typeof row.labels === "string" ? JSON.parse(row.labels) : row.labels).alertname);
    expect(new Set(names)).toEqual(new Set(demoServices.filter((service) => service.source !== "PEOPLE").flatMap((service) => service.families.map((family) => family.alertName))));
  });

  it("gives the outlier classification something to show: FREQUENT, RARE and ANOMALY incidents", async () => {
    const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: first.url, LOG_LEVEL: "silent" });
    app = await openDatabase(config, createMetrics(), pino({ level: "silent" }));
    const rows = await app.incidents.page({ criteria: {}, sort: { field: "createdAt", descending: true }, first: 800 });
    const classes = new Set((await templateEvidence(app.insights, rows)).map((evidence) => evidence.outlier));
    expect([...classes].sort()).toEqual(["ANOMALY", "FREQUENT", "RARE", null].sort());
  });

  it("refuses a database that has incidents, unless --force, and then tells the same story again", SLOW, async () => {
    const before = await first.scalar("SELECT count(*) FROM incidents");
    const refused = runSeed(first);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("--force");
    expect(await first.scalar("SELECT count(*) FROM incidents")).toBe(before);
    const forced = runSeed(first, "--force");
    expect(forced.status, forced.stderr).toBe(0);
    expect(await first.scalar("SELECT count(*) FROM incidents")).toBe(2 * before);
    const titles = await story(first);
    expect(titles.slice(before)).toEqual(titles.slice(0, before));
  });

  it("refuses, writing nothing, a database whose accounts are its own (its admin is not the demo's), even with --force, and suggests another database, not --force", SLOW, async () => {
    const own = await createTestDatabase("incident-seed-accounts-");
    const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: own.url, LOG_LEVEL: "silent" });
    const db = await openDatabase(config, createMetrics(), pino({ level: "silent" }));
    try {
      // What the README's tour leaves behind: its own admin and an incident.
      const owner = await db.users.create({ email: "owner@company.example", name: "Owner", passwordHash: "x" }, () => "ADMIN");
      await db.incidents.create({ title: "Checkout returns 502", description: "", priority: "CRITICAL", reporterId: owner.id, assigneeId: null, serviceId: null, labels: [] });
      for (const args of [[], ["--force"]]) {
        const refused = runSeed(own, ...args);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain("nothing was written");
        expect(refused.stderr).toContain("DATABASE_URL=file:./data/demo.db npm run seed");
        expect(refused.stderr).not.toContain("--force");
      }
      expect(await own.scalar("SELECT count(*) FROM users")).toBe(1);
      expect(await own.scalar("SELECT count(*) FROM incidents")).toBe(1);
      expect(await own.scalar("SELECT count(*) FROM services")).toBe(0);
    } finally {
      await db.close();
      await own.remove();
    }
  });

  it("refuses a production server: the demo accounts share a published password", SLOW, async () => {
    const empty = await createTestDatabase("incident-seed-production-");
    try {
      const refused = runSeedWith(empty, { NODE_ENV: "production", JWT_SECRET: "a-production-secret-of-enough-length-0123456789" });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("production");
    } finally {
      await empty.remove();
    }
  });
});
