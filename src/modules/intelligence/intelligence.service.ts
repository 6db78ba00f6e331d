import { assertCan, Permission } from "../../auth/policy.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import type { Loaders } from "../../shared/loaders.js";
import { checkFirst } from "../../shared/pagination.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import { checkDescription, normalizeTitle } from "../incidents/incident.rules.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import type { IncidentFilterInput } from "../incidents/incident.inputs.js";
import { checkLabels, type Label } from "../services/label.rules.js";
import type { UserRow } from "../users/user.table.js";
import { highlights } from "./highlights.js";
import type { IncidentFeatures, IntelligenceRepository, TermStatistics } from "./intelligence.repository.js";
import { alternatives, searchTerms, stem, tokenize } from "./search-terms.js";
import {
  defaultTuning,
  distinctiveTerms,
  rankSimilar,
  scoreCandidates,
  sourceTermWeights,
  type Comparable,
  type QueryTerm,
  type SimilarityReason,
  type SimilarityTuning,
} from "./similarity.js";

export interface SearchHit {
  incident: IncidentRow;
  score: number;
  highlights: string[];
}

export interface SimilarIncident {
  incident: IncidentRow;
  score: number;
  reasons: SimilarityReason[];
}

export interface SimilarArgs {
  first?: number | null;
  sameServiceOnly?: boolean | null;
  withinDays?: number | null;
}

export interface DraftInput {
  title: string;
  description?: string | null;
  serviceId?: string | null;
  labels?: { key: string; value: string }[] | null;
}

export interface IntelligenceServiceDeps {
  intelligence: IntelligenceRepository;
  /** IncidentFilter as repository criteria ("nothing" when it cannot match), as `incidents` reads it. */
  criteria(filter: IncidentFilterInput | null | undefined): IncidentCriteria | "nothing";
  /** The score's knobs; the tuned defaults when omitted. */
  tuning?: SimilarityTuning;
}

const dayMs = 86_400_000;
export const maxWithinDays = 3_650;
/** Source words whose document frequency is looked up (the most weighted ones). */
const lookedUpTerms = 24;

function checkWithinDays(value: number | null | undefined): number {
  const days = value ?? 180;
  if (!Number.isInteger(days) || days < 1 || days > maxWithinDays) {
    throw new BadUserInputError(`withinDays must be between 1 and ${maxWithinDays}`, "withinDays");
  }
  return days;
}

/**
 * The terms the candidate query asks for: those on at most a twentieth of the history (or 200 incidents, for a
 * short one). A word on a tenth of all incidents finds a tenth of the history, costs as much to rank, and says
 * little; such words still count in the score of the candidates the rarer ones find. Never none: the rarest three.
 */
function queryTerms(terms: readonly QueryTerm[], statistics: TermStatistics): QueryTerm[] {
  const cap = rareCap(statistics);
  const frequency = (term: QueryTerm) => statistics.frequencies.get(term.term) ?? 0;
  const rare = terms.filter((term) => frequency(term) <= cap);
  return rare.length > 0 ? rare : [...terms].sort((a, b) => frequency(a) - frequency(b)).slice(0, 3);
}

const rareCap = (statistics: TermStatistics) => Math.max(200, statistics.documents / 20);

/**
 * The stems the candidate query asks for: each term's, and its group's other words (`alternatives`) found in the
 * history but no commoner than the terms themselves may be (an absent word finds nothing, and each one asked costs
 * the ranking of every match).
 */
function queryStems(terms: readonly QueryTerm[], statistics: TermStatistics): string[] {
  const cap = rareCap(statistics);
  const found = (word: string) => {
    const frequency = statistics.frequencies.get(word) ?? 0;
    return frequency > 0 && frequency <= cap;
  };
  return [...new Set(terms.flatMap((term) => [term.stem, ...alternatives(term.term).filter(found).map(stem)]))];
}

/** The source of a comparison: the draft's text and labels, or an incident's features. */
interface Source extends Comparable {
  id: number;
  createdAt: Date;
}

export class IntelligenceService {
  constructor(private readonly deps: IntelligenceServiceDeps) {}

