// `npm run bench -- --intelligence [--intelligence-sizes 10000,100000] [--samples N] [--pg]`: search and similar
// incidents at 10,000 and 100,000 incidents. The database is seeded in bulk (one transaction of prepared inserts;
// the search index fills through its triggers, as in production), with texts drawn from the labelled set of
// test/fixtures varied with other hosts, numbers and words; then the API answers requests one at a time over HTTP
// and each kind's p50 and p99 are reported, with the growth from the smallest size to the largest.
import "reflect-metadata";
import Database from "better-sqlite3";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { seededRandom } from "../src/shared/seeded-random.js";

interface Options {
  sizes: number[];
  samples: number;
  postgresUrl?: string;
}

interface LabelledIncident {
  family: string;
  title: string;
  description: string;
  service: string | null;
  labels: { key: string; value: string }[];
}

const set = JSON.parse(readFileSync(new URL("../../test/fixtures/similar-incidents.json", import.meta.url), "utf8")) as LabelledIncident[];

// A vocabulary beyond the labelled set's, so that the index holds as many distinct terms as a real history.
const syllables = ["ka", "lo", "mi", "ra", "te", "zu", "pen", "dor", "vik", "sal", "mon", "tri", "bex", "qua", "nel", "fos"];
const next = seededRandom(7);
const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
const vocabulary = Array.from({ length: 20_000 }, () => Array.from({ length: 2 + Math.floor(next() * 3) }, () => pick(syllables)).join(""));
const vary = (text: string) => text.replace(/\d+/g, () => String(Math.floor(next() * 1000)));
const words = (n: number) => Array.from({ length: n }, () => pick(vocabulary)).join(" ");

/** How responders' notes start; the rest of each note is words of the history's vocabulary. */
const notePhrases = [
  "Checked the dashboards,",
  "Restarted the pods on",
  "Rolled back the last deploy of",
  "Paged the owning team about",
  "Root cause looks like",
  "Mitigated by scaling out",
  "Customer reports mention",
  "Error rate back to normal after",
];

export interface IncidentDraft {
  title: string;
  description: string;
  /** Timeline notes: a real history has them, and each is a document of the search index. */
  notes: string[];
  service: string | null;
  labels: { key: string; value: string }[];
  createdAt: number;
}

export function draftIncidents(count: number, now = Date.now()): IncidentDraft[] {
  return Array.from({ length: count }, (_, index) => {
    const base = pick(set);
    return {
      title: vary(base.title).slice(0, 200),
      description: `${vary(base.description)} ${words(Math.floor(next() * 6))}`,
      notes: Array.from({ length: Math.floor(next() * 4) }, () => `${pick(notePhrases)} ${words(3 + Math.floor(next() * 12))}`),
      service: base.service,
      labels: base.labels,
      // A year of history, oldest first.
      createdAt: now - Math.floor(((count - index) / count) * 365 * 86_400_000),
    };
  });
}

export async function seedSqlite(path: string, drafts: IncidentDraft[]): Promise<void> {
  const db = new Database(path);
  const services = new Map<string, number>();
  const insertService = db.prepare("INSERT INTO services (name, name_key, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id");
  const insertIncident = db.prepare(
    "INSERT INTO incidents (title, description, status, priority, service_id, created_at, updated_at) VALUES (?, ?, ?, 'MEDIUM', ?, ?, ?)",
  );
  const insertLabel = db.prepare("INSERT INTO incident_labels (incident_id, key, value) VALUES (?, ?, ?)");
  const insertNote = db.prepare("INSERT INTO incident_logs (incident_id, kind, message, created_at) VALUES (?, 'NOTE', ?, ?)");
  db.transaction(() => {
    for (const draft of drafts) {
      let serviceId: number | null = null;
      if (draft.service) {
        serviceId = services.get(draft.service) ?? null;
        if (serviceId === null) {
          serviceId = (insertService.get(draft.service, draft.service, draft.createdAt, draft.createdAt) as { id: number }).id;
          services.set(draft.service, serviceId);
        }
      }
      const status = next() < 0.9 ? "CLOSED" : "OPEN";
      const id = insertIncident.run(draft.title, draft.description, status, serviceId, draft.createdAt, draft.createdAt).lastInsertRowid;
      for (const label of draft.labels) insertLabel.run(id, label.key, label.value);
      for (const note of draft.notes) insertNote.run(id, note, draft.createdAt);
    }
  })();
  db.close();
}

