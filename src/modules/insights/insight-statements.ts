import type { Dialect, Statement } from "../../db/sql-work.js";
import { criteriaSql } from "../incidents/incident-criteria-sql.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import type { MetricsGroupBy } from "./insight-enums.js";

const s = (name: string, text: string): Statement => ({ name, text });

/** Statements of merges and template history, written once; `d` supplies what differs. */
export function insightStatements(d: Dialect) {
  return {
    /** Every incident of a merge, locked in id order by every merge, so that two merges never wait on each other. */
    lockIncidents: s(
      "insights_lock_incidents",
      `SELECT id, title, status, merged_into, service_id FROM incidents WHERE ${d.inList("id", "bigint")} ORDER BY id${d.forUpdate}`,
    ),
    moveAlerts: s(
      "insights_move_alerts",
      `UPDATE alerts SET incident_id = ? WHERE ${d.inList("incident_id", "bigint")} RETURNING id`,
    ),
    touchTarget: s("insights_touch_target", `UPDATE incidents SET version = version + 1, updated_at = ? WHERE id = ? RETURNING id`),
    /** A merged duplicate is closed by the system: the state machine is not walked, a closed one keeps its times. */
    closeSource: s(
      "insights_close_source",
      `UPDATE incidents SET merged_into = ?, status = 'CLOSED', version = version + 1, updated_at = ?,
         resolved_at = COALESCE(resolved_at, ?), closed_at = CASE WHEN status = 'CLOSED' THEN closed_at ELSE ? END
       WHERE id = ? RETURNING id`,
    ),
    insertEntry: s(
      "insights_insert_merge_entry",
      `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
       VALUES (?, 'MERGE', ?, ?, ?, ?, ?) RETURNING id`,
    ),
    /** The titles and times of services' incidents, each service over its own window: parameters from `historyParams`. */
    serviceHistory:
      d.kind === "sqlite"
        ? s(
            "insights_service_history",
            `SELECT i.service_id, i.title, i.created_at FROM json_each(?) AS w
             JOIN incidents AS i ON i.service_id = json_extract(w.value, '$[0]')
               AND i.created_at >= json_extract(w.value, '$[1]') AND i.created_at < json_extract(w.value, '$[2]')`,
          )
        : s(
            "insights_service_history",
            `SELECT i.service_id, i.title, i.created_at FROM unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[]) AS w(service_id, lo, hi)
             JOIN incidents AS i ON i.service_id = w.service_id AND i.created_at >= w.lo AND i.created_at < w.hi`,
          ),
  };
}

export type InsightStatements = ReturnType<typeof insightStatements>;

export interface HistoryWindow {
  serviceId: number;
  from: Date;
  to: Date;
}

export function historyParams(d: Dialect, windows: readonly HistoryWindow[]): unknown[] {
  if (d.kind === "sqlite") return [JSON.stringify(windows.map((w) => [w.serviceId, w.from.getTime(), w.to.getTime()]))];
  return [windows.map((w) => w.serviceId), windows.map((w) => w.from), windows.map((w) => w.to)];
}

/** One bucket of a metrics range: rows report `label`; incidents created in [lo, hi) fall in it. */
export interface BucketBounds {
  label: Date;
  lo: Date;
  hi: Date;
}

/** The percentiles DurationStats shows; SQLite's nearest_ranks() (db/sqlite.ts) returns the same ones, in this order. */
export const PERCENTILES = [50, 90, 95] as const;

/** A duration in milliseconds, an integer on both backends. */
const millis = (d: Dialect, end: string, start: string) =>
  d.kind === "sqlite" ? `(${end} - ${start})` : `round(extract(epoch from (${end} - ${start})) * 1000)::bigint`;

/**
 * Metrics in one statement: incidents joined to their bucket (a list of [lo, hi) bounds computed for the time zone),
 * grouped by bucket and the chosen dimensions: counts, sums, maxima, and each percentile the value at the nearest
 * rank of its group's sorted durations.
 * Rows come out in the contract's order: bucket, service name, priority (CRITICAL first), assignee name.
 */
