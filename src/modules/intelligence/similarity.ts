import type { IncidentStatus } from "../incidents/incident-status.js";
import type { Label } from "../services/label.rules.js";
import { isTopical, stem, tokenize } from "./search-terms.js";

// How similar two incidents are: one score in (0, 1], the weighted sum of four parts, each in [0, 1].
//   TEXT     how much of the source's distinctive vocabulary (IDF-weighted stems) the candidate shares, blended
//            with its full-text rank (bm25 / ts_rank_cd) relative to the best candidate;
//   SERVICE  1 when both belong to the same service;
//   LABELS   the IDF mass of the shared pairs over the source's: a rare pair counts for more than env=prod;
//   ALERT    1 when they share an alert fingerprint or alertname.
// The weights sum to 1, so a candidate equal on every part scores 1. Each reason's weight is its weighted part.

export const SimilarityReasonKind = { TEXT: "TEXT", SERVICE: "SERVICE", LABELS: "LABELS", ALERT: "ALERT" } as const;
export type SimilarityReasonKind = (typeof SimilarityReasonKind)[keyof typeof SimilarityReasonKind];

export const similarityWeights: Record<SimilarityReasonKind, number> = { TEXT: 0.6, SERVICE: 0.14, LABELS: 0.14, ALERT: 0.12 };

/** The part of TEXT that comes from the full-text rank; the rest is the IDF coverage of distinctive stems. */
export const rankShare = 0.3;

/** Distinctive terms taken from the source for the candidate query. */
export const queryTermCount = 14;

/** Full-text candidates scored at most. */
export const candidateLimit = 60;

export interface SimilarityReason {
  kind: SimilarityReasonKind;
  detail: string;
  weight: number;
}

export interface ScoredCandidate {
  id: number;
  score: number;
  reasons: SimilarityReason[];
}

/** One side of a comparison: the source (an incident or a draft) or a candidate. */
export interface Comparable {
  title: string;
  description: string;
  notes: string;
  serviceId: number | null;
  labels: readonly Label[];
  alerts: readonly { fingerprint: string; alertname: string | null }[];
}

/** A term of the source with its weight in the source (title words count double) and its rarity. */
export interface QueryTerm {
  term: string;
  stem: string;
  weight: number;
}

/** Topical words of the source with their in-document weight: title 2, description 1, notes 0.5 per occurrence, capped. */
export function sourceTermWeights(source: Pick<Comparable, "title" | "description" | "notes">): Map<string, number> {
  const weights = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const token of tokenize(text)) if (isTopical(token)) weights.set(token, Math.min(4, (weights.get(token) ?? 0) + weight));
  };
  add(source.title, 2);
  add(source.description, 1);
  add(source.notes, 0.5);
  return weights;
}

export const idf = (documents: number, frequency: number) => Math.log(1 + Math.max(documents, 1) / Math.max(frequency, 1));

/**
 * The source's most distinctive terms: weight x IDF, best first. Terms no other document contains cannot find
 * anything (frequency 0 for a draft, 1 for an indexed incident, whose own document is the one).
 */
export function distinctiveTerms(
  weights: ReadonlyMap<string, number>,
  frequencies: ReadonlyMap<string, number>,
  documents: number,
  ownDocument: boolean,
  count = queryTermCount,
): QueryTerm[] {
  const floor = ownDocument ? 1 : 0;
  const scored: QueryTerm[] = [];
  for (const [term, inDocument] of weights) {
    const frequency = frequencies.get(term) ?? 0;
    if (frequency <= floor) continue;
    scored.push({ term, stem: stem(term), weight: inDocument * idf(documents, frequency) });
  }
  scored.sort((a, b) => b.weight - a.weight || (a.term < b.term ? -1 : 1));
  return scored.slice(0, count);
}

