import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresBackend, sqliteBackend } from "../src/db/sql-backend.js";
import { openPostgres, type PostgresHandle } from "../src/db/postgres.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { createIntelligenceRepository } from "../src/modules/intelligence/intelligence.repository.js";
import { evaluateSimilarity, formatEvaluation, loadLabelledSet, readLabelledSet, type Evaluation } from "../scripts/similar-eval.js";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";

// The floor under similarity quality: the labelled set of test/fixtures (npm run eval:similar prints the same
// figures). Rankings are deterministic, so these floors only move when the ranking does.

const floors = onPostgres
  ? { precisionAt5: 0.89, mrr: 0.97, overBaseline: 0.1 }
  : { precisionAt5: 0.92, mrr: 0.97, overBaseline: 0.1 };

let server: TestServer;
let evaluation: Evaluation;
let sqlite: SqliteHandle | undefined;
let postgres: PostgresHandle | undefined;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_POINTS: "0" });
  const gql = (query: string, variables: Record<string, unknown>) => server.gql(query, variables, server.admin.token);
  const set = readLabelledSet(new URL("./fixtures/similar-incidents.json", import.meta.url));
  const ids = await loadLabelledSet(gql, set);
  if (onPostgres) postgres = openPostgres({ url: server.db.url, poolSize: 2 });
  else sqlite = openSqlite({ path: server.dbPath, busyTimeoutMs: 5000 });
  const repository = createIntelligenceRepository(postgres ? postgresBackend(postgres) : sqliteBackend(sqlite!));
  evaluation = await evaluateSimilarity(gql, repository, set, ids);
  console.log(formatEvaluation(evaluation));
}, 180_000);
afterAll(async () => {
  sqlite?.close();
  await postgres?.close();
  await server?.close();
});

describe(`similarity quality on the labelled set${onPostgres ? " (PostgreSQL)" : ""}`, () => {
  it("keeps precision@5 and MRR above their floors", () => {
    expect(evaluation.api.queries).toBeGreaterThanOrEqual(300);
    expect(evaluation.api.precisionAt5).toBeGreaterThanOrEqual(floors.precisionAt5);
    expect(evaluation.api.mrr).toBeGreaterThanOrEqual(floors.mrr);
  });

  it("beats the BM25-only baseline by at least 0.10 of precision@5, on held-out families too", () => {
    expect(evaluation.api.precisionAt5 - evaluation.baseline.precisionAt5).toBeGreaterThanOrEqual(floors.overBaseline);
    const heldOut = evaluation.split.heldOut;
    expect(heldOut.api.precisionAt5 - heldOut.baseline.precisionAt5).toBeGreaterThanOrEqual(floors.overBaseline);
  });
});
