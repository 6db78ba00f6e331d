import type { Dialect, Statement } from "../../db/sql-work.js";

// The statements of search and similarity. Only the full-text parts differ between the backends: SQLite's FTS5
// table `incident_fts` (bm25, lower is better, weights title 10, description 4, notes 1) and PostgreSQL's
// `incident_search.doc` tsvector (ts_rank_cd with the A/B/C weights of the document, higher is better).

/** Similarity ranks at most this many of the most recent incidents matching any of its terms. */
export const recentMatches = 1_000;

/** bm25 weights of the FTS5 columns: title, description, notes. */
const bm25 = `bm25(incident_fts, 10.0, 4.0, 1.0)`;

/**
 * A full-text condition, its score expression (higher is better) and the order it sorts by. Joined with
 * incidents as `i` when a filter or window needs them; alone otherwise (every indexed document is an incident's).
 */
interface TextMatch {
  from: string;
  id: string;
  score: string;
  order: string;
}

function textMatch(d: Dialect, withIncidents: boolean): TextMatch {
  if (d.kind === "sqlite") {
    const id = withIncidents ? "i.id" : "f.rowid";
    return {
      // CROSS JOIN keeps the index first: a filter on incidents (a service, a status) never turns the plan into a
      // walk over incidents that probes the index once per row.
      from: `incident_fts f${withIncidents ? " CROSS JOIN incidents i ON i.id = f.rowid" : ""} WHERE incident_fts MATCH ?`,
      id,
      score: `-${bm25}`,
      order: `${bm25}, ${id} DESC`,
    };
  }
  const id = withIncidents ? "i.id" : "f.incident_id";
  return {
    from: `incident_search f${withIncidents ? " JOIN incidents i ON i.id = f.incident_id" : ""}, to_tsquery('incident_search', ?) q WHERE f.doc @@ q`,
    id,
    score: `ts_rank_cd(f.doc, q)`,
    order: `ts_rank_cd(f.doc, q) DESC, ${id} DESC`,
  };
}

