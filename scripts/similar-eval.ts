// The similarity evaluation, shared by `npm run eval:similar` and test/similar-quality.test.ts: loads a labelled
// set through the API (services, incidents, labels, notes), then asks `Incident.similar` for every incident and
// compares with a plain BM25 baseline on the same index and with a word-overlap one computed here, outside the
// database (the kind of baseline an outside checker uses). An incident's related ones are those of its family.
import { readFileSync } from "node:fs";
import type { IntelligenceRepository } from "../src/modules/intelligence/intelligence.repository.js";
import { tokenize } from "../src/modules/intelligence/search-terms.js";

export interface LabelledIncident {
  family: string;
  title: string;
  description: string;
  notes: string[];
  service: string | null;
  labels: { key: string; value: string }[];
}

export type Gql = (query: string, variables: Record<string, unknown>) => Promise<{ data?: any; errors?: unknown[] }>;

export const readLabelledSet = (path: URL): LabelledIncident[] => JSON.parse(readFileSync(path, "utf8")) as LabelledIncident[];

async function must(gql: Gql, query: string, variables: Record<string, unknown>) {
  const result = await gql(query, variables);
  if (result.errors || !result.data) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** Creates the set's services and incidents (with their notes) through the API; returns the incidents' ids, in order. */
export async function loadLabelledSet(gql: Gql, set: readonly LabelledIncident[]): Promise<string[]> {
  const services = new Map<string, string>();
  for (const name of new Set(set.map((incident) => incident.service).filter((name): name is string => name !== null))) {
    const data = await must(gql, `mutation($name: String!) { createService(input: { name: $name }) { id } }`, { name: `${name}` });
    services.set(name, data.createService.id);
  }
  const ids: string[] = [];
  for (const incident of set) {
    const input = {
      title: incident.title,
      description: incident.description,
      serviceId: incident.service ? services.get(incident.service) : null,
      labels: incident.labels,
    };
    const data = await must(gql, `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input });
    const id = data.createIncident.id as string;
    for (const message of incident.notes) {
      await must(gql, `mutation($id: ID!, $m: String!) { addIncidentLog(incidentId: $id, message: $m) { id } }`, { id, m: message });
    }
    ids.push(id);
  }
  return ids;
}

export interface Figures {
  precisionAt5: number;
  mrr: number;
  queries: number;
}

export interface Evaluation {
  api: Figures;
  baseline: Figures;
  overlap: Figures;
  /** The same figures over half of the families (even positions) and over the other half, held out. */
  split: { tuning: { api: Figures; baseline: Figures; overlap: Figures }; heldOut: { api: Figures; baseline: Figures; overlap: Figures } };
}

/** precision@5 and the reciprocal rank of the first related one (0 when none is listed), averaged over queries. */
function figures(rankings: readonly { family: string; ranked: string[] }[], familyOf: Map<string, string>): Figures {
  let precision = 0;
  let reciprocal = 0;
  for (const { family, ranked } of rankings) {
    precision += ranked.slice(0, 5).filter((id) => familyOf.get(id) === family).length / 5;
    const first = ranked.findIndex((id) => familyOf.get(id) === family);
    reciprocal += first < 0 ? 0 : 1 / (first + 1);
  }
  const n = Math.max(rankings.length, 1);
  return { precisionAt5: precision / n, mrr: reciprocal / n, queries: rankings.length };
}

/** The API's ranking: `Incident.similar(first: 20)` over the whole set's time span. */
async function apiRanking(gql: Gql, id: string): Promise<string[]> {
  const data = await must(gql, `query($id: ID!) { incident(id: $id) { similar(first: 20, withinDays: 3650) { incident { id } } } }`, { id });
  return data.incident.similar.map((entry: { incident: { id: string } }) => entry.incident.id);
}

/** The baseline: bm25 (ts_rank_cd on PostgreSQL) of an OR query of every word of the title and description. */
async function baselineRanking(repository: IntelligenceRepository, id: string, incident: LabelledIncident): Promise<string[]> {
  const terms = [...new Set(tokenize(`${incident.title} ${incident.description}`))];
  const hits = await repository.candidates({
    terms,
    from: new Date(0),
    to: new Date(8.64e15),
    excludeId: Number(id),
    limit: 20,
  });
  return hits.map((hit) => String(hit.id));
}

const wordSet = (incident: LabelledIncident) => new Set(`${incident.title} ${incident.description}`.toLowerCase().match(/[\p{L}\p{N}]+/gu));

/**
 * The word-overlap baseline: every other incident of the set by the Jaccard index of the lowercased word sets of
 * title and description, best first (ties in the set's order).
 */
export function wordOverlapRanking(set: readonly LabelledIncident[], ids: readonly string[], index: number): string[] {
  const words = set.map(wordSet);
  const query = words[index]!;
  const jaccard = (other: Set<string>) => {
    let shared = 0;
    for (const word of other) if (query.has(word)) shared += 1;
    return shared / (query.size + other.size - shared || 1);
  };
  return ids
    .map((id, position) => ({ id, position, score: jaccard(words[position]!) }))
    .filter((entry) => entry.position !== index)
    .sort((a, b) => b.score - a.score || a.position - b.position)
    .map((entry) => entry.id);
}

export async function evaluateSimilarity(
  gql: Gql,
  repository: IntelligenceRepository,
  set: readonly LabelledIncident[],
  ids: readonly string[],
): Promise<Evaluation> {
  const familyOf = new Map(ids.map((id, index) => [id, set[index]!.family]));
  const sizes = new Map<string, number>();
  for (const incident of set) sizes.set(incident.family, (sizes.get(incident.family) ?? 0) + 1);
  // Families of one are near-miss distractors: in the collection, never a query.
  const families = [...sizes].filter(([, size]) => size >= 6).map(([family]) => family).sort();
  const tuning = new Set(families.filter((_, index) => index % 2 === 0));
  const api: { family: string; ranked: string[] }[] = [];
  const baseline: { family: string; ranked: string[] }[] = [];
  const overlap: { family: string; ranked: string[] }[] = [];
  for (const [index, id] of ids.entries()) {
    const incident = set[index]!;
    if ((sizes.get(incident.family) ?? 0) < 6) continue;
    api.push({ family: incident.family, ranked: await apiRanking(gql, id) });
    baseline.push({ family: incident.family, ranked: await baselineRanking(repository, id, incident) });
    overlap.push({ family: incident.family, ranked: wordOverlapRanking(set, ids, index) });
  }
  const part = (keep: (family: string) => boolean) => ({
    api: figures(api.filter((entry) => keep(entry.family)), familyOf),
    baseline: figures(baseline.filter((entry) => keep(entry.family)), familyOf),
    overlap: figures(overlap.filter((entry) => keep(entry.family)), familyOf),
  });
  return {
    api: figures(api, familyOf),
    baseline: figures(baseline, familyOf),
    overlap: figures(overlap, familyOf),
    split: { tuning: part((family) => tuning.has(family)), heldOut: part((family) => !tuning.has(family)) },
  };
}

export function formatEvaluation(evaluation: Evaluation): string {
  const row = (name: string, f: Figures) => `${name.padEnd(34)} precision@5 ${f.precisionAt5.toFixed(3)}   MRR ${f.mrr.toFixed(3)}   (${f.queries} queries)`;
  return [
    row("API (Incident.similar)", evaluation.api),
    row("baseline (BM25 only)", evaluation.baseline),
    row("baseline (word overlap, Jaccard)", evaluation.overlap),
    row("API, tuning families", evaluation.split.tuning.api),
    row("baseline, tuning families", evaluation.split.tuning.baseline),
    row("word overlap, tuning families", evaluation.split.tuning.overlap),
    row("API, held-out families", evaluation.split.heldOut.api),
    row("baseline, held-out families", evaluation.split.heldOut.baseline),
    row("word overlap, held-out families", evaluation.split.heldOut.overlap),
  ].join("\n");
}