export async function seedPostgres(url: string, drafts: IncidentDraft[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN");
    const names = [...new Set(drafts.map((draft) => draft.service).filter((name): name is string => name !== null))];
    const services = new Map<string, number>();
    for (const name of names) {
      const row = await client.query("INSERT INTO services (name, name_key, created_at, updated_at) VALUES ($1, $1, now(), now()) RETURNING id", [name]);
      services.set(name, Number(row.rows[0].id));
    }
    for (let from = 0; from < drafts.length; from += 5_000) {
      const batch = drafts.slice(from, from + 5_000);
      const ids = await client.query(
        `INSERT INTO incidents (title, description, status, priority, service_id, created_at, updated_at)
         SELECT t, d, s, 'MEDIUM', v, to_timestamp(c / 1000.0), to_timestamp(c / 1000.0)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::float8[]) AS x(t, d, s, v, c) RETURNING id`,
        [
          batch.map((draft) => draft.title),
          batch.map((draft) => draft.description),
          batch.map(() => (next() < 0.9 ? "CLOSED" : "OPEN")),
          batch.map((draft) => (draft.service ? services.get(draft.service)! : null)),
          batch.map((draft) => draft.createdAt),
        ],
      );
      const labels = batch.flatMap((draft, index) => draft.labels.map((label) => [ids.rows[index].id, label.key, label.value]));
      await client.query(`INSERT INTO incident_labels (incident_id, key, value) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`, [
        labels.map((label) => label[0]),
        labels.map((label) => label[1]),
        labels.map((label) => label[2]),
      ]);
      const notes = batch.flatMap((draft, index) => draft.notes.map((note) => [ids.rows[index].id, note, draft.createdAt] as const));
      await client.query(
        `INSERT INTO incident_logs (incident_id, kind, message, created_at)
         SELECT i, 'NOTE', m, to_timestamp(c / 1000.0) FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS x(i, m, c)`,
        [notes.map((note) => note[0]), notes.map((note) => note[1]), notes.map((note) => note[2])],
      );
    }
    await client.query("COMMIT");
    // As autovacuum leaves a table in steady state: statistics, and pages marked all-visible (index-only counts).
    await client.query("VACUUM ANALYZE");
  } finally {
    await client.end();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

export async function intelligenceBench(options: Options): Promise<void> {
  const results: { size: number; kind: string; p50: number; p99: number }[] = [];
  for (const size of options.sizes) {
    const dir = mkdtempSync(join(tmpdir(), "incident-bench-intelligence-"));
    let databaseUrl = `file:${join(dir, "bench.db")}`;
    const databaseName = `bench_intelligence_${process.pid}_${size}`;
    const admin = options.postgresUrl ? new pg.Client({ connectionString: options.postgresUrl }) : undefined;
    if (admin && options.postgresUrl) {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${databaseName}`);
      const url = new URL(options.postgresUrl);
      url.pathname = `/${databaseName}`;
      databaseUrl = url.toString();
    }
    const config = loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", DATABASE_URL: databaseUrl, RATE_LIMIT_POINTS: "0" });
    try {
      // Migrations first (an app started and stopped), then the bulk seed, then the measured app.
      await (await startApp(config, pino({ level: "silent" }))).close();
      const drafts = draftIncidents(size);
      const seedStarted = Date.now();
      if (admin) await seedPostgres(databaseUrl, drafts);
      else await seedSqlite(databaseUrl.slice("file:".length), drafts);
      process.stderr.write(`${size} incidents seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s\n`);
      const app = await startApp(config, pino({ level: "silent" }));
      try {
        const gql = async (query: string, variables: Record<string, unknown>, token?: string) => {
          const response = await fetch(app.url, {
            method: "POST",
            headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ query, variables }),
          });
          const body = (await response.json()) as { data?: any; errors?: unknown[] };
          if (body.errors) throw new Error(JSON.stringify(body.errors));
          return body.data;
        };
        const signUp = await gql(`mutation { signUp(input: { email: "bench@example.com", name: "Bench", password: "correct horse battery" }) { token } }`, {});
        const token = signUp.signUp.token as string;
        const kinds: [string, () => [string, Record<string, unknown>]][] = [
          [
            "similar(first: 5)",
            () => [`query($id: ID!) { incident(id: $id) { similar(first: 5) { score reasons { kind weight } incident { id title } } } }`, { id: String(1 + Math.floor(next() * size)) }],
          ],
          [
            "similarIncidents",
            () => {
              const draft = pick(set);
              return [`query($to: SimilarToInput!) { similarIncidents(to: $to) { score incident { id title } } }`, { to: { title: vary(draft.title), description: vary(draft.description) } }];
            },
          ],
          [
            "searchIncidents",
            () => {
              const title = pick(set).title.split(/\s+/).filter((word) => /^[a-z]{4,}$/i.test(word));
              const query = title.slice(0, 1 + Math.floor(next() * 2)).join(" ") || "disk";
              return [`query($q: String!) { searchIncidents(query: $q, first: 20) { score highlights incident { id title } } }`, { q: query }];
            },
          ],
        ];
        for (const [kind, request] of kinds) {
          for (let i = 0; i < 20; i++) await gql(...request(), token); // warm-up
          const times: number[] = [];
          for (let i = 0; i < options.samples; i++) {
            const [query, variables] = request();
            const started = performance.now();
            await gql(query, variables, token);
            times.push(performance.now() - started);
          }
          times.sort((a, b) => a - b);
          results.push({ size, kind, p50: percentile(times, 50), p99: percentile(times, 99) });
          process.stderr.write(`${size} ${kind}: p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms\n`);
        }
      } finally {
        await app.close();
      }
    } finally {
      if (admin) {
        await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
        await admin.end();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const smallest = Math.min(...options.sizes);
  const largest = Math.max(...options.sizes);
  process.stdout.write(`\nsearch and similar incidents (${options.postgresUrl ? "PostgreSQL" : "SQLite"}), one request at a time over HTTP, ${options.samples} requests each\n`);
  process.stdout.write(`| incidents | request | p50 ms | p99 ms | p50 growth from ${smallest} |\n| --- | --- | --- | --- | --- |\n`);
  for (const row of results) {
    const base = results.find((other) => other.size === smallest && other.kind === row.kind)!;
    const growth = row.size === smallest ? "" : `${(row.p50 / base.p50).toFixed(2)}x`;
    process.stdout.write(`| ${row.size} | ${row.kind} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${growth} |\n`);
  }
  void largest;
}
