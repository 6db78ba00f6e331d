// `npm run bench -- --flood`: one signed-up user floods the API with distinct documents of the largest allowed shape
// while a second user asks `{ me { name } }` in a loop. Prints the second user's latency before and during the flood,
// the flood's own throughput and refusals, and the API's heap and RSS, sampled from /metrics.
//
// Options (BENCH_<NAME> works too): --flood-connections N (16), --flood-seconds S (15), --heap MB (Node's
// --max-old-space-size for the API; none by default), --incidents N seeded (200).
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { largestDocument } from "./flood-documents.js";
import { seedIncidents } from "./seed.js";

const MAIN_JS = fileURLToPath(new URL("../src/main.js", import.meta.url));

export interface FloodOptions {
  connections: number;
  seconds: number;
  heapMb: number | undefined;
  incidents: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

async function post(url: string, query: string, token?: string, variables?: unknown) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: unknown[] } };
}

async function signUp(url: string, name: string): Promise<string> {
  const email = `${name.toLowerCase()}-${Date.now()}@bench.test`;
  const answer = await post(url, `mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, undefined, {
    i: { email, name, password: "correct horse battery" },
  });
  if (!answer.body.data?.signUp) throw new Error(`sign-up failed: ${JSON.stringify(answer.body)}`);
  return answer.body.data.signUp.token;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
};
const ms = (value: number) => value.toFixed(1).padStart(7);

/** `{ me { name } }` one after another for `seconds`, 10 ms apart: the latency a second user sees. */
async function probe(url: string, token: string, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const started = performance.now();
    const answer = await post(url, `{ me { name } }`, token);
    if (answer.body.data?.me?.name !== "Probe") throw new Error(`probe failed: ${JSON.stringify(answer.body)}`);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return latencies;
}

async function memory(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return { heap: value("nodejs_heap_size_used_bytes"), rss: value("process_resident_memory_bytes") };
}

export async function runFlood(options: FloodOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "incident-flood-"));
  const dbPath = join(dir, "incidents.db");
  const port = await freePort();
  let api: ChildProcess | undefined;
  try {
    api = spawn(process.execPath, [...(options.heapMb ? [`--max-old-space-size=${options.heapMb}`] : []), MAIN_JS], {
      cwd: dir,
      // Development, as a fresh `npm start` runs: sign-up open, no cost budget; the fair share per client applies.
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "development", LOG_LEVEL: "warn", PORT: String(port), DATABASE_URL: `file:${dbPath}` },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => api!.once("exit", resolve));
    const base = `http://127.0.0.1:${port}`;
    const url = `${base}/graphql`;
    for (let tries = 0; ; tries++) {
      if ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      if (tries > 300) throw new Error("the API did not become ready");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await signUp(url, "Admin");
    const db = new Database(dbPath, { timeout: 10_000 });
    seedIncidents(db, { incidents: options.incidents, logsPerIncident: 10 });
    db.close();
    const flooder = await signUp(url, "Flooder");
    const prober = await signUp(url, "Probe");

    const quiet = summary(await probe(url, prober, 3));
    let sent = 0;
    let refused = 0;
    let failed = 0;
    let peakHeap = 0;
    let peakRss = 0;
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        const { heap, rss } = await memory(base);
        peakHeap = Math.max(peakHeap, heap);
        peakRss = Math.max(peakRss, rss);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const started = Date.now();
    const floodEnd = started + options.seconds * 1000;
    const flood = Promise.all(
      Array.from({ length: options.connections }, async () => {
        while (Date.now() < floodEnd) {
          const answer = await post(url, largestDocument(sent++), flooder);
          if (answer.status === 429) refused += 1;
          else if (answer.status !== 200 || answer.body.errors) failed += 1;
        }
      }),
    );
    const during = summary(await probe(url, prober, options.seconds));
    await flood;
    flooding = false;
    await sampler;
    const elapsed = (Date.now() - started) / 1000;
    const after = await memory(base);

    const line = (label: string, s: ReturnType<typeof summary>) =>
      `${label.padEnd(28)} n=${String(s.n).padStart(5)}  p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  max ${ms(s.max)} ms`;
    process.stdout.write(
      [
        `## Flood: ${options.connections} connections of distinct 58 KB documents from one user, ${options.seconds} s` +
          (options.heapMb ? `, API heap capped at ${options.heapMb} MB` : ""),
        line("second user, quiet", quiet),
        line("second user, during flood", during),
        `flood: ${sent} sent, ${(sent / elapsed).toFixed(0)}/s, ${refused} refused (429), ${failed} failed`,
        `API memory: peak heap ${(peakHeap / 2 ** 20).toFixed(0)} MB, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB, ` +
          `heap after ${(after.heap / 2 ** 20).toFixed(0)} MB; process ${api.exitCode === null ? "still up" : `exited ${api.exitCode}`}`,
        "",
      ].join("\n"),
    );
    if (api.exitCode !== null) throw new Error(`the API exited during the flood (code ${await exited})`);
  } finally {
    api?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
