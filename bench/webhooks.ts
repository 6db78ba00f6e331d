// `npm run bench` section "webhooks": what the outbox costs updateIncident (the same server, rounds alternating between
// no enabled endpoint and one enabled endpoint), and how fast the dispatcher empties a backlog into a local receiver
// that answers 200 at once. Called by bench/run.ts with its helpers.
import Database from "better-sqlite3";
import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Target } from "./load-target.js";

interface Comparison {
  api: { rps: number; p50: number; p99: number; failed: number };
  floor: { rps: number; p50: number; p99: number; failed: number };
}

export interface WebhookBenchDeps {
  /** The API server; `env` overrides its environment (the receiver is local: development allows http://127.0.0.1). */
  startApi(dir: string, databaseUrl: string, env: Record<string, string>): Promise<{ base: string; url: string; child: { pid: number; stop(graceMs?: number): Promise<unknown> } }>;
  /** Runs `node <args>` and waits for the {"port":N} line. */
  startFloor(args: string[], label: string): Promise<{ child: { pid: number; stop(graceMs?: number): Promise<unknown> }; base: string }>;
  compare(name: string, a: Target, b: Target, seconds: number, rounds: number, warmup: number): Promise<Comparison>;
  section(title: string): void;
  row(figure: string, a: string, b: string, ratio: string): void;
  fmt(value: number, digits?: number): string;
  busy(pid: number): void;
  duration: number;
  rounds: number;
  warmup: number;
  figures: Record<string, unknown>;
  /** Set: PostgreSQL, on a temporary database this makes. */
  postgresDatabase?: () => Promise<string>;
}

const RECEIVER_JS = fileURLToPath(new URL("./webhook-receiver.js", import.meta.url));

async function gql(url: string, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown };
  if (!body.data || body.errors) throw new Error(`bench request failed: ${JSON.stringify(body)}`);
  return body.data;
}

/** Runs one statement on the API's database, whichever backend it is. */
async function onDatabase(databaseUrl: string, sqlite: (db: Database.Database) => void, postgres: (client: pg.Client) => Promise<void>) {
  if (databaseUrl.startsWith("postgres")) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await postgres(client);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(databaseUrl.slice("file:".length), { timeout: 10_000 });
  try {
    sqlite(db);
  } finally {
    db.close();
  }
}

