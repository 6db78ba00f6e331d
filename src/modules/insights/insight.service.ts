import { assertCan, Permission } from "../../auth/policy.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import type { IncidentEvents, IncidentService } from "../incidents/incident.service.js";
import type { IncidentRepository } from "../incidents/incident.repository.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import type { UserRow } from "../users/user.table.js";
import type { IncidentMetricsInput } from "./insight.inputs.js";
import type { InsightRepository, MetricsOf } from "./insight.repository.js";
import { MAX_MERGE_SOURCES } from "./merge.js";
import { isTimeZone, metricsBuckets } from "./metrics-buckets.js";
import { durationStats, type DurationStats } from "./metrics-stats.js";

export const MAX_METRICS_DAYS = 366;
/** Rows one answer may hold: a year of days by service, priority and assignee could otherwise be millions. */
export const MAX_METRICS_ROWS = 5_000;
const DAY_MS = 86_400_000;

export interface MetricsRow extends MetricsOf<DurationStats> {
  bucketStart: Date | null;
}

export interface InsightServiceDeps {
  insights: InsightRepository;
  incidents: IncidentRepository;
  /** Reads IncidentFilter as the incident list does. */
  incidentService: IncidentService;
  events?: IncidentEvents;
}

/** Templates and outliers, merges and metrics: what the platform learns from its own history (section 10). */
export class InsightService {
  constructor(private readonly deps: InsightServiceDeps) {}

  async merge(actor: UserRow, rawTargetId: string, rawSourceIds: readonly string[]): Promise<IncidentRow> {
    assertCan(actor, Permission.WRITE_INCIDENTS);
    if (rawSourceIds.length === 0) throw new BadUserInputError("Name at least one incident to merge", "sourceIds");
    if (rawSourceIds.length > MAX_MERGE_SOURCES) throw new BadUserInputError(`At most ${MAX_MERGE_SOURCES} incidents can be merged at once`, "sourceIds");
    const targetId = parseId(rawTargetId);
    if (targetId === undefined) throw new NotFoundError("Incident", "targetId");
    const sourceIds = [...new Set(rawSourceIds.map((raw) => parseId(raw) ?? missing("sourceIds")))].sort((a, b) => a - b);
    if (sourceIds.includes(targetId)) throw new BadUserInputError("An incident cannot be merged into itself", "sourceIds");
    const result = await this.deps.insights.merge({ targetId, sourceIds, actorId: actor.id, now: new Date() });
    const rows = new Map((await this.deps.incidents.findByIds(result.changedIds)).map((row) => [row.id, row]));
    const events = this.deps.events;
    events?.batch(() => {
      for (const id of result.changedIds) {
        const row = rows.get(id);
        if (row) events.updated(row, actor);
      }
      const { alertIds, logIds } = result.resolvedAlerts;
      for (let i = 0; i < alertIds.length; i++) events.alert(targetId, alertIds[i]!, logIds[i]!, actor);
    });
    return rows.get(targetId) ?? missing("targetId");
  }

  async metrics(actor: UserRow, input: IncidentMetricsInput): Promise<MetricsRow[]> {
    assertCan(actor, Permission.READ);
    const { from, to } = input;
    if (from.getTime() >= to.getTime()) throw new BadUserInputError("from must be before to", "from");
    if (to.getTime() - from.getTime() > MAX_METRICS_DAYS * DAY_MS) throw new BadUserInputError(`The range is at most ${MAX_METRICS_DAYS} days`, "to");
    const timeZone = input.timeZone ?? "UTC";
    if (!isTimeZone(timeZone)) throw new BadUserInputError("Unknown time zone: give an IANA name such as Europe/Paris", "timeZone");
    const groupBy = [...new Set(input.groupBy ?? [])];
    const criteria = this.deps.incidentService.criteria(input.filter);
    if (criteria === "nothing") return [];
    const buckets = metricsBuckets(from, to, input.bucket ?? null, timeZone);
    const records = await this.deps.insights.metrics(groupBy, criteria, buckets, MAX_METRICS_ROWS + 1);
    if (records.length > MAX_METRICS_ROWS) {
      throw new BadUserInputError(`More than ${MAX_METRICS_ROWS} rows: use a larger bucket, fewer groupings or a filter`, "groupBy");
    }
    const labelled = input.bucket != null;
    return records.map((record) => ({
      bucketStart: labelled ? record.bucket : null,
      serviceId: record.serviceId,
      priority: record.priority,
      assigneeId: record.assigneeId,
      created: record.created,
      acknowledged: record.acknowledged,
      resolved: record.resolved,
      autoResolved: record.autoResolved,
      timeToAcknowledge: durationStats(record.timeToAcknowledge),
      timeToResolve: durationStats(record.timeToResolve),
    }));
  }
}

function missing(field: string): never {
  throw new NotFoundError("Incident", field);
}
