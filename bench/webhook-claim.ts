// One dispatcher turn (the claim, under SQLite's write lock) and the idle check (`anyDue`), timed with a large
// backlog that cannot be sent now: behind a disabled endpoint, behind a busy (slow) endpoint, and queued behind a
// retrying head. Nothing else is due, so each turn claims nothing: what it costs is the walk alone.
//
// Run: npm run build && node dist/bench/webhook-claim.js [--pending 50000] [--turns 40]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { sqliteBackend } from "../src/db/sql-backend.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { createWebhookRepository } from "../src/modules/webhooks/webhook.repository.js";

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const pending = argument("pending", 50_000);
const turns = argument("turns", 40);

interface Scenario {
  label: string;
  /** Incidents the backlog is spread over. */
  incidents: number;
  enabled: boolean;
  busy: boolean;
  /** The head of each chain waits for a retry an hour from now. */
  retrying: boolean;
}

const scenarios: Scenario[] = [
  { label: "disabled endpoint, 5,000 incidents", incidents: 5_000, enabled: false, busy: false, retrying: false },
  { label: "slow endpoint at its in-flight cap, 50,000 incidents", incidents: pending, enabled: true, busy: true, retrying: false },
  { label: "one incident, its head retrying in 1 h", incidents: 1, enabled: true, busy: false, retrying: true },
];

/** The backlog as the outbox writes it: every pending delivery due at its creation time, or (after the fix) only heads. */
function fill(handle: SqliteHandle, scenario: Scenario) {
  const db = handle.client;
  const now = Date.now();
  db.exec(`DELETE FROM webhook_deliveries; DELETE FROM webhook_endpoints;`);
  db.prepare(
    `INSERT INTO webhook_endpoints (id, url, enabled, secret, secret_hint, created_at, updated_at) VALUES
       (1, 'http://127.0.0.1:1/stuck', ?, 'whsec_a', 'a', ?, ?), (2, 'http://127.0.0.1:1/healthy', 1, 'whsec_b', 'b', ?, ?)`,
  ).run(scenario.enabled ? 1 : 0, now, now, now, now);
  const headsOnly = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'webhook_deliveries_endpoint_due_idx'`).get() !== undefined;
  const insert = db.prepare(
    `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
     VALUES (1, ?, 'INCIDENT_UPDATED', '{}', 'PENDING', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < pending; i++) {
      const head = i < scenario.incidents;
      const due = head && scenario.retrying ? now + 3_600_000 : now - 1_000;
      insert.run(i % scenario.incidents, head && scenario.retrying ? 1 : 0, head || !headsOnly ? due : null, now - 1_000);
    }
  })();
  db.exec("ANALYZE");
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), "incident-bench-claim-"));
const handle = openSqlite({ path: join(dir, "claim.db"), busyTimeoutMs: 5_000 });
try {
  applyMigrations(handle.client, migrationsFolder("sqlite"));
  const webhooks = createWebhookRepository(sqliteBackend(handle));
  console.log(`${pending} pending deliveries, ${turns} turns each (claim limit 32)`);
  for (const scenario of scenarios) {
    fill(handle, scenario);
    const busy = scenario.busy ? [1] : [];
    const claimMs: number[] = [];
    const anyDueMs: number[] = [];
    let due = false;
    let claimed = 0;
    for (let i = 0; i < turns; i++) {
      const now = new Date();
      let started = performance.now();
      due = await (webhooks.anyDue as (now: Date, busy?: readonly number[]) => Promise<boolean>)(now, busy);
      anyDueMs.push(performance.now() - started);
      started = performance.now();
      const turn = await webhooks.settle("bench", {
        finished: [],
        released: [],
        claim: { now, leaseUntil: new Date(now.getTime() + 60_000), limit: 32, busyEndpoints: busy },
      });
      claimMs.push(performance.now() - started);
      claimed += turn.claimed.length;
    }
    console.log(
      `${scenario.label}: claim turn p50 ${median(claimMs).toFixed(3)} ms, max ${Math.max(...claimMs).toFixed(3)} ms; ` +
        `anyDue ${due} p50 ${median(anyDueMs).toFixed(3)} ms; claimed ${claimed}`,
    );
  }
} finally {
  handle.close();
  rmSync(dir, { recursive: true, force: true });
}