/** The stems a candidate's text contains. */
function stemsOf(candidate: Pick<Comparable, "title" | "description" | "notes">): Set<string> {
  const stems = new Set<string>();
  for (const text of [candidate.title, candidate.description, candidate.notes]) for (const token of tokenize(text)) stems.add(stem(token));
  return stems;
}

const round = (value: number) => Math.round(value * 1e6) / 1e6;

export interface ScoringContext {
  source: Comparable;
  terms: readonly QueryTerm[];
  /** Incidents carrying each label of the source, keyed `key=value`, and the collection size. */
  labelFrequencies: ReadonlyMap<string, number>;
  documents: number;
  /** The best full-text score among the candidates, to put each one's in [0, 1]. */
  bestTextScore: number;
}

export function scoreCandidate(context: ScoringContext, candidate: Comparable & { id: number }, textScore: number): ScoredCandidate {
  const reasons: SimilarityReason[] = [];
  const add = (kind: SimilarityReasonKind, part: number, detail: string) => {
    const weight = round(similarityWeights[kind] * Math.min(1, Math.max(0, part)));
    if (weight > 0) reasons.push({ kind, detail, weight });
  };

  const stems = stemsOf(candidate);
  const total = context.terms.reduce((sum, term) => sum + term.weight, 0);
  const shared = context.terms.filter((term) => stems.has(term.stem) || [...stems].some((s) => s.startsWith(term.stem)));
  if (total > 0 && shared.length > 0) {
    const coverage = shared.reduce((sum, term) => sum + term.weight, 0) / total;
    const rank = context.bestTextScore > 0 ? Math.max(0, textScore) / context.bestTextScore : 0;
    add("TEXT", (1 - rankShare) * coverage + rankShare * rank, shared.map((term) => term.term).join(", "));
  }

  const { source } = context;
  if (source.serviceId !== null && source.serviceId === candidate.serviceId) add("SERVICE", 1, "same service");

  if (source.labels.length > 0) {
    const candidatePairs = new Set(candidate.labels.map((label) => `${label.key}=${label.value}`));
    const rarity = (label: Label) => idf(context.documents, context.labelFrequencies.get(`${label.key}=${label.value}`) ?? 1);
    const sharedLabels = source.labels.filter((label) => candidatePairs.has(`${label.key}=${label.value}`));
    if (sharedLabels.length > 0) {
      const mass = source.labels.reduce((sum, label) => sum + rarity(label), 0);
      const part = sharedLabels.reduce((sum, label) => sum + rarity(label), 0) / mass;
      add("LABELS", part, sharedLabels.map((label) => `${label.key}=${label.value}`).join(", "));
    }
  }

  const fingerprints = new Set(source.alerts.map((alert) => alert.fingerprint));
  const names = new Set(source.alerts.map((alert) => alert.alertname).filter((name): name is string => !!name));
  const sharedAlerts = new Set<string>();
  for (const alert of candidate.alerts) {
    if (alert.alertname && names.has(alert.alertname)) sharedAlerts.add(alert.alertname);
    else if (fingerprints.has(alert.fingerprint)) sharedAlerts.add(alert.alertname ?? alert.fingerprint);
  }
  if (sharedAlerts.size > 0) add("ALERT", 1, [...sharedAlerts].sort().join(", "));

  return { id: candidate.id, score: round(reasons.reduce((sum, reason) => sum + reason.weight, 0)), reasons };
}

const settled = (status: IncidentStatus) => status === "RESOLVED" || status === "CLOSED";

/** Best first; at equal score resolved and closed incidents (with a known fix) before open ones, then the newest. */
export function rankSimilar<T extends ScoredCandidate & { status: IncidentStatus; createdAt: Date }>(scored: T[]): T[] {
  return scored
    .filter((candidate) => candidate.score > 0)
    .sort(
      (a, b) =>
        b.score - a.score ||
        Number(settled(b.status)) - Number(settled(a.status)) ||
        b.createdAt.getTime() - a.createdAt.getTime() ||
        b.id - a.id,
    );
}
