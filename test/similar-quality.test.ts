import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresBackend, sqliteBackend } from "../src/db/sql-backend.js";
import { openPostgres, type PostgresHandle } from "../src/db/postgres.js";
import { openSqlite, type SqliteHandle } from "../src/db/sqlite.js";
import { createIntelligenceRepository } from "../src/modules/intelligence/intelligence.repository.js";
import { evaluateSimilarity, formatEvaluation, loadLabelledSet, readLabelledSet, type Evaluation } from "../scripts/similar-eval.js";
import { onPostgres } from "./support/database.js";
import { startTestServer } from "./support/server.js";

// Floors under similarity quality (npm run eval:similar [-- --set FILE] prints the same figures), on three sets:
// - similar-incidents.json: families drawn from templates (test/fixtures/similar-families.ts), the set the score's
//   knobs were tuned on (half of its families are held out of that tuning);
// - similar-holdout.json: written by hand, apart from the code; its failures were read before the operations
//   word groups were written, so its figures flatter the ranking somewhat;
// - similar-holdout-2.json: written by hand by someone who saw neither the code nor the other sets, and measured
//   only after the ranking was settled: the nearest thing here to an outside checker's corpus.
// Rankings are deterministic, so these floors only move when the ranking does.

async function evaluate(file: string): Promise<Evaluation> {
  const server = await startTestServer({ RATE_LIMIT_POINTS: "0" });
  let sqlite: SqliteHandle | undefined;
  let postgres: PostgresHandle | undefined;
  try {
    const gql = (query: string, variables: Record<string, unknown>) => server.gql(query, variables, server.admin.token);
    const set = readLabelledSet(new URL(`./fixtures/${file}`, import.meta.url));
    const ids = await loadLabelledSet(gql, set);
    if (onPostgres) postgres = openPostgres({ url: server.db.url, poolSize: 2 });
    else sqlite = openSqlite({ path: server.dbPath, busyTimeoutMs: 5000 });
    const evaluation = await evaluateSimilarity(gql, createIntelligenceRepository(postgres ? postgresBackend(postgres) : sqliteBackend(sqlite!)), set, ids);
    console.log(`${file}\n${formatEvaluation(evaluation)}`);
    return evaluation;
  } finally {
    sqlite?.close();
    await postgres?.close();
    await server.close();
  }
}

const sets = {
  templates: { file: "similar-incidents.json", precisionAt5: onPostgres ? 0.91 : 0.94, mrr: onPostgres ? 0.98 : 0.98 },
  holdout: { file: "similar-holdout.json", precisionAt5: 0.76, mrr: 0.92 },
  blind: { file: "similar-holdout-2.json", precisionAt5: 0.43, mrr: 0.69 },
};
const evaluations = new Map<string, Evaluation>();
beforeAll(async () => {
  for (const { file } of Object.values(sets)) evaluations.set(file, await evaluate(file));
}, 300_000);
afterAll(() => evaluations.clear());

describe(`similarity quality${onPostgres ? " (PostgreSQL)" : ""}`, () => {
  for (const [name, floor] of Object.entries(sets)) {
    it(`keeps precision@5 and MRR above their floors on the ${name} set`, () => {
      const evaluation = evaluations.get(floor.file)!;
      expect(evaluation.api.queries).toBeGreaterThanOrEqual(150);
      expect(evaluation.api.precisionAt5).toBeGreaterThanOrEqual(floor.precisionAt5);
      expect(evaluation.api.mrr).toBeGreaterThanOrEqual(floor.mrr);
    });

    it(`beats word overlap, an outside checker's baseline, by at least 0.10 of precision@5 on the ${name} set`, () => {
      const evaluation = evaluations.get(floor.file)!;
      expect(evaluation.api.precisionAt5 - evaluation.overlap.precisionAt5).toBeGreaterThanOrEqual(0.1);
    });
  }

  it("beats the BM25-only baseline by at least 0.10 of precision@5 on the template set, and by 0.09 on its held-out families", () => {
    const evaluation = evaluations.get(sets.templates.file)!;
    expect(evaluation.api.queries).toBeGreaterThanOrEqual(300);
    expect(evaluation.api.precisionAt5 - evaluation.baseline.precisionAt5).toBeGreaterThanOrEqual(0.1);
    // The service's own name words are left out of the text part (the SERVICE part counts them): the two hand-written
    // sets gained 0.04 each, and this set's held-out half, whose families name their problems by service words, 0.01 less.
    const heldOut = evaluation.split.heldOut;
    expect(heldOut.api.precisionAt5 - heldOut.baseline.precisionAt5).toBeGreaterThanOrEqual(0.09);
  });
});
