import type { Dialect, Statement } from "../../db/sql-work.js";
import { alertEntriesStatement } from "../alerts/alert-statements.js";
import { criteriaSql } from "../incidents/incident-criteria-sql.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import type { MetricsGroupBy } from "./insight-enums.js";

const s = (name: string, text: string): Statement => ({ name, text });

/** Statements of merges and template history, written once; `d` supplies what differs. */
export function insightStatements(d: Dialect) {
  // The windows bound as `historyParams` and `countParams` bind them, as rows (n counts from 1).
  const windows = (alias: string) =>
    d.kind === "sqlite"
      ? `(SELECT key + 1 AS n, json_extract(value, '$[0]') AS service_id, json_extract(value, '$[1]') AS lo,
            json_extract(value, '$[2]') AS hi FROM json_each(?)) AS ${alias}`
      : `unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[]) WITH ORDINALITY AS ${alias}(service_id, lo, hi, n)`;
  const templateWindows = (alias: string) =>
    d.kind === "sqlite"
      ? `(SELECT key + 1 AS n, json_extract(value, '$[0]') AS service_id, json_extract(value, '$[1]') AS template,
            json_extract(value, '$[2]') AS lo, json_extract(value, '$[3]') AS hi FROM json_each(?)) AS ${alias}`
      : `unnest(?::bigint[], ?::text[], ?::timestamptz[], ?::timestamptz[]) WITH ORDINALITY AS ${alias}(service_id, template, lo, hi, n)`;
  return {
    /** Every incident of a merge, locked in id order by every merge, so that two merges never wait on each other. */
    lockIncidents: s(
      "insights_lock_incidents",
      `SELECT id, title, status, merged_into, service_id FROM incidents WHERE ${d.inList("id", "bigint")} ORDER BY id${d.forNoKeyUpdate}`,
    ),
    moveAlerts: s(
      "insights_move_alerts",
      `UPDATE alerts SET incident_id = ?, incident_active = ? WHERE ${d.inList("incident_id", "bigint")} RETURNING id`,
    ),
    touchTarget: s("insights_touch_target", `UPDATE incidents SET version = version + 1, updated_at = ? WHERE id = ? RETURNING id`),
    /** A merged duplicate is closed by the system: the state machine is not walked, a closed one keeps its times. */
    closeSource: s(
      "insights_close_source",
      `UPDATE incidents SET merged_into = ?, status = 'CLOSED', version = version + 1, updated_at = ?,
         resolved_at = COALESCE(resolved_at, ?), closed_at = CASE WHEN status = 'CLOSED' THEN closed_at ELSE ? END
       WHERE id = ? RETURNING id`,
    ),
    /** A merge into a RESOLVED target: the alerts it received still firing resolve with it (section 9: never attached to a resolved incident). */
    resolveFiringOfTarget: s(
      "insights_resolve_firing_of_target",
      `UPDATE alerts SET status = 'RESOLVED', resolved_at = ? WHERE incident_id = ? AND status = 'FIRING' RETURNING id`,
    ),
    insertAlertEntries: alertEntriesStatement(d),
    insertEntry: s(
      "insights_insert_merge_entry",
      `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
       VALUES (?, 'MERGE', ?, ?, ?, ?, ?) RETURNING id`,
    ),
    // --- title templates (incident_templates, written by the evidence: template-evidence.ts)
    /** Per window (`historyParams`): the service's incidents in it, and how many of them have their template kept. */
    templateCoverage: s(
      "insights_template_coverage",
      `SELECT w.n - 1 AS window,
         (SELECT count(*) FROM incidents i WHERE i.service_id = w.service_id AND i.created_at >= w.lo AND i.created_at < w.hi) AS total,
         (SELECT count(*) FROM incident_templates t WHERE t.service_id = w.service_id AND t.created_at >= w.lo AND t.created_at < w.hi) AS kept
       FROM ${windows("w")}`,
    ),
    /** The incidents of the windows (`historyParams`) whose template is not kept yet. */
    untemplated: s(
      "insights_untemplated",
      `SELECT i.id, i.service_id, i.title, i.created_at FROM ${windows("w")}
       JOIN incidents AS i ON i.service_id = w.service_id AND i.created_at >= w.lo AND i.created_at < w.hi
       WHERE NOT EXISTS (SELECT 1 FROM incident_templates t WHERE t.incident_id = i.id)`,
    ),
    /**
     * Keeps templates (`templateParams`), each only if its incident still has the title, service and time it was
     * computed from: a title changed meanwhile has its own template computed next time. PostgreSQL: the incident is
     * locked (FOR SHARE), so that a title change not yet committed is waited for and then seen, not passed by (its
     * trigger would have found no row to drop); in id order, so that two first looks never wait on each other.
     */
    keepTemplates:
      d.kind === "sqlite"
        ? s(
            "insights_keep_templates",
            `INSERT OR IGNORE INTO incident_templates (incident_id, service_id, template, created_at)
             SELECT i.id, i.service_id, json_extract(k.value, '$[2]'), i.created_at FROM json_each(?) AS k
             JOIN incidents AS i ON i.id = json_extract(k.value, '$[0]') AND i.title = json_extract(k.value, '$[1]')
               AND i.service_id = json_extract(k.value, '$[3]') AND i.created_at = json_extract(k.value, '$[4]')`,
          )
        : s(
            "insights_keep_templates",
            `INSERT INTO incident_templates (incident_id, service_id, template, created_at)
             SELECT i.id, i.service_id, k.template, i.created_at
             FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::timestamptz[]) AS k(id, title, template, service_id, created_at)
             JOIN incidents AS i ON i.id = k.id AND i.title = k.title AND i.service_id = k.service_id AND i.created_at = k.created_at
             ORDER BY i.id
             FOR SHARE OF i
             ON CONFLICT (incident_id) DO NOTHING`,
          ),
    /**
     * Per incident of the batch (`countParams`): the service's incidents with its template in the 30 days before it,
     * and all the service's incidents in those days.
     */
    templateCounts: s(
      "insights_template_counts",
      `SELECT c.n - 1 AS position,
         (SELECT count(*) FROM incident_templates t WHERE t.service_id = c.service_id AND t.template = c.template
            AND t.created_at >= c.lo AND t.created_at < c.hi) AS same,
         (SELECT count(*) FROM incidents i WHERE i.service_id = c.service_id AND i.created_at >= c.lo AND i.created_at < c.hi) AS total
       FROM ${templateWindows("c")}`,
    ),
  };
}

