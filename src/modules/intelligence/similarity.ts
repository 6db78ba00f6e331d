import type { IncidentStatus } from "../incidents/incident-status.js";
import type { Label } from "../services/label.rules.js";
import { expansions, isTopical, stem, tokenize, tokenizeWithParts } from "./search-terms.js";

// How similar two incidents are: one score in (0, 1], the weighted sum of four parts, each in [0, 1].
//   TEXT     how much of the source's distinctive vocabulary (IDF-weighted stems) the candidate shares, blended
//            with its full-text rank (bm25 / ts_rank_cd) relative to the best candidate;
//   SERVICE  1 when both belong to the same service;
//   LABELS   the IDF mass of the shared pairs over the source's, where a pair carried by a fifth of the
//            incidents or more weighs nothing: a rare alertname counts, env=prod does not;
//   ALERT    1 when they share an alert fingerprint or alertname.
// The weights sum to 1, so a candidate equal on every part scores 1. Each reason's weight is its weighted part.

export const SimilarityReasonKind = { TEXT: "TEXT", SERVICE: "SERVICE", LABELS: "LABELS", ALERT: "ALERT" } as const;
export type SimilarityReasonKind = (typeof SimilarityReasonKind)[keyof typeof SimilarityReasonKind];

/** The knobs of the score, tuned on the labelled set (test/fixtures, `npm run eval:similar`). */
export interface SimilarityTuning {
  /** Each part's weight; they sum to 1. */
  weights: Record<SimilarityReasonKind, number>;
  /** A title word weighs as much as this many description words: the title names the problem, the rest is context. */
  titleWeight: number;
  /** The part of TEXT that comes from the full-text rank; the rest is the IDF coverage of distinctive stems. */
  rankShare: number;
  /** Distinctive terms taken from the source for the candidate query. */
  queryTerms: number;
  /** Full-text candidates scored at most. */
  candidates: number;
  /** Pseudo-relevance feedback: the best first-pass candidates read, the terms taken from them, their share of TEXT. */
  feedbackDocs: number;
  feedbackTerms: number;
  feedbackShare: number;
}

export const defaultTuning: SimilarityTuning = {
  weights: { TEXT: 0.8, SERVICE: 0.06, LABELS: 0.08, ALERT: 0.06 },
  titleWeight: 3,
  rankShare: 0.6,
  queryTerms: 10,
  candidates: 60,
  feedbackDocs: 3,
  feedbackTerms: 10,
  feedbackShare: 0.5,
};

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

/** Topical words of the source with their in-document weight: title 3, description 1, notes 0.5 per occurrence, capped. */
export function sourceTermWeights(
  source: Pick<Comparable, "title" | "description" | "notes"> & Partial<Pick<Comparable, "labels">>,
  tuning: SimilarityTuning = defaultTuning,
  serviceName = "",
): Map<string, number> {
  // The words of the source's own service name say which service, not which problem; SERVICE counts that once.
  const serviceWords = new Set(tokenize(serviceName));
  const weights = new Map<string, number>();
  const add = (text: string, weight: number) => {
    for (const tokens of tokenizeWithParts(text)) {
      // One token counts each word once: "OOMKilled" and its part "OOM" both stand for memory.
      const words = new Set<string>();
      for (const token of tokens) {
        if (serviceWords.has(token)) continue;
        // An expansion counts even when its shorthand is too short to (db, pg): it is a word the family may use.
        if (isTopical(token)) words.add(token);
        for (const word of expansions(token)) words.add(word);
      }
      for (const word of words) weights.set(word, Math.min(4, (weights.get(word) ?? 0) + weight));
    }
  };
  add(source.title, tuning.titleWeight);
  add(source.description, 1);
  add(source.notes, 0.5);
  add(alertnames(source), 1);
  return weights;
}

/** The alert names among the labels: an alert's name is the monitoring system's own title for the problem. */
const alertnames = ({ labels = [] }: Partial<Pick<Comparable, "labels">>) =>
  labels.filter((label) => label.key === "alertname").map((label) => label.value).join(" ");

export const idf = (documents: number, frequency: number) => Math.log(1 + Math.max(documents, 1) / Math.max(frequency, 1));

/** A label's rarity: 0 for pairs on a fifth of the incidents or more, growing as the pair gets rarer. */
export const labelIdf = (documents: number, frequency: number) => Math.max(0, Math.log((0.2 * Math.max(documents, 1)) / Math.max(frequency, 1)));

/**
 * The source's most distinctive terms: weight x IDF, best first. Terms no other document contains cannot find
 * anything (frequency 0 for a draft, 1 for a word of an indexed incident, whose own document is the one).
 * `ownDocument`: whether the source is indexed, or the words its indexed document holds (an expansion such as
 * "database" for "db" is not one of them).
 */
export function distinctiveTerms(
  weights: ReadonlyMap<string, number>,
  frequencies: ReadonlyMap<string, number>,
  documents: number,
  ownDocument: boolean | ReadonlySet<string>,
  count = defaultTuning.queryTerms,
): QueryTerm[] {
  const scored: QueryTerm[] = [];
  for (const [term, inDocument] of weights) {
    const frequency = frequencies.get(term) ?? 0;
    const floor = ownDocument === true || (ownDocument !== false && ownDocument.has(term)) ? 1 : 0;
    if (frequency <= floor) continue;
    scored.push({ term, stem: stem(term), weight: inDocument * idf(documents, frequency) });
  }
  scored.sort((a, b) => b.weight - a.weight || (a.term < b.term ? -1 : 1));
  return scored.slice(0, count);
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
  tuning: SimilarityTuning;
}

