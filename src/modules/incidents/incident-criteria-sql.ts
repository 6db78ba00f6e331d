import type { Dialect } from "../../db/sql-work.js";
import type { IncidentCriteria } from "./incident.repository.js";

/** A WHERE fragment over `incidents AS i`, with its parameters; `shape` names which conditions it holds. */
export interface BoundFilter {
  shape: string;
  text: string;
  params: unknown[];
}

/**
 * IncidentFilter's conditions as SQL over `incidents AS i`, as the incident list applies them, for the statements
 * written by hand (metrics, search): ` AND ...` for each condition present. Words and label pairs are bound as one
 * list each, so a statement has one text per shape, whatever their number.
 */
export function criteriaSql(d: Dialect, criteria: IncidentCriteria): BoundFilter {
  const parts: string[] = [];
  const params: unknown[] = [];
  let shape = "";
  const add = (flag: string, text: string, ...values: unknown[]) => {
    shape += flag;
    parts.push(text);
    params.push(...values);
  };
  if (criteria.statuses) add("s", d.inList("i.status", "text"), d.list(criteria.statuses));
  if (criteria.priorities) add("p", d.inList("i.priority", "text"), d.list(criteria.priorities));
  if (criteria.assigneeId !== undefined) add("a", "i.assignee_id = ?", criteria.assigneeId);
  if (criteria.reporterId !== undefined) add("r", "i.reporter_id = ?", criteria.reporterId);
  if (criteria.createdAfter) add(">", "i.created_at > ?", d.time(criteria.createdAfter));
  if (criteria.createdBefore) add("<", "i.created_at < ?", d.time(criteria.createdBefore));
  if (criteria.serviceIds) add("v", d.inList("i.service_id", "bigint"), d.list(criteria.serviceIds));
  if (criteria.labels?.length) {
    const pairs =
      d.kind === "sqlite"
        ? `SELECT json_extract(value, '$[0]') AS key, json_extract(value, '$[1]') AS value FROM json_each(?)`
        : `SELECT * FROM unnest(?::text[], ?::text[]) AS p(key, value)`;
    const values =
      d.kind === "sqlite"
        ? [JSON.stringify(criteria.labels.map((label) => [label.key, label.value]))]
        : [criteria.labels.map((label) => label.key), criteria.labels.map((label) => label.value)];
    add(
      "l",
      `NOT EXISTS (SELECT 1 FROM (${pairs}) AS wanted WHERE NOT EXISTS (
         SELECT 1 FROM incident_labels AS x WHERE x.incident_id = i.id AND x.key = wanted.key AND x.value = wanted.value))`,
      ...values,
    );
  }
  if (criteria.words?.length) {
    const missing = (text: string) => `strpos(lower(${text}), w.word) = 0`;
    add(
      "w",
      d.kind === "sqlite"
        ? "has_every_word(i.title, i.description, ?) = 1"
        : `NOT EXISTS (SELECT 1 FROM (SELECT * FROM unnest(?::text[]) AS p(word)) AS w WHERE ${missing("i.title")} AND ${missing("i.description")})`,
      d.list(criteria.words),
    );
  }
  return { shape, text: parts.map((part) => ` AND ${part}`).join(""), params };
}
