import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestBackend, type TestDatabase } from "./database.js";
import type { GraphQLResponse } from "./server.js";

// The built server (`npm run build`, which `npm test` runs first) started as a real child process, so that a
// test can kill it with SIGKILL, run two of them on one SQLite file, and so on.

export const MAIN_JS = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));

/** A JWT secret of more than 32 bytes, shared by every child that should accept the others' tokens. */
export const SHARED_JWT_SECRET = "reliability-tests-shared-secret-0123456789abcdef";

export interface ChildServer {
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  base: string;
  pid: number;
  process: ChildProcess;
  /** The last lines the child wrote on stdout and stderr, for failure messages. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** Sends `signal` and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown), then SIGKILL if it is still up after `graceMs`. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ChildServerOptions {
  dbPath: string;
  /** Overrides of the defaults below; `undefined` leaves a variable unset (JWT_SECRET, say). */
  env?: Record<string, string | undefined>;
  readyTimeoutMs?: number;
  /** Working directory of the child; a directory without a `.env` file by default (the temp dir of the db). */
  cwd?: string;
  /** Options for Node itself, such as `--max-old-space-size=256`. */
  nodeArgs?: string[];
}

const running = new Set<ChildServer>();

/** Environment variables passed through to children; every configuration variable is set explicitly. */
const PASS_THROUGH = ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "SYSTEMROOT"];

export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  const env: Record<string, string | undefined> = {};
  for (const name of PASS_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  Object.assign(env, {
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    DATABASE_URL: databaseUrls.get(options.dbPath) ?? `file:${options.dbPath}`,
    JWT_SECRET: SHARED_JWT_SECRET,
    ...options.env,
  });
  for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN_JS], {
    cwd: options.cwd ?? join(options.dbPath, ".."),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });

  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > 200) tail.shift();
  };
  const output = () => tail.join("\n");

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });

  // Both pipes are always drained: at LOG_LEVEL=info every request writes a line, and a full pipe would block the child.
  let readyUrl: ((url: string) => void) | undefined;
  const ready = new Promise<string>((resolve) => (readyUrl = resolve));
  let pending = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      remember(line);
      if (readyUrl && line.includes("Incident API ready")) {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === "Incident API ready" && entry.url) readyUrl(entry.url);
        } catch {
          // not a JSON log line
        }
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    for (const line of chunk.split("\n")) if (line) remember(`[stderr] ${line}`);
  });

  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  let url: string;
  try {
    url = await Promise.race([
      ready,
      exited.then(({ code, signal }) => {
        throw new Error(`child server exited before it was ready (code ${code}, signal ${signal}):\n${output()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`child server not ready after ${timeoutMs} ms:\n${output()}`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }

  const gql = async (query: string, variables?: Record<string, unknown>, token?: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await response.json()) as any;
    return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, body };
  };

  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const result = await exited;
    running.delete(server);
    return result;
  };

  const server: ChildServer = {
    url,
    base: url.replace(/\/graphql$/, ""),
    pid: child.pid!,
    process: child,
    output,
    exited,
    gql,
    kill,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return kill();
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await kill("SIGTERM");
      } finally {
        clearTimeout(timer);
      }
    },
  };
  running.add(server);
  return server;
}

/** Stops every child started by this module that is still running; for afterEach/afterAll. */
export async function stopAllChildServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop(2_000)));
  running.clear();
}

/** DATABASE_URL of each database made by `tempDatabase`, by its `dbPath`: what a child started on it uses. */
const databaseUrls = new Map<string, string>();

/**
 * A fresh temporary directory with the path of an SQLite file inside it; with TEST_DATABASE=postgres also a fresh
 * PostgreSQL database, which every child started with this `dbPath` serves (`backend` picks one whatever the run's
 * backend is). `remove()` drops it and the directory.
 */
export async function tempDatabase(prefix = "incident-api-child-", backend?: TestBackend): Promise<TestDatabase> {
  const database = await createTestDatabase(prefix, backend);
  databaseUrls.set(database.dbPath, database.url);
  return {
    ...database,
    async remove() {
      databaseUrls.delete(database.dbPath);
      await database.remove();
    },
  };
}