export type InsightStatements = ReturnType<typeof insightStatements>;

/** A template worked out for an incident, from the title, service and time it was read with. */
export interface KeptTemplate {
  incidentId: number;
  title: string;
  template: string;
  serviceId: number;
  createdAt: Date;
}

export function templateParams(d: Dialect, kept: readonly KeptTemplate[]): unknown[] {
  if (d.kind === "sqlite") return [JSON.stringify(kept.map((k) => [k.incidentId, k.title, k.template, k.serviceId, k.createdAt.getTime()]))];
  return [kept.map((k) => k.incidentId), kept.map((k) => k.title), kept.map((k) => k.template), kept.map((k) => k.serviceId), kept.map((k) => k.createdAt)];
}

/** An incident's window of evidence: its service, its template, and [from, to). */
export interface TemplateWindow extends HistoryWindow {
  template: string;
}

export function countParams(d: Dialect, windows: readonly TemplateWindow[]): unknown[] {
  if (d.kind === "sqlite") return [JSON.stringify(windows.map((w) => [w.serviceId, w.template, w.from.getTime(), w.to.getTime()]))];
  return [windows.map((w) => w.serviceId), windows.map((w) => w.template), windows.map((w) => w.from), windows.map((w) => w.to)];
}

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

/** The percentiles DurationStats shows; SQLite's duration_stats() (db/sqlite.ts) returns the same ones, in this order. */
export const PERCENTILES = [50, 90, 95] as const;