export async function webhookBench(deps: WebhookBenchDeps): Promise<void> {
  const { fmt } = deps;
  const receiverProcess = await deps.startFloor([RECEIVER_JS], "webhook receiver");
  deps.busy(receiverProcess.child.pid);
  const control = async (path: "/count" | "/hold" | "/answer") =>
    ((await (await fetch(`${receiverProcess.base}${path}`)).json()) as { received: number }).received;
  const receiverUrl = `${receiverProcess.base}/hook`;

  const dir = mkdtempSync(join(tmpdir(), "incident-bench-webhooks-"));
  const databaseUrl = deps.postgresDatabase ? await deps.postgresDatabase() : `file:${join(dir, "incidents.db")}`;
  const api = await deps.startApi(dir, databaseUrl, { NODE_ENV: "development", WEBHOOK_TIMEOUT: "120s" });
  deps.busy(api.child.pid);
  try {
    const { signUp } = await gql(api.url, `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`, {
      input: { email: "webhooks@example.com", name: "Bench", password: "correct horse battery staple" },
    });
    const token = signUp.token as string;
    const pool: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { createIncident } = await gql(api.url, `mutation($t: String!) { createIncident(input: { title: $t }) { id } }`, { t: `Bench ${i}` }, token);
      pool.push(createIncident.id);
    }
    const createEndpoint = async () => {
      const { createWebhookEndpoint } = await gql(
        api.url,
        `mutation($url: String!) { createWebhookEndpoint(input: { url: $url }) { endpoint { id } } }`,
        { url: receiverUrl },
        token,
      );
      return createWebhookEndpoint.endpoint.id as string;
    };
    let endpointId = await createEndpoint();
    const setEnabled = (enabled: boolean) => async () => {
      await gql(api.url, `mutation($id: ID!, $e: Boolean!) { updateWebhookEndpoint(id: $id, input: { enabled: $e }) { id } }`, { id: endpointId, e: enabled }, token);
    };

    // ------------------------------------------------------------------------------------------ outbox overhead
    let n = 0;
    const update = (before: () => Promise<void>): Target => ({
      url: api.url,
      headers: { authorization: `Bearer ${token}` },
      body: () =>
        JSON.stringify({
          query: "mutation($id: ID!, $t: String!) { updateIncident(id: $id, input: { title: $t }) { id version } }",
          variables: { id: pool[n % pool.length], t: `Bench title ${n++}` },
        }),
      onBody: (text) => text.includes('"updateIncident"') && !text.includes('"errors"'),
      before,
    });
    const overhead = async (label: string, key: string) => {
      const result = await deps.compare(`updateIncident: none | ${label}`, update(setEnabled(false)), update(setEnabled(true)), deps.duration, deps.rounds, deps.warmup);
      const [without, withEndpoint] = [result.api, result.floor];
      const slower = 1 - withEndpoint.rps / without.rps;
      deps.row(`updateIncident mutations/s: no endpoint | ${label}`, fmt(without.rps), fmt(withEndpoint.rps), `${fmt(100 * slower, 1)}% slower`);
      deps.row(`updateIncident p50 ms: no endpoint | ${label}`, fmt(without.p50, 2), fmt(withEndpoint.p50, 2), "");
      deps.figures[key] = { without, withEndpoint, slower };
    };
    // The outbox alone: the receiver holds every request, so the dispatcher only waits (32 attempts in flight) while
    // deliveries pile up; each update writes its delivery row in its transaction.
    deps.section("webhooks: updateIncident without an endpoint, and with one enabled (same server, alternating rounds)");
    await control("/hold");
    await overhead("endpoint, outbox write only (receiver holding)", "webhookOutboxWrite");
    await control("/answer");
    // Write and delivery: every update is also sent, by the same process, to a receiver answering 200 at once.
    await gql(api.url, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: endpointId }, token);
    endpointId = await createEndpoint();
    const sentBefore = await control("/count");
    await overhead("endpoint, each update also delivered", "webhookOutboxAndDelivery");
    // The proof that those rounds did deliver: what the receiver got meanwhile.
    deps.row("webhooks received during those rounds", fmt((await control("/count")) - sentBefore), "", "");
    await setEnabled(false)();

    // ------------------------------------------------------------------------------------------ dispatch rate
    // A backlog written straight into the outbox while the endpoint is off, then switched on: the time until the
    // receiver has every one of them. Spread over 200 incidents (up to 32 in flight), then all on one incident
    // (strictly one after the other: the ordering rule).
    deps.section("webhooks: deliveries per second to a local receiver answering 200 at once");
    const backlog = async (label: string, count: number, incidents: number) => {
      const now = Date.now();
      await onDatabase(
        databaseUrl,
        (db) => {
          // As the outbox writes them: due (the head) only when nothing of the endpoint and incident is pending yet.
          const insert = db.prepare(
            `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
             VALUES (@endpoint, @incident, 'INCIDENT_UPDATED', @body, 'PENDING', 0, CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries p
               WHERE p.endpoint_id = @endpoint AND p.incident_id = @incident AND p.status = 'PENDING') THEN NULL ELSE @now END, @now)`,
          );
          db.transaction(() => {
            for (let i = 0; i < count; i++) {
              insert.run({ endpoint: Number(endpointId), incident: Number(pool[i % incidents]), body: `{"type":"incident.updated","n":${i}}`, now });
            }
          })();
        },
        async (client) => {
          await client.query(
            `INSERT INTO webhook_deliveries (endpoint_id, incident_id, event_type, body, status, attempts, next_attempt_at, created_at)
             SELECT $1, ($2::bigint[])[1 + (i % $3)], 'INCIDENT_UPDATED', '{"type":"incident.updated","n":' || i || '}', 'PENDING', 0,
               CASE WHEN i < $3 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = $1
                 AND p.incident_id = ($2::bigint[])[1 + (i % $3)] AND p.status = 'PENDING') THEN now() END, now()
             FROM generate_series(0, $4 - 1) AS i`,
            [Number(endpointId), pool.map(Number), incidents, count],
          );
        },
      );
      const start = await control("/count");
      const started = performance.now();
      await setEnabled(true)();
      const deadline = Date.now() + 300_000;
      let received = start;
      while (received - start < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        received = await control("/count");
      }
      const seconds = (performance.now() - started) / 1000;
      await setEnabled(false)();
      const rate = (received - start) / seconds;
      deps.row(`deliveries/s, ${label}`, fmt(rate), "", `${fmt(received - start)} in ${fmt(seconds, 2)} s`);
      return rate;
    };
    deps.figures.webhookDeliveriesPerSecond = {
      spread: await backlog("5,000 over 200 incidents", 5_000, 200),
      oneIncident: await backlog("500 on one incident", 500, 1),
    };
  } finally {
    await api.child.stop();
    await receiverProcess.child.stop();
  }
}
