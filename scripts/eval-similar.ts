// `npm run eval:similar [-- --set path/to/set.json]`: a labelled set (test/fixtures/similar-incidents.json unless
// --set names another, relative to the working directory), loaded through the API into a fresh database (SQLite in a temporary directory; EVAL_DATABASE_URL=postgres://... a fresh PostgreSQL database
// of its own on that server), then precision@5 and MRR of Incident.similar, of a BM25-only baseline and of a
// word-overlap one.
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { pino } from "pino";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { sqliteBackend, postgresBackend } from "../src/db/sql-backend.js";
import { openSqlite } from "../src/db/sqlite.js";
import { openPostgres } from "../src/db/postgres.js";
import { createIntelligenceRepository } from "../src/modules/intelligence/intelligence.repository.js";
import { evaluateSimilarity, formatEvaluation, loadLabelledSet, readLabelledSet, type Gql } from "./similar-eval.js";

const { values: args } = parseArgs({ options: { set: { type: "string" } } });
const setUrl = args.set ? pathToFileURL(resolve(args.set)) : new URL("../../test/fixtures/similar-incidents.json", import.meta.url);
const serverUrl = process.env.EVAL_DATABASE_URL;
const dir = mkdtempSync(join(tmpdir(), "incident-eval-"));
const databaseName = `eval_similar_${process.pid}`;
let databaseUrl = `file:${join(dir, "eval.db")}`;
let admin: pg.Pool | undefined;
if (serverUrl) {
  admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  await admin.query(`CREATE DATABASE ${databaseName}`);
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  databaseUrl = url.toString();
}

const app = await startApp(loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", DATABASE_URL: databaseUrl, RATE_LIMIT_POINTS: "0" }), pino({ level: "silent" }));
try {
  let token: string | undefined;
  const gql: Gql = async (query, variables) => {
    const response = await fetch(app.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const signUp = await gql(`mutation { signUp(input: { email: "eval@example.com", name: "Eval", password: "correct horse battery" }) { token } }`, {});
  token = signUp.data.signUp.token;
  const set = readLabelledSet(setUrl);
  const started = Date.now();
  const ids = await loadLabelledSet(gql, set);
  console.log(`${setUrl.pathname}: ${set.length} incidents loaded in ${Date.now() - started} ms (${serverUrl ? "PostgreSQL" : "SQLite"})`);
  const pgHandle = serverUrl ? openPostgres({ url: databaseUrl, poolSize: 2 }) : undefined;
  const sqliteHandle = serverUrl ? undefined : openSqlite({ path: databaseUrl.slice("file:".length), busyTimeoutMs: 5000 });
  const repository = createIntelligenceRepository(pgHandle ? postgresBackend(pgHandle) : sqliteBackend(sqliteHandle!));
  console.log(formatEvaluation(await evaluateSimilarity(gql, repository, set, ids)));
  await pgHandle?.close();
  sqliteHandle?.close();
} finally {
  await app.close();
  if (admin) {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await admin.end();
  }
  rmSync(dir, { recursive: true, force: true });
}