/** Each duration's statistics, as columns of every metrics row, in the order duration_stats() returns them. */
const STATS = ["count", "sum", "max", ...PERCENTILES.map((p) => `p${p}`)];
const STATS_COLUMNS = ["ack", "res"].flatMap((metric) => STATS.map((stat) => `${metric}_${stat}`));

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
  const dims = {
    service_id: by.has("SERVICE") ? "i.service_id" : "CAST(NULL AS bigint)",
    priority: by.has("PRIORITY") ? "i.priority" : "CAST(NULL AS text)",
    assignee_id: by.has("ASSIGNEE") ? "i.assignee_id" : "CAST(NULL AS bigint)",
  };
  const done = "i.status IN ('RESOLVED', 'CLOSED')";
  // Each incident's durations and flags; the flags are counted (1 or NULL): count() is the cheapest aggregate step,
  // and most incidents are not resolved by the system, so that test comes first and the status is compared only for
  // those that are.
  const columns: IncidentColumns = {
    ack: `${millis(d, "i.acknowledged_at", "i.created_at")} AS ack_ms`,
    res: `CASE WHEN ${done} THEN ${millis(d, "i.resolved_at", "i.created_at")} END AS res_ms`,
    resolved: `CASE WHEN ${done} THEN 1 END AS resolved`,
    autoResolved: `CASE WHEN i.resolved_by_system AND ${done} THEN 1 END AS auto_resolved`,
    resolvedEntry: `CASE WHEN ${done} THEN coalesce(${millis(d, "i.resolved_at", "i.created_at")}, 'null') END AS res_ms`,
  };
  const order = [
    "g.bucket",
    ...(by.has("SERVICE") ? [`s.name IS NULL`, `s.name${d.binary}`, "g.service_id"] : []),
    ...(by.has("PRIORITY") ? [`CASE g.priority WHEN 'CRITICAL' THEN 1 WHEN 'HIGH' THEN 2 WHEN 'MEDIUM' THEN 3 ELSE 4 END`] : []),
    ...(by.has("ASSIGNEE") ? [`u.name IS NULL`, `u.name${d.binary}`, "g.assignee_id"] : []),
  ].join(", ");
  const groups = d.kind === "sqlite" ? sqliteGroups(dims, columns, filter.text) : postgresGroups(dims, columns, filter.text);
  const text = `WITH ${groups.bounds}, ${groups.g}
    SELECT g.bucket, g.service_id, g.priority, g.assignee_id, g.created, g.acknowledged, g.resolved, g.auto_resolved,
      ${STATS_COLUMNS.map((column) => `g.${column}`).join(", ")}
    FROM g
    ${by.has("SERVICE") ? "LEFT JOIN services AS s ON s.id = g.service_id" : ""}
    ${by.has("ASSIGNEE") ? "LEFT JOIN users AS u ON u.id = g.assignee_id" : ""}
    ORDER BY ${order}
    LIMIT ?`;
  const boundParams =
    d.kind === "sqlite"
      ? [JSON.stringify(buckets.map((b) => [b.label.getTime(), b.lo.getTime(), b.hi.getTime()]))]
      : [buckets.map((b) => b.label), buckets.map((b) => b.lo), buckets.map((b) => b.hi)];
  const name = `insights_metrics_${[...by].sort().join("_") || "none"}_${filter.shape || "all"}`;
  return { statement: s(name, text), params: [...boundParams, ...filter.params, limit] };
}

type Dimensions = Record<"service_id" | "priority" | "assignee_id", string>;

/**
 * What each incident contributes, as select-list items. `resolvedEntry` (SQLite): one entry per RESOLVED or CLOSED
 * incident in the list of resolution times, JSON null where resolved_at is missing, so that the list's length is
 * `resolved` and no aggregate step counts it (8% of the statement at 100,000 incidents, bench/RESULTS.md).
 */
interface IncidentColumns {
  ack: string;
  res: string;
  resolved: string;
  autoResolved: string;
  resolvedEntry: string;
}

/** The grouped dimensions' expressions, for a GROUP BY: the others are constants. */
const grouped = (dims: Dimensions) => Object.values(dims).filter((expression) => !expression.startsWith("CAST(NULL"));

/**
 * PostgreSQL: one GROUP BY over every incident of the range joined to its bucket, each group's durations kept as an
 * ordered array that the outer query indexes at the nearest ranks, ceil(p * n / 100) = (p * n + 99) / 100 in
 * integers: no floating point decides which value is picked.
 */
