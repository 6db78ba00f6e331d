import type { Dialect, Statement } from "../../db/sql-work.js";

// The statements of search and similarity. Only the full-text parts differ between the backends. Each backend has
// two indexes: one document per incident for its title and description (SQLite: the FTS5 table `incident_fts`,
// bm25 weights title 10, description 4; PostgreSQL: `incident_search.doc`, weights A and B), and one document per
// NOTE entry of the timeline (`incident_note_fts`, weight 1; `incident_note_search.doc`, weight C). A note is indexed
// once, when it is added, whatever the incident already holds. An incident's text score is its title/description
// score plus that of its best matching note; search asks for every word, each found in either index.

/** Notes of an incident that similarity reads, the first ones: 20 of at most 10,000 characters each. */
export const featureNotes = 20;

/** Alerts of an incident that similarity reads, the first ones. */
export const featureAlerts = 200;

/** Similarity ranks at most this many of the most recent incidents (and as many notes) matching any of its terms. */
export const recentMatches = 1_000;

/**
 * SQLite: a note's bm25 (its own document, weight 1) counts for this much beside the title and description's. Tuned
 * on the labelled set (`npm run eval:similar`): at 1 the BM25-only baseline gains more than Incident.similar does.
 * The two FTS5 tables keep their own term statistics: a word rarer among notes than among titles weighs more in a
 * note than its 1 to 10 weight says (seen in small collections, where the notes outnumber the incidents).
 */
const noteBm25 = `bm25(incident_note_fts) * 0.65`;

/** Notes read to count the incidents whose notes hold a term (PostgreSQL). */
const countedNotes = 1_000;

/** PostgreSQL counts a term's incidents up to this many: past that a term is common, and its exact count does not matter. */
export const countedDocuments = 200;

/**
 * The incidents with every search term in their title, description or notes, as `hits(id, score, log)`: `log` is
 * the first note that matched a term. Two kinds, so that the common case costs one index query as before:
 * - `whole`: every term in the title or description, one AND query on the per-incident index;
 * - `mixed`: incidents with a note matching some term (only they can have a term in notes alone), each term then
 *   looked up in their own title/description document and in their notes.
 * A score is the sum over terms of the title/description score and the best note's (bm25 and ts_rank_cd of one
 * term each; bm25 of an AND query is that same sum). Parameters: the terms' queries, one each (SQLite: a JSON
 * array; PostgreSQL: an array), then the AND query of all of them.
 */
function searchHits(d: Dialect): string {
  if (d.kind === "sqlite") {
    return `terms(t, q) AS (SELECT key, value FROM json_each(?)),
      -- MATERIALIZED: bm25 is computed while FTS5 is on the row, not in the grouping after it.
      note_matches(t, id, s, log) AS MATERIALIZED (
        SELECT terms.t, l.incident_id, -${noteBm25}, n.rowid
        FROM terms CROSS JOIN incident_note_fts n CROSS JOIN incident_logs l ON l.id = n.rowid WHERE incident_note_fts MATCH terms.q),
      notes(t, id, s, log) AS (SELECT t, id, max(s), min(log) FROM note_matches GROUP BY t, id),
      -- Each term's doclist walked once, kept for the incidents with a matching note (the unary + keeps that test out
      -- of FTS5: probing by rowid would expand a prefix term once per incident).
      heads(t, id, s) AS MATERIALIZED (
        SELECT terms.t, f.rowid, -bm25(incident_fts, 10.0, 4.0)
        FROM terms CROSS JOIN incident_fts f WHERE incident_fts MATCH terms.q AND +f.rowid IN (SELECT id FROM notes)),
      mixed(id, score, log) AS (
        SELECT id, sum(s), min(log) FROM (
          SELECT id, t, sum(s) AS s, min(log) AS log FROM (SELECT id, t, s, NULL AS log FROM heads UNION ALL SELECT id, t, s, log FROM notes) GROUP BY id, t)
        GROUP BY id HAVING count(*) = (SELECT count(*) FROM terms)),
      whole(id, score) AS (SELECT f.rowid, -bm25(incident_fts, 10.0, 4.0) FROM incident_fts f WHERE incident_fts MATCH ?),
      hits(id, score, log) AS (SELECT id, score, log FROM mixed UNION ALL SELECT id, score, NULL FROM whole WHERE id NOT IN (SELECT id FROM mixed))`;
  }
  return `terms AS (SELECT u.t, to_tsquery('incident_search', u.q) AS q FROM unnest(?::text[]) WITH ORDINALITY AS u(q, t)),
      notes AS (
        SELECT terms.t, n.incident_id AS id, max(ts_rank_cd(n.doc, terms.q)) AS s, min(n.log_id) AS log
        FROM terms JOIN incident_note_search n ON n.doc @@ terms.q GROUP BY terms.t, n.incident_id),
      heads AS (
        SELECT terms.t, f.incident_id AS id, ts_rank_cd(f.doc, terms.q) AS s
        FROM (SELECT DISTINCT id FROM notes) c JOIN incident_search f ON f.incident_id = c.id JOIN terms ON f.doc @@ terms.q),
      mixed AS (
        SELECT id, sum(s) AS score, min(log) AS log FROM (
          SELECT id, t, sum(s) AS s, min(log) AS log FROM (SELECT id, t, s, NULL::bigint AS log FROM heads UNION ALL SELECT id, t, s, log FROM notes) x
          GROUP BY id, t) y
        GROUP BY id HAVING count(*) = (SELECT count(*) FROM terms)),
      whole AS (
        SELECT f.incident_id AS id, (SELECT sum(ts_rank_cd(f.doc, terms.q)) FROM terms) AS score
        FROM incident_search f, to_tsquery('incident_search', ?) q WHERE f.doc @@ q),
      hits AS (SELECT id, score, log FROM mixed UNION ALL SELECT id, score, NULL FROM whole WHERE id NOT IN (SELECT id FROM mixed))`;
}