export function intelligenceStatements(d: Dialect) {
  const s = (name: string, text: string): Statement => ({ name, text });
  const match = textMatch(d, true);
  return {
    /** Parameters: the text query, the criteria's, the limit. The text is read for the page only. */
    search: (shape: string, conditions: string) => {
      const hit = textMatch(d, shape !== "");
      return s(
        `intelligence_search_${shape}`,
        `WITH hits AS (SELECT ${hit.id} AS id, ${hit.score} AS score FROM ${hit.from}${conditions} ORDER BY ${hit.order} LIMIT ?)
         SELECT h.id, h.score, t.title, t.description, t.notes FROM hits h JOIN incident_search t ON t.incident_id = h.id
         ORDER BY h.score DESC, h.id DESC`,
      );
    },
    /**
     * Candidates for similarity: the incidents whose text matches any of the distinctive terms, best first, among
     * the `recentMatches` most recent matches in the window (a common problem can match a third of a long history;
     * ranking all of them would cost as much as the history is long). Parameters: `candidateParams`.
     */
    candidates: (sameService: boolean) => {
      const service = sameService ? `AND ${d.same("i.service_id", "?")}` : "";
      // The incident itself is never a candidate, nor those merged into it (a draft's id, 0, names neither: merged_into
      // is null, not 0, on every incident not merged).
      const window = `AND i.created_at >= ? AND i.created_at <= ? AND ? NOT IN (i.id, coalesce(i.merged_into, -1)) ${service}`;
      // The newest matches first: FTS5 walks its doclists in rowid order, and bm25 is computed for those kept only.
      return d.kind === "sqlite"
        ? s(
            `intelligence_candidates_${sameService ? "service" : "all"}`,
            `SELECT id, score FROM (
               SELECT i.id, ${match.score} AS score FROM ${match.from} ${window}
               ORDER BY f.rowid DESC LIMIT ${recentMatches})
             ORDER BY score DESC, id DESC LIMIT ?`,
          )
        : s(
            `intelligence_candidates_${sameService ? "service" : "all"}`,
            `WITH recent AS (SELECT i.id, f.doc FROM ${match.from} ${window} ORDER BY f.incident_id DESC LIMIT ${recentMatches})
             SELECT r.id, ts_rank_cd(r.doc, q) AS score FROM recent r, to_tsquery('incident_search', ?) q
             ORDER BY score DESC, r.id DESC LIMIT ?`,
          );
    },
    /** The parameters of `candidates`, in the order its dialect's text binds them. */
    candidateParams: (query: string, window: readonly unknown[], limit: number): unknown[] =>
      d.kind === "sqlite" ? [query, ...window, limit] : [query, ...window, query, limit],
    /** Documents containing each term (exactly), and the highest incident id as the size of the collection. */
    documentFrequencies:
      d.kind === "sqlite"
        ? s(
            "intelligence_document_frequencies",
            `SELECT term, doc AS n FROM incident_fts_vocab WHERE term IN (SELECT value FROM json_each(?))
             UNION ALL SELECT NULL, coalesce(max(id), 0) FROM incidents`,
          )
        : // Counted from the GIN index up to 200: past that a term is common, and its exact count does not matter.
          s(
            "intelligence_document_frequencies",
            `SELECT t.term, (SELECT count(*) FROM (SELECT 1 FROM incident_search WHERE doc @@ to_tsquery('incident_search', t.query) LIMIT 200) c) AS n
             FROM unnest(?::text[], ?::text[]) AS t(term, query)
             UNION ALL SELECT NULL, coalesce(max(id), 0) FROM incidents`,
          ),
    /**
     * Incidents carrying each pair, for label rarity, counted up to a fifth of the history: a pair that common
     * weighs nothing whatever its exact count (env=prod on most incidents would otherwise be a long count).
     * Parameters: the pairs (SQLite: one JSON array of [key, value]; PostgreSQL: keys, values).
     */
    labelFrequencies:
      d.kind === "sqlite"
        ? s(
            "intelligence_label_frequencies",
            `SELECT json_extract(p.value, '$[0]') AS key, json_extract(p.value, '$[1]') AS value,
               (SELECT count(*) FROM (SELECT 1 FROM incident_labels l
                  WHERE l.key = json_extract(p.value, '$[0]') AND l.value = json_extract(p.value, '$[1]')
                  LIMIT (SELECT coalesce(max(id), 0) / 5 + 1 FROM incidents))) AS n
             FROM json_each(?) p`,
          )
        : s(
            "intelligence_label_frequencies",
            `SELECT p.key, p.value,
               (SELECT count(*) FROM (SELECT 1 FROM incident_labels l WHERE l.key = p.key AND l.value = p.value
                  LIMIT (SELECT coalesce(max(id), 0) / 5 + 1 FROM incidents)) c) AS n
             FROM unnest(?::text[], ?::text[]) AS p(key, value)`,
          ),
    /** What similarity compares, for a list of incidents. */
    features: s(
      "intelligence_features",
      `SELECT i.id, i.status, i.service_id, i.created_at, t.title, t.description, t.notes
       FROM incidents i JOIN incident_search t ON t.incident_id = i.id WHERE ${d.inList("i.id", "bigint")}`,
    ),
    labels: s(
      "intelligence_labels",
      `SELECT incident_id, key, value FROM incident_labels WHERE ${d.inList("incident_id", "bigint")} ORDER BY incident_id, key${d.binary}`,
    ),
    alerts: s(
      "intelligence_alerts",
      `SELECT incident_id, fingerprint, ${d.jsonText("labels")} AS alertname FROM alerts WHERE ${d.inList("incident_id", "bigint")}`,
    ),
  };
}

export type IntelligenceStatements = ReturnType<typeof intelligenceStatements>;