function postgresGroups(dims: Dimensions, columns: IncidentColumns, filter: string) {
  const stats = (metric: string) =>
    `count(${metric}_ms) AS ${metric}_count, sum(${metric}_ms) AS ${metric}_sum, max(${metric}_ms) AS ${metric}_max,
      array_agg(${metric}_ms ORDER BY ${metric}_ms) FILTER (WHERE ${metric}_ms IS NOT NULL) AS ${metric}_ranks`;
  const pick = (metric: string, p: number) => `${metric}_ranks[((${p} * ${metric}_count + 99) / 100)::int] AS ${metric}_p${p}`;
  const picks = ["ack", "res"].flatMap((metric) => PERCENTILES.map((p) => pick(metric, p))).join(", ");
  const group = "bucket, service_id, priority, assignee_id";
  return {
    bounds: `b(label, lo, hi) AS (SELECT * FROM unnest(?::timestamptz[], ?::timestamptz[], ?::timestamptz[]))`,
    g: `base AS (
      SELECT b.label AS bucket, ${dims.service_id} AS service_id, ${dims.priority} AS priority, ${dims.assignee_id} AS assignee_id,
        ${columns.ack}, ${columns.res}, ${columns.resolved}, ${columns.autoResolved}
      FROM b JOIN incidents AS i ON i.created_at >= b.lo AND i.created_at < b.hi
      WHERE 1 = 1${filter}),
    ranked AS (
      SELECT ${group}, count(*) AS created, count(ack_ms) AS acknowledged, count(resolved) AS resolved,
        count(auto_resolved) AS auto_resolved, ${stats("ack")}, ${stats("res")}
      FROM base GROUP BY ${group}),
    g AS (SELECT *, ${picks} FROM ranked)`,
  };
}

/**
 * SQLite: each bucket's groups in a subquery of their own, returned as a JSON array that json_each turns back into
 * rows. One GROUP BY over the whole range would sort every incident of it in a temporary B-tree; a bucket's GROUP BY
 * reads its range through an index that already has the grouped column first, or sorts only that bucket; by service,
 * incidents_service_created_idx holds every column read here, so no table row is read. SQLite has no ordered
 * aggregate: each group's durations are concatenated, and duration_stats() (db/sqlite.ts) reads them once and returns
 * their count, sum, maximum, the values at the nearest ranks of PERCENTILES and the number of entries, so that each
 * incident costs the statement four aggregate steps, not eleven.
 */
function sqliteGroups(dims: Dimensions, columns: IncidentColumns, filter: string) {
  const at = (path: string) => `x.value ->> '${path}'`;
  const stats = (metric: string, index: number) => STATS.map((stat, i) => `${at(`$[${index}][${i}]`)} AS ${metric}_${stat}`).join(", ");
  const keys = grouped(dims).map((expression) => expression.replace("i.", ""));
  return {
    bounds: `b(label, lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?))`,
    g: `g AS (
      SELECT b.label AS bucket, ${at("$[0]")} AS service_id, ${at("$[1]")} AS priority, ${at("$[2]")} AS assignee_id,
        ${at("$[3]")} AS created, ${at("$[5][0]")} AS acknowledged, ${at("$[6][6]")} AS resolved, ${at("$[4]")} AS auto_resolved,
        ${stats("ack", 5)}, ${stats("res", 6)}
      FROM b, json_each((SELECT json_group_array(json(row)) FROM (
        SELECT json_array(service_id, priority, assignee_id, count(*), count(auto_resolved),
          json(duration_stats(group_concat(ack_ms))), json(duration_stats(group_concat(res_ms)))) AS row
        FROM (
          SELECT ${dims.service_id} AS service_id, ${dims.priority} AS priority, ${dims.assignee_id} AS assignee_id,
            ${columns.ack}, ${columns.resolvedEntry}, ${columns.autoResolved}
          FROM incidents AS i WHERE i.created_at >= b.lo AND i.created_at < b.hi${filter})
        ${keys.length > 0 ? `GROUP BY ${keys.join(", ")}` : ""}
        HAVING count(*) > 0))) AS x)`,
  };
}
