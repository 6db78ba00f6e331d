import type { SqlBackend } from "../../db/sql-backend.js";
import { all, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import { groupBy } from "../../shared/group-by.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import type { IncidentStatus } from "../incidents/incident-status.js";
import type { Label } from "../services/label.rules.js";
import { fts5Query, tsQuery } from "./search-terms.js";
import { criteriaSql } from "../incidents/incident-criteria-sql.js";
import { FrequencyCache } from "./frequency-cache.js";
import { countedDocuments, intelligenceStatements } from "./intelligence-statements.js";

/** An incident's searchable text: title, description, and its notes joined by newlines. */
export interface IncidentText {
  title: string;
  description: string;
  notes: string;
}

/** A search hit's text: `notes` is its first note that matched a term ('' when none did), for highlights. */
export interface SearchMatch extends IncidentText {
  incidentId: number;
  /** Higher is better: -bm25 on SQLite, ts_rank_cd on PostgreSQL. */
  score: number;
}

/** What similarity compares of one incident. */
export interface IncidentFeatures extends IncidentText {
  id: number;
  status: IncidentStatus;
  serviceId: number | null;
  createdAt: Date;
  labels: Label[];
  alerts: { fingerprint: string; alertname: string | null }[];
}

export interface CandidateQuery {
  /** Matched as prefixes, any of them. */
  terms: readonly string[];
  from: Date;
  to: Date;
  /** Left out of the answer (the incident itself); 0 for a draft. */
  excludeId: number;
  /** `undefined`: any service; otherwise only this one (null: incidents without a service). */
  serviceId?: number | null;
  limit: number;
}

export interface TermStatistics {
  /** Documents containing each term (PostgreSQL counts up to `countedDocuments`). */
  frequencies: Map<string, number>;
  /** The size of the collection (the highest incident id: deleted ones count, which only flattens rarity a little). */
  documents: number;
}

export interface IntelligenceRepository {
  /** Incidents whose text contains every term (as a prefix) and that meet `criteria`, best first. */
  search(terms: readonly string[], criteria: IncidentCriteria, limit: number): Promise<SearchMatch[]>;
  /** Incidents whose text contains any term (as a prefix), best first, with their text scores. */
  candidates(query: CandidateQuery): Promise<{ id: number; score: number }[]>;
  termStatistics(terms: readonly string[]): Promise<TermStatistics>;
  /** The number of incidents carrying each pair, keyed `key=value`. */
  labelFrequencies(labels: readonly Label[]): Promise<Map<string, number>>;
  /** Three statements, whatever the number of ids. */
  features(ids: readonly number[]): Promise<Map<number, IncidentFeatures>>;
}

export const labelKey = (label: Label) => `${label.key}=${label.value}`;

const readText = (row: Row): IncidentText => ({
  title: row.title as string,
  description: row.description as string,
  notes: row.notes as string,
});

/** Term and label counts from this one up are kept for a while (FrequencyCache): a minute at most, 10,000 of them. */
const commonCount = 1_000;
const keptCounts = { maxAgeMs: 60_000, maxEntries: 10_000 };

/** Search and similarity reads, written once for both backends; the full-text query string is the dialect's. */
export function createIntelligenceRepository(backend: SqlBackend): IntelligenceRepository {
  const d: Dialect = backend.dialect;
  const q = intelligenceStatements(d);
  const textQuery = d.kind === "sqlite" ? fts5Query : tsQuery;
  // Kept: counts of a thousand and more, and PostgreSQL's at its cap (`countedDocuments`: "that many or more").
  const commonTerm = d.kind === "sqlite" ? commonCount : countedDocuments;
  // Terms and label pairs (`key=value`: no term holds "=") share the collection size the term statement reads.
  const counts = new FrequencyCache(keptCounts);

  function* features(ids: readonly number[]): Work<Map<number, IncidentFeatures>> {
    const list = d.list(ids);
    const rows = yield* all(q.features, [list]);
    const labels = groupBy(yield* all(q.labels, [list]), (row) => d.readId(row.incident_id));
    const alerts = groupBy(yield* all(q.alerts, [d.jsonKey("alertname"), list]), (row) => d.readId(row.incident_id));
    const found = new Map<number, IncidentFeatures>();
    for (const row of rows) {
      const id = d.readId(row.id);
      found.set(id, {
        id,
        status: row.status as IncidentStatus,
        serviceId: row.service_id === null ? null : d.readId(row.service_id),
        createdAt: d.readTime(row.created_at),
        ...readText(row),
        labels: (labels.get(id) ?? []).map((label) => ({ key: label.key as string, value: label.value as string })),
        alerts: (alerts.get(id) ?? []).map((alert) => ({
          fingerprint: alert.fingerprint as string,
          alertname: (alert.alertname as string | null) ?? null,
        })),
      });
    }
    return found;
  }

  return {
    async search(terms, criteria, limit) {
      const bound = criteriaSql(d, criteria);
      const statement = q.search(bound.shape, bound.text);
            // One full-text query per term: each may be found in the title and description or in any note.
      const text = q.searchParams(
        terms.map((term) => textQuery([term], "all")),
        textQuery(terms, "all"),
      );
      const rows = await backend.read(() => all(statement, [...text, ...bound.params, limit]));
      return rows.map((row) => ({ incidentId: d.readId(row.id), score: Number(row.score), ...readText(row) }));
    },

    async candidates({ terms, from, to, excludeId, serviceId, limit }) {
      const sameService = serviceId !== undefined;
      const window = [d.time(from), d.time(to), excludeId, ...(sameService ? [serviceId] : [])];
      const params = q.candidateParams(textQuery(terms, "any"), window, limit);
      const rows = await backend.read(() => all(q.candidates(sameService), params));
      return rows.map((row) => ({ id: d.readId(row.id), score: Number(row.score) }));
    },

    async termStatistics(terms) {
      const frequencies = new Map<string, number>();
      const counted = terms.filter((term) => {
        const kept = counts.get(term);
        if (kept !== undefined) frequencies.set(term, kept);
        return kept === undefined;
      });
      const params = d.kind === "sqlite" ? [d.list(counted)] : [d.list(counted), d.list(counted.map((term) => tsQuery([term], "all").replace(/:\*$/, "")))];
      const rows = await backend.read(() => all(q.documentFrequencies, params));
      const documents = d.readNumber(rows.find((row) => row.term === null)!.n);
      counts.observe(documents);
      for (const row of rows) {
        if (row.term === null) continue;
        const n = d.readNumber(row.n);
        frequencies.set(row.term as string, n);
        if (n >= commonTerm) counts.set(row.term as string, n);
      }
      return { frequencies, documents };
    },

    async labelFrequencies(labels) {
      const frequencies = new Map<string, number>();
      const counted = labels.filter((label) => {
        const kept = counts.get(labelKey(label));
        if (kept !== undefined) frequencies.set(labelKey(label), kept);
        return kept === undefined;
      });
      if (counted.length === 0) return frequencies;
      const params =
        d.kind === "sqlite"
          ? [JSON.stringify(counted.map((label) => [label.key, label.value]))]
          : [counted.map((label) => label.key), counted.map((label) => label.value)];
      const rows = await backend.read(() => all(q.labelFrequencies, params));
      for (const row of rows) {
        const key = labelKey({ key: row.key as string, value: row.value as string });
        const n = d.readNumber(row.n);
        frequencies.set(key, n);
        if (n >= commonCount) counts.set(key, n);
      }
      return frequencies;
    },

    async features(ids) {
      if (ids.length === 0) return new Map();
      return backend.read(() => features(ids));
    },
  };
}