  /** Every word of `query` (as a prefix) in the title, description or notes; best first. */
  async search(
    actor: UserRow,
    args: { query: string; filter?: IncidentFilterInput | null; first?: number | null },
    loaders: Loaders,
  ): Promise<SearchHit[]> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 20);
    const terms = searchTerms(args.query);
    // IncidentFilter.search keeps its meaning (every word in the title or description, notes aside): it stays a
    // filter of the criteria, as on incidents(), and is not one more search term, which notes could match.
    const criteria = this.deps.criteria(args.filter);
    if (first === 0 || terms.length === 0 || criteria === "nothing") return [];
    const matches = await this.deps.intelligence.search(terms, criteria, first);
    const incidents = await loaders.incidentById.loadMany(matches.map((match) => match.incidentId));
    return matches.flatMap((match, index) => {
      const incident = incidents[index];
      if (!incident || incident instanceof Error) return [];
      return [{ incident, score: match.score, highlights: highlights([match.title, match.description, match.notes], terms) }];
    });
  }

  /** Incidents like `incident`, created within `withinDays` of it. */
  async similar(actor: UserRow, incident: IncidentRow, args: SimilarArgs, loaders: Loaders): Promise<SimilarIncident[]> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 5);
    const days = checkWithinDays(args.withinDays);
    if (first === 0) return [];
    const source = (await this.deps.intelligence.features([incident.id])).get(incident.id);
    if (!source) return [];
    const window = { from: new Date(source.createdAt.getTime() - days * dayMs), to: new Date(source.createdAt.getTime() + days * dayMs) };
    const ranked = await this.rank(source, await serviceName(source.serviceId, loaders), true, window, args.sameServiceOnly ? source.serviceId : undefined);
    return this.load(ranked.slice(0, first), loaders);
  }

  /** "Is this already reported?": a draft against open and investigating incidents first, then the rest. */
  async similarToDraft(
    actor: UserRow,
    args: { to: DraftInput; first?: number | null; withinDays?: number | null },
    loaders: Loaders,
  ): Promise<SimilarIncident[]> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 5);
    const days = checkWithinDays(args.withinDays);
    const { to } = args;
    if (to.description === null) throw new BadUserInputError("description cannot be null", "description");
    const now = new Date();
    const source: Source = {
      id: 0,
      createdAt: now,
      title: normalizeTitle(to.title),
      description: checkDescription(to.description ?? ""),
      notes: "",
      serviceId: to.serviceId == null ? null : await existingService(to.serviceId, loaders),
      labels: checkLabels(to.labels ?? []) as Label[],
      alerts: [],
    };
    if (first === 0) return [];
    const ranked = await this.rank(source, await serviceName(source.serviceId, loaders), false, { from: new Date(now.getTime() - days * dayMs), to: now });
    const active = (status: string) => status === "OPEN" || status === "INVESTIGATING";
    const ordered = [...ranked.filter((c) => active(c.status)), ...ranked.filter((c) => !active(c.status))];
    return this.load(ordered.slice(0, first), loaders);
  }

  /** A fixed number of statements: term statistics, label rarity, candidates, then the candidates' features. */
  private async rank(source: Source, service: string, indexed: boolean, window: { from: Date; to: Date }, serviceId?: number | null) {
    const { intelligence, tuning = defaultTuning } = this.deps;
    const weights = sourceTermWeights(source, tuning, service);
    const looked = [...weights].sort((a, b) => b[1] - a[1]).slice(0, lookedUpTerms).map(([term]) => term);
    const asked = [...new Set(looked.flatMap((term) => [term, ...alternatives(term)]))];
    const [statistics, labelFrequencies] = await Promise.all([
      asked.length > 0 ? intelligence.termStatistics(asked) : { frequencies: new Map<string, number>(), documents: 0 },
      intelligence.labelFrequencies(source.labels),
    ]);
    const own = indexed && new Set(tokenize(`${source.title} ${source.description} ${source.notes}`));
    const terms = distinctiveTerms(weights, statistics.frequencies, statistics.documents, own, tuning.queryTerms);
    if (terms.length === 0) return [];
    const stems = queryStems(queryTerms(terms, statistics), statistics);
    const candidates = await intelligence.candidates({
      terms: stems,
      ...window,
      excludeId: source.id,
      serviceId,
      limit: tuning.candidates,
    });
    const features = await intelligence.features(candidates.map((candidate) => candidate.id));
    const context = {
      source,
      terms,
      labelFrequencies,
      documents: statistics.documents,
      bestTextScore: candidates.reduce((best, candidate) => Math.max(best, candidate.score), 0),
      tuning,
    };
    const found = candidates.flatMap((candidate) => {
      const row: IncidentFeatures | undefined = features.get(candidate.id);
      return row ? [{ ...row, textScore: candidate.score }] : [];
    });
    const scored = scoreCandidates(context, found).map((candidate, index) => ({
      ...candidate,
      status: found[index]!.status,
      createdAt: found[index]!.createdAt,
    }));
    return rankSimilar(scored);
  }

  private async load(ranked: { id: number; score: number; reasons: SimilarityReason[] }[], loaders: Loaders): Promise<SimilarIncident[]> {
    const incidents = await loaders.incidentById.loadMany(ranked.map((candidate) => candidate.id));
    return ranked.flatMap((candidate, index) => {
      const incident = incidents[index];
      if (!incident || incident instanceof Error) return [];
      return [{ incident, score: candidate.score, reasons: candidate.reasons }];
    });
  }
}

/** The name of the source's service, whose words the text part leaves to the SERVICE part ("" without one). */
const serviceName = async (id: number | null, loaders: Loaders) => (id === null ? "" : ((await loaders.serviceById.load(id))?.name ?? ""));

/** A draft's service, as createIncident would take it: one that names nothing is NOT_FOUND, not "no service". */
async function existingService(rawId: string, loaders: Loaders): Promise<number> {
  const id = parseId(rawId);
  const service = id === undefined ? null : await loaders.serviceById.load(id);
  if (!service) throw new NotFoundError("Service", "serviceId");
  return service.id;
}