interface Candidate extends Comparable {
  id: number;
  /** Its full-text score for the source's query (higher is better). */
  textScore: number;
}

/** The topical stems of a text, each once. */
function topicalStems(candidate: Pick<Comparable, "title" | "description" | "notes" | "labels">): Set<string> {
  const stems = new Set<string>();
  for (const text of [candidate.title, candidate.description, candidate.notes, alertnames(candidate)]) {
    for (const token of tokenizeWithParts(text).flat()) {
      if (isTopical(token)) stems.add(stem(token));
      for (const word of expansions(token)) stems.add(stem(word));
    }
  }
  return stems;
}

const contains = (stems: ReadonlySet<string>, prefix: string) => stems.has(prefix) || [...stems].some((s) => s.startsWith(prefix));

/**
 * Feedback terms: the stems the best first-pass candidates share that the source's query lacks, weighted by how
 * many of them carry it and how rare it is among all candidates. A family of incidents written differently
 * shares words among itself that the source may not use.
 */
function feedbackTerms(best: readonly Set<string>[], pool: readonly Set<string>[], query: ReadonlySet<string>, count: number) {
  const weights = new Map<string, number>();
  for (const stems of best) for (const term of stems) if (!query.has(term)) weights.set(term, (weights.get(term) ?? 0) + 1);
  const scored = [...weights].flatMap(([term, inBest]) => {
    if (inBest < 2 && best.length > 1) return [];
    const inPool = pool.reduce((n, stems) => n + (stems.has(term) ? 1 : 0), 0);
    return [{ term, weight: inBest * Math.log(1 + pool.length / Math.max(inPool, 1)) }];
  });
  return scored.sort((a, b) => b.weight - a.weight || (a.term < b.term ? -1 : 1)).slice(0, count);
}

/** Every candidate's score and reasons: a first pass, then the text part again with feedback from the best ones. */
export function scoreCandidates(context: ScoringContext, candidates: readonly Candidate[]): ScoredCandidate[] {
  const { tuning } = context;
  const stems = candidates.map(topicalStems);
  const total = context.terms.reduce((sum, term) => sum + term.weight, 0);
  const shared = candidates.map((_, index) => context.terms.filter((term) => contains(stems[index]!, term.stem)));
  const coverage = shared.map((terms) => (total > 0 ? terms.reduce((sum, term) => sum + term.weight, 0) / total : 0));
  const rank = candidates.map((candidate) => (context.bestTextScore > 0 ? Math.max(0, candidate.textScore) / context.bestTextScore : 0));
  const others = candidates.map((candidate) => structuralReasons(context, candidate));
  const textPart = (index: number, feedback: number) =>
    (1 - tuning.rankShare) * ((1 - tuning.feedbackShare) * coverage[index]! + tuning.feedbackShare * feedback) + tuning.rankShare * rank[index]!;
  const first = candidates.map((_, index) => tuning.weights.TEXT * textPart(index, coverage[index]!) + sum(others[index]!));
  const best = [...first.keys()].sort((a, b) => first[b]! - first[a]!).slice(0, tuning.feedbackDocs);
  const query = new Set(context.terms.map((term) => term.stem));
  const expansion = feedbackTerms(best.map((index) => stems[index]!), stems, query, tuning.feedbackTerms);
  const expansionMass = expansion.reduce((total, term) => total + term.weight, 0);

  return candidates.map((candidate, index) => {
    const reasons: SimilarityReason[] = [];
    const matched = expansion.filter((term) => stems[index]!.has(term.term));
    const feedback = expansionMass > 0 ? matched.reduce((total, term) => total + term.weight, 0) / expansionMass : coverage[index]!;
    const text = round(tuning.weights.TEXT * Math.min(1, textPart(index, feedback)));
    const words = shared[index]!.length > 0 ? shared[index]!.map((term) => term.term) : matched.map((term) => term.term);
    if (text > 0 && words.length > 0) reasons.push({ kind: "TEXT", detail: words.join(", "), weight: text });
    reasons.push(...others[index]!);
    return { id: candidate.id, score: round(sum(reasons)), reasons };
  });
}

const sum = (reasons: readonly SimilarityReason[]) => reasons.reduce((total, reason) => total + reason.weight, 0);

/** SERVICE, LABELS and ALERT: what the two incidents share besides their words. */
function structuralReasons(context: ScoringContext, candidate: Comparable): SimilarityReason[] {
  const reasons: SimilarityReason[] = [];
  const add = (kind: SimilarityReasonKind, part: number, detail: string) => {
    const weight = round(context.tuning.weights[kind] * Math.min(1, Math.max(0, part)));
    if (weight > 0) reasons.push({ kind, detail, weight });
  };
  const { source } = context;
  if (source.serviceId !== null && source.serviceId === candidate.serviceId) add("SERVICE", 1, "same service");

  if (source.labels.length > 0) {
    const candidatePairs = new Set(candidate.labels.map((label) => `${label.key}=${label.value}`));
    const rarity = (label: Label) => labelIdf(context.documents, context.labelFrequencies.get(`${label.key}=${label.value}`) ?? 1);
    const sharedLabels = source.labels.filter((label) => candidatePairs.has(`${label.key}=${label.value}`));
    const mass = source.labels.reduce((total, label) => total + rarity(label), 0);
    const part = sharedLabels.reduce((total, label) => total + rarity(label), 0);
    if (part > 0) {
      const informative = sharedLabels.filter((label) => rarity(label) > 0);
      add("LABELS", part / mass, informative.map((label) => `${label.key}=${label.value}`).join(", "));
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
  return reasons;
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
