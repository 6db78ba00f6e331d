import type { SqlBackend } from "../../db/sql-backend.js";
import { all, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import { groupBy } from "../../shared/group-by.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import type { IncidentStatus } from "../incidents/incident-status.js";
import type { Label } from "../services/label.rules.js";
import { fts5Query, tsQuery } from "./search-terms.js";
import { criteriaSql } from "../incidents/incident-criteria-sql.js";
import { intelligenceStatements } from "./intelligence-statements.js";

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
  /** Documents containing each term (PostgreSQL counts up to 200). */
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

/** Search and similarity reads, written once for both backends; the full-text query string is the dialect's. */
export function createIntelligenceRepository(backend: SqlBackend): IntelligenceRepository {
  const d: Dialect = backend.dialect;
  const q = intelligenceStatements(d);
  const textQuery = d.kind === "sqlite" ? fts5Query : tsQuery;

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
      const params = d.kind === "sqlite" ? [d.list(terms)] : [d.list(terms), d.list(terms.map((term) => tsQuery([term], "all").replace(/:\*$/, "")))];
      const rows = await backend.read(() => all(q.documentFrequencies, params));
      const frequencies = new Map<string, number>();
      let documents = 0;
      for (const row of rows) {
        if (row.term === null) documents = d.readNumber(row.n);
        else frequencies.set(row.term as string, d.readNumber(row.n));
      }
      return { frequencies, documents };
    },

    async labelFrequencies(labels) {
      if (labels.length === 0) return new Map();
      const params =
        d.kind === "sqlite"
          ? [JSON.stringify(labels.map((label) => [label.key, label.value]))]
          : [labels.map((label) => label.key), labels.map((label) => label.value)];
      const rows = await backend.read(() => all(q.labelFrequencies, params));
      return new Map(rows.map((row) => [`${row.key as string}=${row.value as string}`, d.readNumber(row.n)]));
    },

    async features(ids) {
      if (ids.length === 0) return new Map();
      return backend.read(() => features(ids));
    },
  };
}
