import type { Dialect, Row } from "../../db/sql-work.js";
import { labelList } from "../alerts/alert-rows.js";
import type { AlertRow } from "../alerts/alert.table.js";
import type { IncidentLogRow } from "../incidents/incident-log.table.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import type { Label } from "../services/label.rules.js";
import { wireEventType, type WebhookEventType } from "./webhook-enums.js";

// The body of a webhook: `{"type":"incident.updated","timestamp":"<ISO>","data":{...}}`, with the schema's field
// names. Ids are strings, as GraphQL's ID is; times are ISO-8601 UTC with milliseconds.
//
// The incident is what the contract lists (id, title, status, priority, service id, labels, version, times, plus the
// people and the merge target), never its description: up to 10,000 characters the contract does not promise, that
// every alert event of a busy incident would repeat (1,000 alerts on one incident: 10 MB an endpoint).

type IncidentFields = Omit<IncidentRow, "priorityRank" | "description">;

const iso = (date: Date | null) => (date === null ? null : date.toISOString());
const id = (value: number | null) => (value === null ? null : String(value));

export function incidentJson(incident: IncidentFields, labels: readonly Label[]) {
  return {
    id: String(incident.id),
    title: incident.title,
    status: incident.status,
    priority: incident.priority,
    serviceId: id(incident.serviceId),
    labels: labels.map(({ key, value }) => ({ key, value })),
    reporterId: id(incident.reporterId),
    assigneeId: id(incident.assigneeId),
    version: incident.version,
    createdAt: iso(incident.createdAt),
    updatedAt: iso(incident.updatedAt),
    acknowledgedAt: iso(incident.acknowledgedAt),
    resolvedAt: iso(incident.resolvedAt),
    closedAt: iso(incident.closedAt),
    mergedIntoId: id(incident.mergedIntoId),
  };
}

export function logJson(log: IncidentLogRow) {
  return {
    id: String(log.id),
    kind: log.kind,
    message: log.message,
    authorId: id(log.authorId),
    fromStatus: log.fromStatus,
    toStatus: log.toStatus,
    createdAt: iso(log.createdAt),
  };
}

export function alertJson(alert: AlertRow) {
  return {
    id: String(alert.id),
    fingerprint: alert.fingerprint,
    status: alert.status,
    severity: alert.severity,
    summary: alert.summary,
    source: alert.source,
    labels: labelList(alert.labels),
    annotations: labelList(alert.annotations),
    generatorUrl: alert.generatorUrl,
    startsAt: iso(alert.startsAt),
    lastSeenAt: iso(alert.lastSeenAt),
    resolvedAt: iso(alert.resolvedAt),
    eventCount: alert.eventCount,
    integrationId: id(alert.integrationId),
  };
}

export interface EventData {
  incident: ReturnType<typeof incidentJson>;
  log?: ReturnType<typeof logJson>;
  alert?: ReturnType<typeof alertJson>;
  /** Who made the change; null for the system (alerts). */
  actorId: string | null;
}

export const webhookBody = (type: WebhookEventType, at: Date, data: EventData) =>
  JSON.stringify({ type: wireEventType[type], timestamp: at.toISOString(), data });

/** Where a stored body takes its snapshot: `data.incident` comes first, after type and timestamp (no such text). */
const incidentMark = `"data":{"incident":0`;

/**
 * A body as the outbox stores it when its incident is a snapshot: `data.incident` is 0. Sent as `sentBody` makes
 * it, the same text as `webhookBody` with the incident.
 */
export const storedBody = (type: WebhookEventType, at: Date, data: Omit<EventData, "incident">) =>
  JSON.stringify({ type: wireEventType[type], timestamp: at.toISOString(), data: { incident: 0, ...data } });

/** The body to send: a stored body with its snapshot's incident JSON put in; without a snapshot, as stored. */
export function sentBody(stored: string, snapshot: string | null): string {
  if (snapshot === null) return stored;
  const at = stored.indexOf(incidentMark);
  if (at < 0) throw new Error("A webhook body with a snapshot holds no incident mark");
  const end = at + incidentMark.length;
  return stored.slice(0, end - 1) + snapshot + stored.slice(end);
}

export const incidentReader = (d: Dialect) => (row: Row): IncidentFields => ({
  id: d.readId(row.id),
  title: row.title as string,
  status: row.status as IncidentRow["status"],
  priority: row.priority as IncidentRow["priority"],
  reporterId: row.reporter_id === null ? null : d.readId(row.reporter_id),
  assigneeId: row.assignee_id === null ? null : d.readId(row.assignee_id),
  version: row.version as number,
  createdAt: d.readTime(row.created_at),
  updatedAt: d.readTime(row.updated_at),
  acknowledgedAt: row.acknowledged_at === null ? null : d.readTime(row.acknowledged_at),
  resolvedAt: row.resolved_at === null ? null : d.readTime(row.resolved_at),
  closedAt: row.closed_at === null ? null : d.readTime(row.closed_at),
  serviceId: row.service_id === null ? null : d.readId(row.service_id),
  mergedIntoId: row.merged_into === null ? null : d.readId(row.merged_into),
  resolvedBySystem: d.readBool(row.resolved_by_system),
});

export const logReader = (d: Dialect) => (row: Row): IncidentLogRow => ({
  id: d.readId(row.id),
  incidentId: d.readId(row.incident_id),
  kind: row.kind as IncidentLogRow["kind"],
  message: row.message as string,
  authorId: row.author_id === null ? null : d.readId(row.author_id),
  fromStatus: row.from_status as IncidentLogRow["fromStatus"],
  toStatus: row.to_status as IncidentLogRow["toStatus"],
  createdAt: d.readTime(row.created_at),
});