export function metricsStatement(
  d: Dialect,
  groupBy: readonly MetricsGroupBy[],
  criteria: IncidentCriteria,
  buckets: readonly BucketBounds[],
  limit: number,
) {
  const filter = criteriaSql(d, criteria);
  const by = new Set(groupBy);
  const service = by.has("SERVICE") ? "i.service_id" : "CAST(NULL AS bigint)";
  const priority = by.has("PRIORITY") ? "i.priority" : "CAST(NULL AS text)";
  const assignee = by.has("ASSIGNEE") ? "i.assignee_id" : "CAST(NULL AS bigint)";
  const bounds =
    d.kind === "sqlite"
      ? `b(label, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))`
      : `b(label, lo, hi) AS (SELECT * FROM unnest(?::timestamptz[], ?::timestamptz[], ?::timestamptz[]))`;
  const boundParams =
    d.kind === "sqlite"
      ? [JSON.stringify(buckets.map((b) => [b.label.getTime(), b.lo.getTime(), b.hi.getTime()]))]
      : [buckets.map((b) => b.label), buckets.map((b) => b.lo), buckets.map((b) => b.hi)];
  const group = "bucket, service_id, priority, assignee_id";
  const done = "i.status IN ('RESOLVED', 'CLOSED')";
  // Each group's durations in order, once per metric: SQLite's nearest_ranks() aggregate sorts them and returns the
  // values at the nearest ranks; PostgreSQL keeps the ordered array and the outer query indexes it. Ranks are
  // integers, ceil(p * n / 100) = (p * n + 99) / 100: no floating point decides which value is picked.
  const ranked = (metric: string) =>
    d.kind === "sqlite"
      ? `nearest_ranks(${metric}_ms) AS ${metric}_ranks`
      : `array_agg(${metric}_ms ORDER BY ${metric}_ms) FILTER (WHERE ${metric}_ms IS NOT NULL) AS ${metric}_ranks`;
  const pick = (metric: string, p: number, index: number) =>
    d.kind === "sqlite"
      ? `json_extract(g.${metric}_ranks, '$[${index}]') AS ${metric}_p${p}`
      : `g.${metric}_ranks[((${p} * g.${metric}_count + 99) / 100)::int] AS ${metric}_p${p}`;
  const statsOf = (metric: string) =>
    `count(${metric}_ms) AS ${metric}_count, sum(${metric}_ms) AS ${metric}_sum, max(${metric}_ms) AS ${metric}_max, ${ranked(metric)}`;
  const picks = ["ack", "res"].flatMap((metric) => PERCENTILES.map((p, index) => pick(metric, p, index))).join(", ");
  const order = [
    "g.bucket",
    ...(by.has("SERVICE") ? [`s.name IS NULL`, `s.name${d.binary}`, "g.service_id"] : []),
    ...(by.has("PRIORITY") ? [`CASE g.priority WHEN 'CRITICAL' THEN 1 WHEN 'HIGH' THEN 2 WHEN 'MEDIUM' THEN 3 ELSE 4 END`] : []),
    ...(by.has("ASSIGNEE") ? [`u.name IS NULL`, `u.name${d.binary}`, "g.assignee_id"] : []),
  ].join(", ");
  const text = `WITH ${bounds},
    base AS (
      SELECT b.label AS bucket, ${service} AS service_id, ${priority} AS priority, ${assignee} AS assignee_id,
        ${millis(d, "i.acknowledged_at", "i.created_at")} AS ack_ms,
        CASE WHEN ${done} THEN ${millis(d, "i.resolved_at", "i.created_at")} END AS res_ms,
        CASE WHEN ${done} THEN 1 ELSE 0 END AS resolved,
        CASE WHEN ${done} AND i.resolved_by_system THEN 1 ELSE 0 END AS auto_resolved
      FROM b JOIN incidents AS i ON i.created_at >= b.lo AND i.created_at < b.hi
      WHERE 1 = 1${filter.text}),
    g AS (
      SELECT ${group}, count(*) AS created, count(ack_ms) AS acknowledged, sum(resolved) AS resolved,
        sum(auto_resolved) AS auto_resolved, ${statsOf("ack")}, ${statsOf("res")}
      FROM base GROUP BY ${group})
    SELECT g.bucket, g.service_id, g.priority, g.assignee_id, g.created, g.acknowledged, g.resolved, g.auto_resolved,
      g.ack_count, g.ack_sum, g.ack_max, g.res_count, g.res_sum, g.res_max, ${picks}
    FROM g
    ${by.has("SERVICE") ? "LEFT JOIN services AS s ON s.id = g.service_id" : ""}
    ${by.has("ASSIGNEE") ? "LEFT JOIN users AS u ON u.id = g.assignee_id" : ""}
    ORDER BY ${order}
    LIMIT ?`;
  const name = `insights_metrics_${[...by].sort().join("_") || "none"}_${filter.shape || "all"}`;
  return { statement: s(name, text), params: [...boundParams, ...filter.params, limit] };
}