export function intelligenceStatements(d: Dialect) {
  const s = (name: string, text: string): Statement => ({ name, text });
  return {
    /**
     * Incidents with every term in their title, description or notes (a term may be in the title, another in a
     * note), best first: title above description above notes. Parameters: `searchParams`, the criteria's, the limit. The text is read for the page only: title, description and the first matching note.
     */
    search: (shape: string, conditions: string) => {
      const filtered = shape !== "";
      return s(
        `intelligence_search_${shape}`,
        `WITH ${searchHits(d)},
         page AS (SELECT h.id, h.score, h.log FROM hits h${filtered ? ` ${d.kind === "sqlite" ? "CROSS JOIN" : "JOIN"} incidents i ON i.id = h.id WHERE true${conditions}` : ""}
           ORDER BY h.score DESC, h.id DESC LIMIT ?)
         SELECT p.id, p.score, t.title, t.description, coalesce(n.message, '') AS notes
         FROM page p JOIN incident_search t ON t.incident_id = p.id LEFT JOIN incident_logs n ON n.id = p.log
         ORDER BY p.score DESC, p.id DESC`,
      );
    },
    /**
     * Candidates for similarity: the incidents whose text matches any of the distinctive terms, best first, among
     * the `recentMatches` most recent matches in the window, in titles and descriptions and in notes (a common
     * problem can match a third of a long history; ranking all of them would cost as much as the history is long).
     * Parameters: `candidateParams`.
     */
    candidates: (sameService: boolean) => {
      const service = sameService ? `AND ${d.same("i.service_id", "?")}` : "";
      // The incident itself is never a candidate, nor those merged into it (a draft's id, 0, names neither: merged_into
      // is null, not 0, on every incident not merged).
      const window = `AND i.created_at >= ? AND i.created_at <= ? AND ? NOT IN (i.id, coalesce(i.merged_into, -1)) ${service}`;
      const name = `intelligence_candidates_${sameService ? "service" : "all"}`;
      const best = `SELECT id, coalesce(max(head), 0) + coalesce(max(note), 0) AS score FROM scored GROUP BY id ORDER BY score DESC, id DESC LIMIT ?`;
      // The newest matches first: FTS5 walks its doclists in rowid order, and bm25 is computed for those kept only.
      return d.kind === "sqlite"
        ? s(
            name,
            `WITH scored(id, head, note) AS (
               SELECT * FROM (SELECT i.id, -bm25(incident_fts, 10.0, 4.0), NULL FROM incident_fts f CROSS JOIN incidents i ON i.id = f.rowid
                 WHERE incident_fts MATCH ? ${window} ORDER BY f.rowid DESC LIMIT ${recentMatches})
               UNION ALL
               SELECT * FROM (SELECT i.id, NULL, -${noteBm25} FROM incident_note_fts n CROSS JOIN incident_logs l ON l.id = n.rowid
                 CROSS JOIN incidents i ON i.id = l.incident_id
                 WHERE incident_note_fts MATCH ? ${window} ORDER BY n.rowid DESC LIMIT ${recentMatches}))
             ${best}`,
          )
        : s(
            name,
            `WITH heads AS (SELECT i.id, f.doc FROM incident_search f JOIN incidents i ON i.id = f.incident_id, to_tsquery('incident_search', ?) q
               WHERE f.doc @@ q ${window} ORDER BY f.incident_id DESC LIMIT ${recentMatches}),
             notes AS (SELECT i.id, n.doc FROM incident_note_search n JOIN incidents i ON i.id = n.incident_id, to_tsquery('incident_search', ?) q
               WHERE n.doc @@ q ${window} ORDER BY n.log_id DESC LIMIT ${recentMatches}),
             scored AS (
               SELECT h.id, ts_rank_cd(h.doc, q) AS head, NULL::real AS note FROM heads h, to_tsquery('incident_search', ?) q
               UNION ALL
               SELECT n.id, NULL, ts_rank_cd(n.doc, q) FROM notes n, to_tsquery('incident_search', ?) q)
             ${best}`,
          );
    },
    /** The text parameters of `search`: each term's query, and all of them required. */
    searchParams: (termQueries: readonly string[], allQuery: string): unknown[] => [d.list(termQueries), allQuery],
    /** The parameters of `candidates`, in the order its dialect's text binds them. */
    candidateParams: (query: string, window: readonly unknown[], limit: number): unknown[] =>
      d.kind === "sqlite" ? [query, ...window, query, ...window, limit] : [query, ...window, query, ...window, query, query, limit],
    /**
     * Incidents containing each term in their title, description or notes, and the highest incident id as the size
     * of the collection. SQLite: the two vocabularies' document counts added, titles and descriptions (one document
     * an incident) and notes (one a note): an incident with the term in two places counts twice, which only makes a
     * term a little less rare. Counting incidents exactly over both indexes read every match of the term: at 100,000
     * incidents with notes, similar() took 25.8 ms against 19.1 ms with this sum, with the same precision on the
     * labelled set. PostgreSQL: up to `countedDocuments`, from at most as many documents and `countedNotes` notes.
     */
    documentFrequencies:
      d.kind === "sqlite"
        ? s(
            "intelligence_document_frequencies",
            `SELECT t.value AS term, coalesce(v.doc, 0) + coalesce(nv.doc, 0) AS n
             FROM json_each(?) t LEFT JOIN incident_fts_vocab v ON v.term = t.value
               LEFT JOIN incident_note_fts_vocab nv ON nv.term = t.value
             UNION ALL SELECT NULL, coalesce(max(id), 0) FROM incidents`,
          )
        : // Counted from the GIN indexes up to `countedDocuments`.
          s(
            "intelligence_document_frequencies",
            `SELECT t.term, least(${countedDocuments}, (SELECT count(DISTINCT m.id) FROM (
                 SELECT a.incident_id AS id FROM (SELECT incident_id FROM incident_search WHERE doc @@ to_tsquery('incident_search', t.query) LIMIT ${countedDocuments}) a
                 UNION ALL
                 SELECT b.incident_id FROM (SELECT incident_id FROM incident_note_search WHERE doc @@ to_tsquery('incident_search', t.query) LIMIT ${countedNotes}) b) m)) AS n
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
    /**
     * What similarity compares, for a list of incidents: their first notes read from the timeline, oldest first. An
     * incident's notes have no limit in number, and a ranking reads up to 60 candidates: their whole notes could be
     * gigabytes; the first `featureNotes` (what was found and tried early) describe the problem as well.
     */
    features: s(
      "intelligence_features",
      `SELECT i.id, i.status, i.service_id, i.created_at, i.title, i.description, coalesce((${
        d.kind === "sqlite" ? `SELECT group_concat(n.message, char(10) ORDER BY n.id)` : `SELECT string_agg(n.message, E'\\n' ORDER BY n.id)`
      } FROM (SELECT l.id, l.message FROM incident_logs l WHERE l.incident_id = i.id AND l.kind = 'NOTE' ORDER BY l.id LIMIT ${featureNotes}) n), '') AS notes
       FROM incidents i WHERE ${d.inList("i.id", "bigint")}`,
    ),
    labels: s(
      "intelligence_labels",
      `SELECT incident_id, key, value FROM incident_labels WHERE ${d.inList("incident_id", "bigint")} ORDER BY incident_id, key${d.binary}`,
    ),
    /**
     * The first `featureAlerts` alerts of each incident (parameters: the alertname key, the ids). A storm leaves tens
     * of thousands on one incident, read for the source and for each of 60 candidates; its first alerts carry its
     * names and fingerprints as well as all of them do.
     */
    alerts: s(
      "intelligence_alerts",
      d.kind === "sqlite"
        ? `SELECT a.incident_id, a.fingerprint, ${d.jsonText("a.labels")} AS alertname FROM json_each(?) AS p
           JOIN alerts a ON a.id IN (SELECT id FROM alerts WHERE incident_id = p.value ORDER BY id LIMIT ${featureAlerts})`
        : `SELECT a.incident_id, a.fingerprint, ${d.jsonText("a.labels")} AS alertname FROM unnest(?::bigint[]) AS p(id)
           CROSS JOIN LATERAL (SELECT incident_id, fingerprint, labels FROM alerts WHERE incident_id = p.id ORDER BY id LIMIT ${featureAlerts}) a`,
    ),
  };
}

export type IntelligenceStatements = ReturnType<typeof intelligenceStatements>;
