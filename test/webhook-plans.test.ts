// The dispatcher's statements and the delivery pages walk indexes: no full scan of webhook_deliveries and no sort,
// however large the outbox grows. EXPLAIN QUERY PLAN of the statements the repository really runs.
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { sqliteBackend } from "../src/db/sql-backend.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { createWebhookRepository, type WebhookRepository } from "../src/modules/webhooks/webhook.repository.js";
import { onPostgres } from "./support/database.js";
import { recordStatements } from "./support/statement-recorder.js";

let dir: string;
let handle: SqliteHandle;
let webhooks: WebhookRepository;
let executed: Array<{ source: string; params: unknown[] }> = [];

describe.skipIf(onPostgres)("query plans of the webhook dispatcher (SQLite; skipped with TEST_DATABASE=postgres)", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "incident-webhook-plans-"));
    handle = openSqlite({ path: join(dir, "plans.db"), busyTimeoutMs: 5000 });
    applyMigrations(handle.client, migrationsFolder("sqlite"));
    const now = Date.now();
    handle.client.exec(`INSERT INTO webhook_endpoints (url, secret, secret_hint, created_at, updated_at) VALUES
      ('http://127.0.0.1:1/a', 'whsec_a', 'a', ${now}, ${now}), ('http://127.0.0.1:1/b', 'whsec_b', 'b', ${now}, ${now})`);
    const insert = handle.client.prepare(
      `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, delivered_at, created_at)
       VALUES (?, ?, 'INCIDENT_UPDATED', '{}', ?, 1, ?, ?, ?)`,
    );
    handle.client.transaction(() => {
      // 20,000 delivered, 2,000 pending over 100 incidents, on two endpoints: the first pending one of each incident
      // is due (its head), the others wait behind it.
      for (let i = 0; i < 22_000; i++) {
        const pending = i >= 20_000;
        const head = pending && i < 20_100;
        insert.run(1 + (i % 2), i % 100, pending ? "PENDING" : "DELIVERED", head ? now : null, pending ? null : now, now);
      }
    })();
    handle.client.exec("ANALYZE");
    recordStatements(handle.client, (source, params) => executed.push({ source, params }));
    webhooks = createWebhookRepository(sqliteBackend(handle));
  });

  afterAll(() => {
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function plans(work: () => Promise<unknown>) {
    executed = [];
    await work();
    const explain = new Database(join(dir, "plans.db"), { readonly: true });
    try {
      return executed.map(({ source, params }) => ({
        source,
        plan: (explain.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join("\n"),
      }));
    } finally {
      explain.close();
    }
  }

  it("an idle turn, a claim, a settled head, a redelivery and the delivery pages search their indexes", async () => {
    const now = new Date(Date.now() + 1_000);
    const found = await plans(async () => {
      expect(await webhooks.anyDue(now)).toBe(true);
      const turn = await webhooks.settle("claimer", { finished: [], released: [], claim: { now, leaseUntil: new Date(now.getTime() + 60_000), limit: 32, busyEndpoints: [2] } });
      expect(turn.claimed).toHaveLength(32);
      expect(turn.claimed.every((delivery) => delivery.endpointId === 1)).toBe(true); // endpoint 2 is busy
      expect(new Set(turn.claimed.map((delivery) => `${delivery.endpointId}:${delivery.incidentId}`)).size).toBe(32); // one per incident
      const delivered = { status: "DELIVERED" as const, statusCode: 200, error: null, nextAttemptAt: null, deliveredAt: now };
      const settled = await webhooks.settle("claimer", { finished: [{ id: turn.claimed[0]!.id, outcome: delivered }], released: [] });
      expect(settled.kept).toEqual([true]);
      expect(await webhooks.redeliver(1, new Date(Number(handle.client.prepare("SELECT created_at FROM webhook_deliveries WHERE id = 1").pluck().get())), now)).toMatchObject({
        status: "PENDING",
        nextAttemptAt: null, // incident 0 of endpoint 1 has pending deliveries: it waits behind them
      });
      await webhooks.deliveryPages([1, 2], 20, undefined, ["DELIVERED", "PENDING"]);
      await webhooks.deliveryCounts([1, 2], ["PENDING"]);
    });
    for (const { source, plan } of found) {
      const context = `${source}\n${plan}`;
      expect(plan, context).not.toMatch(/^SCAN webhook_deliveries(?! USING)/m);
      // count(*) counts; the claim sorts what it found, at most `perEndpoint` rows of each endpoint.
      if (!/count\(\*\)|webhook_deliveries_endpoint_due_idx/.test(plan)) expect(plan, context).not.toMatch(/USE TEMP B-TREE/);
    }
    const text = found.map((entry) => entry.plan).join("\n");
    expect(text).toMatch(/webhook_deliveries_endpoint_due_idx/);
    expect(text).toMatch(/webhook_deliveries_order_idx/);
    expect(text).toMatch(/webhook_deliveries_endpoint_idx/);
  });
});
