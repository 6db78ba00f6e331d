import { all, one, type Dialect, type Work } from "../../db/sql-work.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { isActiveStatus, noAlerts, writeAlertEntries, type ResolvedAlerts } from "../alerts/alert-ingest.js";
import type { IncidentStatus } from "../incidents/incident-status.js";
import type { WebhookOutbox } from "../webhooks/webhook-outbox.js";
import type { InsightStatements } from "./insight-statements.js";

export const MAX_MERGE_SOURCES = 50;

export interface MergeRequest {
  targetId: number;
  /** Distinct, without the target. */
  sourceIds: readonly number[];
  actorId: number;
  now: Date;
}

/** What a merge changed, for the events published once it has committed. */
export interface MergeResult {
  /** The target first, then the sources in id order: every incident whose version went up. */
  changedIds: number[];
  movedAlertIds: number[];
  /** Moved alerts that were FIRING and resolved because the target is RESOLVED, with their ALERT entries. */
  resolvedAlerts: ResolvedAlerts;
}

interface Locked {
  id: number;
  title: string;
  status: IncidentStatus;
  mergedInto: number | null;
  serviceId: number | null;
}

const describe = (incident: Locked) => `#${incident.id} "${incident.title}"`;

/**
 * Section 10's merge as one unit of work, run in one transaction: every incident locked first, every rule checked
 * before the first write (so a refusal changes nothing), then the alerts move, each source is closed by the system
 * and points at the target, and each incident gets its MERGE entry and version + 1; last, `outbox` records an
 * incident.updated webhook for each of them, as the merge left it.
 */
export function* mergeIncidents(q: InsightStatements, d: Dialect, request: MergeRequest, outbox?: WebhookOutbox): Work<MergeResult> {
  const { targetId, sourceIds, actorId, now } = request;
  const rows = yield* all(q.lockIncidents, [d.list([targetId, ...sourceIds])]);
  const locked = new Map<number, Locked>(
    rows.map((row) => {
      const id = d.readId(row.id);
      const mergedInto = row.merged_into === null ? null : d.readId(row.merged_into);
      const serviceId = row.service_id === null ? null : d.readId(row.service_id);
      return [id, { id, title: row.title as string, status: row.status as IncidentStatus, mergedInto, serviceId }];
    }),
  );
  const target = locked.get(targetId);
  if (!target) throw new NotFoundError("Incident", "targetId");
  const sources = sourceIds.map((id) => locked.get(id) ?? missingSource());
  if (target.status === "CLOSED") throw new BadUserInputError("The target incident is closed: merge into an open one", "targetId");
  const merged = sources.find((source) => source.mergedInto !== null);
  if (merged) throw new BadUserInputError(`Incident ${merged.id} was already merged into #${merged.mergedInto}`, "sourceIds");

  const at = d.time(now);
  // The moved alerts take the target's `incident_active` (the grouping lookups' partial indexes follow it).
  const moved = yield* all(q.moveAlerts, [targetId, isActiveStatus(target.status) ? 1 : 0, d.list(sourceIds)]);
  yield* one(q.touchTarget, [at, targetId]);
  const names = sources.map(describe).join(", ");
  const plural = sources.length === 1 ? "incident" : "incidents";
  yield* one(q.insertEntry, [targetId, `Merged ${sources.length} duplicate ${plural} into this one: ${names}`, actorId, null, null, at]);
  // Into a RESOLVED target, FIRING alerts would sit on a resolved incident and swallow their next firing: they
  // resolve with it, as a person's resolution resolves an incident's alerts (one ALERT entry each).
  const resolvedAlerts =
    target.status === "RESOLVED"
      ? yield* writeAlertEntries(q, d, targetId, yield* all(q.resolveFiringOfTarget, [at, targetId]), " resolved: merged into a resolved incident", now)
      : noAlerts();
  for (const source of sources) {
    yield* one(q.closeSource, [targetId, at, at, at, source.id]);
    const closes = source.status !== "CLOSED";
    yield* one(q.insertEntry, [
      source.id,
      `Merged into ${describe(target)}${closes ? `; status changed from ${source.status} to CLOSED` : ""}`,
      actorId,
      closes ? source.status : null,
      closes ? "CLOSED" : null,
      at,
    ]);
  }
  for (const incident of [target, ...sources]) {
    if (outbox) yield* outbox.record({ type: "INCIDENT_UPDATED", incidentId: incident.id, serviceId: incident.serviceId, actorId, at: now });
  }
  if (outbox) {
    yield* outbox.recordAlerts({ type: "ALERT_RESOLVED", incidentId: targetId, serviceId: target.serviceId, actorId, at: now }, resolvedAlerts);
  }
  return { changedIds: [targetId, ...sourceIds], movedAlertIds: moved.map((row) => d.readId(row.id)), resolvedAlerts };
}

function missingSource(): never {
  throw new NotFoundError("Incident", "sourceIds");
}
