import { all, one, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import type { Priority } from "../incidents/incident-priority.js";
import type { IncidentStatus } from "../incidents/incident-status.js";
import { resolvesAlerts, type IncidentUpdatePlan } from "../incidents/incident-update.js";
import { isIncidentLabel, maxIncidentLabels, sortLabels, type Label } from "../services/label.rules.js";
import type { AlertSeverity } from "./alert-enums.js";
import type { AlertStatements } from "./alert-statements.js";
import { groupMatchForms, groupMatchValue } from "./group-match.js";
import type { OutboxEvent, WebhookOutbox } from "../webhooks/webhook-outbox.js";

/** One alert of a notification, in either wire format, after validation (alert-payloads.ts). */
export interface IncomingAlert {
  action: "trigger" | "resolve" | "acknowledge";
  fingerprint: string;
  severity: AlertSeverity;
  /** At most 1,024 characters. */
  summary: string;
  /** The title of an incident this alert opens. */
  title: string;
  description: string;
  source: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorUrl: string | null;
  groupKey: string | null;
  startsAt: Date;
  /** Alertmanager's endsAt of a resolved alert. */
  endsAt: Date | null;
}

/** The integration a request authenticated as, with its service's alert settings. */
export interface IngestTarget {
  integrationId: number;
  serviceId: number;
  keyHash: string;
  autoResolve: boolean;
  grouping: { labels: string[]; windowSeconds: number };
}

export type AlertOutcome = "created" | "deduplicated" | "resolved" | "ignored";

/** What subscribers are told once the transaction has committed, in order. */
export type IngestEvent =
  | { kind: "CREATED"; incidentId: number }
  | { kind: "UPDATED"; incidentId: number }
  | { kind: "ALERT"; incidentId: number; alertId: number; logId: number | null };

export interface IngestResult {
  outcomes: AlertOutcome[];
  /** Every incident the alerts landed in, first seen first. */
  incidentIds: number[];
  events: IngestEvent[];
}

const severityPriority: Record<AlertSeverity, Priority> = { CRITICAL: "CRITICAL", ERROR: "HIGH", WARNING: "MEDIUM", INFO: "LOW" };

/** The incident labels an alert gives its new incident: those that fit the incident rules, first 20 by key. */
export function incidentLabelsOf(labels: Record<string, string>): Label[] {
  return sortLabels(Object.entries(labels).map(([key, value]) => ({ key, value })))
    .filter(isIncidentLabel)
    .slice(0, maxIncidentLabels);
}

const alertName = (alert: { labels: Record<string, string>; fingerprint: string }) => alert.labels.alertname ?? alert.fingerprint;

/**
 * The rules of section 9 for one request, as one unit of work: the caller runs it in one transaction, so every
 * alert of the request is stored or none is. Throws `KeyRevokedError` when the integration's key stopped working
 * between authentication and the transaction.
 */
export function* ingestAlerts(
  q: AlertStatements,
  d: Dialect,
  target: IngestTarget,
  alerts: readonly IncomingAlert[],
  now: Date,
  outbox?: WebhookOutbox,
): Work<IngestResult> {
  const at = d.time(now);
  // A request of a thousand alerts records thousands of events: held, and written at once (see OutboxBatch).
  const events = outbox?.batch();
  /** The webhook event of a change, in the transaction, in the order of the changes. */
  function* emit(type: OutboxEvent["type"], incidentId: number, extra: Pick<OutboxEvent, "alertId" | "log"> = {}): Work<void> {
    if (events) yield* events.record({ type, incidentId, serviceId: target.serviceId, actorId: null, at: now, ...extra });
  }
  const result: IngestResult = { outcomes: [], incidentIds: [], events: [] };
  const landed = new Set<number>();
  const land = (incidentId: number) => {
    if (!landed.has(incidentId)) result.incidentIds.push(incidentId);
    landed.add(incidentId);
  };

  function* log(incidentId: number, kind: string, message: string, from: IncidentStatus | null = null, to: IncidentStatus | null = null) {
    const row = yield* one(q.insertSystemLog, [incidentId, kind, message, from, to, at]);
    return d.readId(row!.id);
  }

  /** The system's status change, when the incident is still in `from`; true when it happened. */
  function* changeStatus(incidentId: number, from: IncidentStatus, to: IncidentStatus, why: string): Work<boolean> {
    const changed = yield* one(q.systemStatus, [to, at, to, at, to, to, at, incidentId, from]);
    if (!changed) return false;
    yield* followIncident(q, incidentId, to);
    yield* log(incidentId, "STATUS_CHANGE", `Status changed from ${from} to ${to} (${why})`, from, to);
    result.events.push({ kind: "UPDATED", incidentId });
    yield* emit("INCIDENT_UPDATED", incidentId);
    return true;
  }

  /**
   * The incident's row lock, then its status again: a resolution running at the same time (by hand, or by its last
   * alert) has either committed, and the alert must not join, or waits for this transaction and sees the alert.
   */
  function* stillActive(incidentId: number): Work<number | undefined> {
    const locked = yield* one(q.lockIncident, [incidentId]);
    return locked?.status === "OPEN" || locked?.status === "INVESTIGATING" ? incidentId : undefined;
  }

  /** `values`: the alert's grouping values (`groupValues`), before `groupMatchValue`. */
  function* groupedIncident(alert: IncomingAlert, values: string): Work<number | undefined> {
    if (alert.groupKey !== null) {
      const row = yield* firstFound(groupMatchForms(alert.groupKey), (key) => one(q.groupKeyIncident, [target.serviceId, key]));
      const incidentId = row ? yield* stillActive(d.readId(row.incident_id)) : undefined;
      if (incidentId !== undefined) return incidentId;
    }
    const { labels, windowSeconds } = target.grouping;
    if (windowSeconds === 0) return undefined;
    const start = d.time(new Date(now.getTime() - windowSeconds * 1000));
    const row = yield* firstFound(groupMatchForms(values), (stored) => {
      const params: unknown[] = [target.serviceId, stored, start, target.serviceId, start];
      for (const key of labels) params.push(d.jsonKey(key), alert.labels[key] ?? null);
      return one(q.windowIncident(labels.length), params);
    });
    return row ? yield* stillActive(d.readId(row.incident_id)) : undefined;
  }

  function* openIncident(alert: IncomingAlert): Work<number> {
    const priority = severityPriority[alert.severity];
    const row = yield* one(q.insertIncident, [alert.title, alert.description, priority, at, at, target.serviceId]);
    const incidentId = d.readId(row!.id);
    for (const label of incidentLabelsOf(alert.labels)) yield* all(q.insertLabel, [incidentId, label.key, label.value]);
    result.events.push({ kind: "CREATED", incidentId });
    yield* emit("INCIDENT_CREATED", incidentId);
    return incidentId;
  }

  // The incident each groupKey's new alerts join, once this request has looked it up or opened it: the rest of a
  // group of a hundred alerts then costs an upsert and an entry each. Forgotten when the system resolves it.
  const groupIncidents = new Map<string, number>();

  function* trigger(alert: IncomingAlert): Work<AlertOutcome> {
    const known = alert.groupKey === null ? undefined : groupIncidents.get(alert.groupKey);
    const values = groupValues(target.grouping.labels, alert.labels);
    const params = [
      target.integrationId,
      target.serviceId,
      alert.fingerprint,
      alert.severity,
      alert.summary,
      alert.source,
      JSON.stringify(alert.labels),
      JSON.stringify(alert.annotations),
      alert.generatorUrl,
      alert.groupKey === null ? null : groupMatchValue(alert.groupKey),
      d.time(alert.startsAt),
      at,
      at,
      known ?? null,
      groupMatchValue(values),
      known === undefined ? 0 : 1,
    ];
    let row = yield* one(q.upsertFiring, params);
    if (!row) {
      // Its FIRING alert sits on an incident that is no longer active: this firing is a new one (section 9).
      yield* retireStranded(alert);
      row = yield* one(q.upsertFiring, params);
    }
    const alertId = d.readId(row!.id);
    const repeat = Number(row!.event_count) > 1;
    if (repeat && row!.incident_id !== null) {
      const incidentId = d.readId(row!.incident_id);
      land(incidentId);
      result.events.push({ kind: "ALERT", incidentId, alertId, logId: null });
      return "deduplicated";
    }
    let incidentId = known;
    if (incidentId === undefined) {
      incidentId = (yield* groupedIncident(alert, values)) ?? (yield* openIncident(alert));
      yield* all(q.attach, [incidentId, alertId]);
      if (alert.groupKey !== null) groupIncidents.set(alert.groupKey, incidentId);
    }
    const logId = yield* log(incidentId, "ALERT", `Alert ${alertName(alert)} firing: ${alert.summary}`);
    land(incidentId);
    result.events.push({ kind: "ALERT", incidentId, alertId, logId });
    yield* emit("ALERT_FIRING", incidentId, { alertId, log: logId });
    return "created";
  }

  /**
   * The alert's FIRING row whose incident is no longer OPEN or INVESTIGATING resolves now, with its entry and events
   * on that incident, as a person's resolution would have done: the new firing then opens or joins an active one.
   */
  function* retireStranded(alert: IncomingAlert): Work<void> {
    const row = yield* one(q.retireFiring, [at, target.serviceId, alert.fingerprint]);
    if (!row || row.incident_id === null) return;
    const alertId = d.readId(row.id);
    const incidentId = d.readId(row.incident_id);
    const logId = yield* log(incidentId, "ALERT", `Alert ${alertName(alert)} resolved: its incident is no longer active`);
    result.events.push({ kind: "ALERT", incidentId, alertId, logId });
    yield* emit("ALERT_RESOLVED", incidentId, { alertId, log: logId });
  }

  function* resolve(alert: IncomingAlert): Work<AlertOutcome> {
    // A resolution is not in the future: a sender's clock ahead of ours would otherwise date it after the system's
    // own resolution of its incident.
    const resolvedAt = d.time(alert.endsAt && alert.endsAt < now ? alert.endsAt : now);
    const row = yield* one(q.resolveFiring, [resolvedAt, at, target.serviceId, alert.fingerprint]);
    if (!row || row.incident_id === null) return "ignored";
    const alertId = d.readId(row.id);
    const incidentId = d.readId(row.incident_id);
    const logId = yield* log(incidentId, "ALERT", `Alert ${alertName(alert)} resolved`);
    land(incidentId);
    result.events.push({ kind: "ALERT", incidentId, alertId, logId });
    yield* emit("ALERT_RESOLVED", incidentId, { alertId, log: logId });
    if (target.autoResolve) {
      // The incident's row lock (held since lockAlertIncidents on PostgreSQL): of two requests resolving its last
      // two alerts at once, the later one then sees the earlier one's alert resolved, and resolves the incident.
      const locked = yield* one(q.lockIncident, [incidentId]);
      const status = locked?.status as IncidentStatus | undefined;
      if (status === "OPEN" || status === "INVESTIGATING") {
        const firing = yield* one(q.firingCount, [incidentId]);
        if (d.readNumber(firing?.n) === 0 && (yield* changeStatus(incidentId, status, "RESOLVED", "all alerts resolved"))) {
          for (const [groupKey, grouped] of groupIncidents) if (grouped === incidentId) groupIncidents.delete(groupKey);
        }
      }
    }
    return "resolved";
  }

  function* acknowledge(alert: IncomingAlert): Work<AlertOutcome> {
    const row = yield* one(q.acknowledgeFiring, [at, target.serviceId, alert.fingerprint]);
    if (!row || row.incident_id === null) return "ignored";
    const incidentId = d.readId(row.incident_id);
    land(incidentId);
    result.events.push({ kind: "ALERT", incidentId, alertId: d.readId(row.id), logId: null });
    yield* changeStatus(incidentId, "OPEN", "INVESTIGATING", "alert acknowledged");
    return "deduplicated";
  }

  yield* lockGroups(q, target, alerts);
  yield* lockAlertIncidents(q, d, target, alerts);
  // The fingerprints whose alerts have held events: one of them changes again (the same alert twice in a request),
  // the events are written first, with the alert as it was.
  const held = new Set<string>();
  for (const alert of alerts) {
    if (events && held.has(alert.fingerprint)) {
      yield* events.flush();
      held.clear();
    }
    held.add(alert.fingerprint);
    const outcome =
      alert.action === "trigger" ? yield* trigger(alert) : alert.action === "resolve" ? yield* resolve(alert) : yield* acknowledge(alert);
    result.outcomes.push(outcome);
  }
  if (events) yield* events.flush();
  // Last, so that the integration's row is locked only for the end of the transaction (requests of one integration
  // run side by side until then): a key rotated or deleted meanwhile still undoes the whole request.
  if (!(yield* one(q.touchIntegration, [at, target.integrationId, target.keyHash]))) throw new KeyRevokedError();
  return result;
}

/** The first row one of the lookups finds, in order. */
function* firstFound(keys: readonly string[], lookup: (key: string) => Work<Row | undefined>): Work<Row | undefined> {
  for (const key of keys) {
    const row = yield* lookup(key);
    if (row) return row;
  }
  return undefined;
}

/** An alert's values of the grouping labels, keys included: `alerts.group_values` holds them (see groupMatchValue). */
function groupValues(keys: readonly string[], labels: IncomingAlert["labels"]): string {
  return JSON.stringify(keys.map((key) => [key, labels[key] ?? null]));
}

/** The groups a new alert of the request may join or open: its groupKey, and its grouping labels' values. */
function groupsOf(target: IngestTarget, alerts: readonly IncomingAlert[]): string[] {
  const groups = new Set<string>();
  for (const alert of alerts) {
    if (alert.action !== "trigger") continue;
    if (alert.groupKey !== null) groups.add(`key:${target.serviceId}:${alert.groupKey}`);
    const { labels, windowSeconds } = target.grouping;
    if (windowSeconds > 0) groups.add(`labels:${target.serviceId}:${groupValues(labels, alert.labels)}`);
  }
  // One order for every request, before any alert's row is locked: two requests never wait on each other.
  return [...groups].sort();
}

function* lockGroups(q: AlertStatements, target: IngestTarget, alerts: readonly IncomingAlert[]): Work<void> {
  if (!q.groupLock) return;
  for (const group of groupsOf(target, alerts)) yield* all(q.groupLock, [group]);
}

/**
 * PostgreSQL: the incidents the request's alerts fire on, before any alert row (the statement says why). An
 * incident the request finds later (a group it joins, or one a merge moved an alert to meanwhile) is locked when it
 * is found; a rare wait in the reverse order is still undone by PostgreSQL, and the request run again.
 */
function* lockAlertIncidents(q: AlertStatements, d: Dialect, target: IngestTarget, alerts: readonly IncomingAlert[]): Work<void> {
  if (!q.lockAlertIncidents || alerts.length === 0) return;
  yield* all(q.lockAlertIncidents, [target.serviceId, d.list(alerts.map((alert) => alert.fingerprint))]);
}

/**
 * A person moved the incident to RESOLVED or CLOSED: its FIRING alerts resolve now, one ALERT entry each, so that a
 * later notification opens a new incident. Runs inside the caller's transaction. Returns the alerts and entries.
 */
export function* resolveAlertsOfIncident(
  q: AlertStatements,
  d: Dialect,
  incidentId: number,
  now: Date,
): Work<ResolvedAlerts> {
  const rows = yield* all(q.resolveIncidentAlerts, [d.time(now), incidentId]);
  return yield* writeAlertEntries(q, d, incidentId, rows, " resolved with the incident", now);
}

/**
 * The ALERT entry of each alert (`alerts`: rows with its id), as two statements whatever their number: alerts per
 * incident are unbounded, and a statement and a round trip per alert held the write lock (SQLite: the event loop
 * too) for seconds. Returns them in alert id order, each with its entry. Two arrays of numbers, not an object per
 * alert: tens of thousands of them, held while the transaction runs, made the young-generation collections copy them.
 */
export function* writeAlertEntries(
  q: Pick<AlertStatements, "insertAlertEntries">,
  d: Dialect,
  incidentId: number,
  alerts: readonly Row[],
  suffix: string,
  now: Date,
): Work<ResolvedAlerts> {
  if (alerts.length === 0) return noAlerts();
  const alertIds = alerts.map((row) => d.readId(row.id)).sort((a, b) => a - b);
  const entries = yield* all(q.insertAlertEntries, [incidentId, d.jsonKey("alertname"), suffix, d.time(now), d.list(alertIds)]);
  const logIds = entries.map((row) => d.readId(row.id)).sort((a, b) => a - b);
  if (logIds.length !== alertIds.length) throw new Error(`${alertIds.length} alerts resolved but ${logIds.length} entries written`);
  return { alertIds, logIds };
}

/** Alerts a change resolved, in alert id order, and the ALERT entry each wrote: `logIds[i]` is `alertIds[i]`'s. */
export interface ResolvedAlerts {
  alertIds: number[];
  logIds: number[];
}

export const noAlerts = (): ResolvedAlerts => ({ alertIds: [], logIds: [] });

/**
 * What an incident update does beyond its row and entries: its labels, the alerts that resolve with it, and its
 * alerts' `incident_active` when the status crosses between active and not (a resolution, a close, a reopen).
 */
export function* incidentUpdateExtras(q: AlertStatements, d: Dialect, incidentId: number, plan: IncidentUpdatePlan, at: Date): Work<ResolvedAlerts> {
  if (plan.labels) yield* replaceIncidentLabels(q, incidentId, plan.labels);
  const resolved = resolvesAlerts(plan) ? yield* resolveAlertsOfIncident(q, d, incidentId, at) : noAlerts();
  if (plan.changes.status !== undefined) yield* followIncident(q, incidentId, plan.changes.status);
  return resolved;
}

/** OPEN and INVESTIGATING: the statuses an alert may join (section 9). */
export const isActiveStatus = (status: IncidentStatus) => status === "OPEN" || status === "INVESTIGATING";

/** The incident's alerts take its new status's `incident_active`; a no-op when it stays on the same side. */
export function* followIncident(q: AlertStatements, incidentId: number, status: IncidentStatus): Work<void> {
  const active = isActiveStatus(status) ? 1 : 0;
  yield* all(q.followIncident, [active, incidentId, active]);
}

/** An incident's labels, sorted by key, inside the caller's transaction. */
export function* labelsOfIncident(q: AlertStatements, incidentId: number): Work<Label[]> {
  const rows = yield* all(q.labelsOfIncident, [incidentId]);
  return rows.map((row) => ({ key: row.key as string, value: row.value as string }));
}

/** Replaces an incident's labels, inside the caller's transaction. */
export function* replaceIncidentLabels(q: AlertStatements, incidentId: number, labels: readonly Label[]): Work<void> {
  yield* all(q.deleteLabels, [incidentId]);
  for (const label of labels) yield* all(q.insertLabel, [incidentId, label.key, label.value]);
}

export class KeyRevokedError extends Error {
  override name = "KeyRevokedError";
}
