import { rerunWhenUndone } from "../../db/pg-errors.js";
import type { SqlBackend } from "../../db/sql-backend.js";
import { all, type Row } from "../../db/sql-work.js";
import type { IncidentCriteria } from "../incidents/incident.repository.js";
import type { Priority } from "../incidents/incident-priority.js";
import type { MetricsGroupBy } from "./insight-enums.js";
import {
  countParams,
  historyParams,
  insightStatements,
  metricsStatement,
  templateParams,
  type BucketBounds,
  type HistoryWindow,
  type KeptTemplate,
  type TemplateWindow,
} from "./insight-statements.js";
import type { WebhookOutbox } from "../webhooks/webhook-outbox.js";
import { mergeIncidents, type MergeRequest, type MergeResult } from "./merge.js";

/** Duration statistics in milliseconds, as the database computed them. */
export interface DurationRecord {
  count: number;
  sum: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
}

/** A metrics row's group, its counts, and its two durations in the form `D`. */
export interface MetricsOf<D> {
  serviceId: number | null;
  priority: Priority | null;
  assigneeId: number | null;
  created: number;
  acknowledged: number;
  resolved: number;
  autoResolved: number;
  timeToAcknowledge: D;
  timeToResolve: D;
}

export interface MetricsRecord extends MetricsOf<DurationRecord> {
  bucket: Date;
}

/** An incident whose title template is not kept yet. */
export interface UntemplatedIncident {
  incidentId: number;
  serviceId: number;
  title: string;
  createdAt: Date;
}

export interface InsightRepository {
  /** One transaction; throws NotFoundError or BadUserInputError, having changed nothing. */
  merge(request: MergeRequest): Promise<MergeResult>;
  /** Per window, in order: whether every incident of its service created in [from, to) has its template kept. */
  templatesComplete(windows: readonly HistoryWindow[]): Promise<boolean[]>;
  /** The incidents of the windows whose templates are not kept yet. */
  untemplated(windows: readonly HistoryWindow[]): Promise<UntemplatedIncident[]>;
  /** Keeps templates, each only if its incident still has the title, service and time it was worked out from. */
  keepTemplates(kept: readonly KeptTemplate[]): Promise<void>;
  /** Per window, in order: the incidents of its service in [from, to) with its template, and all of them. */
  templateCounts(windows: readonly TemplateWindow[]): Promise<{ same: number; total: number }[]>;
  /** One statement: the first `limit` rows, in the contract's order. */
  metrics(groupBy: readonly MetricsGroupBy[], criteria: IncidentCriteria, buckets: readonly BucketBounds[], limit: number): Promise<MetricsRecord[]>;
}

/** `outbox`: where a merge records its webhook events, inside its transaction. */
export function createInsightRepository(backend: SqlBackend, outbox?: WebhookOutbox): InsightRepository {
  const d = backend.dialect;
  const q = insightStatements(d);
  const number = (value: unknown) => (value === null || value === undefined ? null : d.readNumber(value));
  const duration = (row: Row, metric: string): DurationRecord => ({
    count: d.readNumber(row[`${metric}_count`]),
    sum: number(row[`${metric}_sum`]),
    max: number(row[`${metric}_max`]),
    p50: number(row[`${metric}_p50`]),
    p90: number(row[`${metric}_p90`]),
    p95: number(row[`${metric}_p95`]),
  });

  return {
    async merge(request) {
      // PostgreSQL may abort one of two transactions that wait on each other: rare since alert requests lock incidents
      // first too, but one that finds an incident late (a group it joins) may still take it after an alert row.
      return rerunWhenUndone(() => backend.transaction(() => mergeIncidents(q, d, request, outbox)));
    },

    async templatesComplete(windows) {
      if (windows.length === 0) return [];
      const rows = await backend.read(() => all(q.templateCoverage, historyParams(d, windows)));
      const complete = windows.map(() => false);
      for (const row of rows) complete[d.readNumber(row.window)] = d.readNumber(row.total) === d.readNumber(row.kept);
      return complete;
    },

    async untemplated(windows) {
      if (windows.length === 0) return [];
      const rows = await backend.read(() => all(q.untemplated, historyParams(d, windows)));
      return rows.map((row) => ({
        incidentId: d.readId(row.id),
        serviceId: d.readId(row.service_id),
        title: row.title as string,
        createdAt: d.readTime(row.created_at),
      }));
    },

    async keepTemplates(kept) {
      if (kept.length === 0) return;
      await backend.transaction(() => all(q.keepTemplates, templateParams(d, kept)));
    },

    async templateCounts(windows) {
      if (windows.length === 0) return [];
      const rows = await backend.read(() => all(q.templateCounts, countParams(d, windows)));
      const counts = windows.map(() => ({ same: 0, total: 0 }));
      for (const row of rows) counts[d.readNumber(row.position)] = { same: d.readNumber(row.same), total: d.readNumber(row.total) };
      return counts;
    },

    async metrics(groupBy, criteria, buckets, limit) {
      const { statement, params } = metricsStatement(d, groupBy, criteria, buckets, limit);
      const rows = await backend.read(() => all(statement, params));
      return rows.map((row) => ({
        bucket: d.readTime(row.bucket),
        serviceId: row.service_id === null ? null : d.readId(row.service_id),
        priority: row.priority as Priority | null,
        assigneeId: row.assignee_id === null ? null : d.readId(row.assignee_id),
        created: d.readNumber(row.created),
        acknowledged: d.readNumber(row.acknowledged),
        resolved: d.readNumber(row.resolved),
        autoResolved: d.readNumber(row.auto_resolved),
        timeToAcknowledge: duration(row, "ack"),
        timeToResolve: duration(row, "res"),
      }));
    },
  };
}
