import { createHash, randomUUID } from "node:crypto";
import type { AlertSeverity } from "./alert-enums.js";
import type { IncomingAlert } from "./alert-ingest.js";
import { cutText, isUnstorable } from "../../shared/unstorable-text.js";

// The two wire formats, read strictly where the formats are strict (version, actions, enums, times, required
// fields, limits) and leniently elsewhere: fields we do not know are ignored, since senders add some between
// releases. Every problem is collected, so that a sender learns all of them from one answer.

export const limits = {
  alertsPerPayload: 1_000,
  labelsPerAlert: 64,
  annotationsPerAlert: 64,
  labelKeyLength: 100,
  labelValueLength: 1_000,
  summaryLength: 1_024,
  dedupKeyLength: 255,
} as const;

/** Problems listed in one answer at most. */
const maxReportedErrors = 20;

export class InvalidEventError extends Error {
  override name = "InvalidEventError";
  constructor(readonly errors: string[]) {
    super("Event object is invalid");
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** RFC 3339 with a zone, as both formats send; anything else (or an impossible date) is refused. */
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const lastTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
function parseTime(value: unknown, field: string, errors: string[]): Date | undefined {
  if (typeof value !== "string" || !rfc3339.test(value)) {
    errors.push(`${field} must be an RFC 3339 time`);
    return undefined;
  }
  // Sub-millisecond digits are dropped: Date keeps milliseconds. Date rolls 30 February over into March; we refuse it.
  const date = new Date(value.replace(/(\.\d{3})\d+/, "$1"));
  const [year, month, day, hour, minute, second] = value.split(/[^0-9]/).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const fieldsValid = month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth && hour! < 24 && minute! < 60 && second! < 60;
  if (Number.isNaN(date.getTime()) || !fieldsValid) {
    errors.push(`${field} is not a valid time`);
    return undefined;
  }
  // "9999-12-31T23:30:00-01:00" is year 10000 in UTC: no RFC 3339 time, and what a webhook body could not carry.
  if (date.getTime() > lastTime) {
    errors.push(`${field} is after 9999-12-31T23:59:59Z`);
    return undefined;
  }
  return date;
}

/** Alertmanager's zero time ("0001-01-01T00:00:00Z") means "not set". */
const isZeroTime = (date: Date | undefined) => date !== undefined && date.getUTCFullYear() <= 1;

function stringMap(value: unknown, field: string, max: number, errors: string[], required: boolean): Record<string, string> {
  if (value === undefined || value === null) {
    if (required) errors.push(`${field} is required`);
    return {};
  }
  if (!isObject(value)) {
    errors.push(`${field} must be an object of strings`);
    return {};
  }
  const entries = Object.entries(value);
  if (entries.length > max) errors.push(`${field} has more than ${max} entries`);
  const map: Record<string, string> = Object.create(null);
  for (const [key, item] of entries.slice(0, max)) {
    if (typeof item !== "string") errors.push(`${field}.${key.slice(0, 100)} must be a string`);
    else checkLabel(key, item, field, errors) && (map[key] = item);
  }
  return map;
}

function checkLabel(key: string, value: string, field: string, errors: string[]): boolean {
  if (key.length < 1 || key.length > limits.labelKeyLength) {
    errors.push(`${field} keys must be 1 to ${limits.labelKeyLength} characters`);
    return false;
  }
  if (value.length > limits.labelValueLength) {
    errors.push(`${field}.${key} is longer than ${limits.labelValueLength} characters`);
    return false;
  }
  return true;
}

function refuseUnstorable(alert: IncomingAlert | undefined, at: string, errors: string[]): void {
  if (!alert) return;
  const texts = [alert.fingerprint, alert.summary, alert.title, alert.description, alert.source, alert.generatorUrl, alert.groupKey];
  for (const map of [alert.labels, alert.annotations]) for (const [key, value] of Object.entries(map)) texts.push(key, value);
  if (texts.some(isUnstorable)) errors.push(`${at} holds a NUL character or a lone surrogate`);
}

const severities = new Map<string, AlertSeverity>([
  ["critical", "CRITICAL"],
  ["error", "ERROR"],
  ["warning", "WARNING"],
  ["info", "INFO"],
]);

/** A hash of the sorted labels: Alertmanager's identity of an alert that came without a fingerprint. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((key) => [key, labels[key]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

/** Alertmanager webhook payload, version 4. Throws InvalidEventError. */
export function parseAlertmanager(body: unknown): IncomingAlert[] {
  const errors: string[] = [];
  if (!isObject(body)) throw new InvalidEventError(["the body must be a JSON object"]);
  if (body.version !== "4") errors.push(`version must be "4"`);
  let groupKey: string | null = null;
  if (body.groupKey !== undefined && body.groupKey !== null) {
    if (typeof body.groupKey !== "string") errors.push("groupKey must be a string");
    else if (body.groupKey.length > 0) groupKey = body.groupKey;
  }
  if (!Array.isArray(body.alerts)) {
    errors.push("alerts must be an array");
    throw new InvalidEventError(errors);
  }
  if (body.alerts.length > limits.alertsPerPayload) {
    errors.push(`alerts holds more than ${limits.alertsPerPayload} alerts`);
    throw new InvalidEventError(errors);
  }
  const alerts = body.alerts.map((raw, index) => {
    const alert = alertmanagerAlert(raw, `alerts[${index}]`, groupKey, errors);
    refuseUnstorable(alert, `alerts[${index}]`, errors);
    return alert;
  });
  if (errors.length > 0) throw new InvalidEventError(errors.slice(0, maxReportedErrors));
  return alerts as IncomingAlert[];
}

function alertmanagerAlert(raw: unknown, at: string, groupKey: string | null, errors: string[]): IncomingAlert | undefined {
  if (!isObject(raw)) {
    errors.push(`${at} must be an object`);
    return undefined;
  }
  // Each alert's own status: a group notification mixes firing and resolved alerts.
  if (raw.status !== "firing" && raw.status !== "resolved") errors.push(`${at}.status must be "firing" or "resolved"`);
  const labels = stringMap(raw.labels, `${at}.labels`, limits.labelsPerAlert, errors, true);
  const annotations = stringMap(raw.annotations, `${at}.annotations`, limits.annotationsPerAlert, errors, false);
  const startsAt = raw.startsAt === undefined ? undefined : parseTime(raw.startsAt, `${at}.startsAt`, errors);
  const endsAt = raw.endsAt === undefined ? undefined : parseTime(raw.endsAt, `${at}.endsAt`, errors);
  let fingerprint: string | undefined;
  if (raw.fingerprint !== undefined && raw.fingerprint !== null && raw.fingerprint !== "") {
    if (typeof raw.fingerprint !== "string" || raw.fingerprint.length > limits.dedupKeyLength) {
      errors.push(`${at}.fingerprint must be a string of at most ${limits.dedupKeyLength} characters`);
    } else fingerprint = raw.fingerprint;
  }
  let generatorUrl: string | null = null;
  if (raw.generatorURL !== undefined && raw.generatorURL !== null && raw.generatorURL !== "") {
    if (typeof raw.generatorURL !== "string" || raw.generatorURL.length > 2_048) errors.push(`${at}.generatorURL must be a URL`);
    else generatorUrl = raw.generatorURL;
  }
  const summary = cutText(annotations.summary ?? labels.alertname ?? "Alert", limits.summaryLength);
  return {
    action: raw.status === "resolved" ? "resolve" : "trigger",
    fingerprint: fingerprint ?? labelsFingerprint(labels),
    severity: severities.get(labels.severity?.toLowerCase() ?? "") ?? "WARNING",
    summary,
    title: cutText(annotations.summary ?? labels.alertname ?? "Alert", 200).trim() || "Alert",
    description: cutText(annotations.description ?? "", 10_000),
    source: labels.instance ?? labels.job ?? null,
    labels,
    annotations,
    generatorUrl,
    groupKey,
    startsAt: startsAt && !isZeroTime(startsAt) ? startsAt : new Date(),
    endsAt: endsAt && !isZeroTime(endsAt) ? endsAt : null,
  };
}

const eventActions = ["trigger", "acknowledge", "resolve"] as const;

export interface EventsV2Event {
  routingKey: string;
  alert: IncomingAlert;
}

/** The routing key alone, read before the rest so that the key is checked first. */
export function routingKeyOf(body: unknown): string | undefined {
  return isObject(body) && typeof body.routing_key === "string" && body.routing_key.length > 0 ? body.routing_key : undefined;
}

/** PagerDuty Events API v2 event. Throws InvalidEventError. */
export function parseEventsV2(body: unknown): EventsV2Event {
  const errors: string[] = [];
  if (!isObject(body)) throw new InvalidEventError(["the body must be a JSON object"]);
  const routingKey = routingKeyOf(body);
  if (!routingKey) errors.push("routing_key is required");
  const action = body.event_action;
  const known = typeof action === "string" && (eventActions as readonly string[]).includes(action);
  if (action === undefined || action === null) errors.push(`event_action is required: one of ${eventActions.join(", ")}`);
  else if (!known) errors.push(`event_action must be one of ${eventActions.join(", ")}`);
  let dedupKey: string | undefined;
  if (body.dedup_key !== undefined && body.dedup_key !== null) {
    if (typeof body.dedup_key !== "string" || body.dedup_key.length === 0 || body.dedup_key.length > limits.dedupKeyLength) {
      errors.push(`dedup_key must be a string of 1 to ${limits.dedupKeyLength} characters`);
    } else dedupKey = body.dedup_key;
  }
  const trigger = action === "trigger";
  // Without a known action there is no telling whether a dedup_key is needed: the action's error says it all.
  if (known && !trigger && dedupKey === undefined && !errors.some((error) => error.startsWith("dedup_key"))) {
    errors.push("dedup_key is required for acknowledge and resolve");
  }
  const payload = body.payload;
  let alert: IncomingAlert | undefined;
  if (trigger) {
    if (!isObject(payload)) errors.push("payload is required for trigger");
    else alert = triggerAlert(payload, dedupKey ?? randomUUID().replace(/-/g, ""), errors);
  } else if (payload !== undefined && payload !== null && !isObject(payload)) {
    errors.push("payload must be an object");
  }
  refuseUnstorable(alert, "event", errors);
  if (isUnstorable(dedupKey)) errors.push("dedup_key holds a NUL character or a lone surrogate");
  if (errors.length > 0) throw new InvalidEventError(errors.slice(0, maxReportedErrors));
  alert ??= {
    action: action as "acknowledge" | "resolve",
    fingerprint: dedupKey!,
    severity: "WARNING",
    summary: "",
    title: "Alert",
    description: "",
    source: null,
    labels: {},
    annotations: {},
    generatorUrl: null,
    groupKey: null,
    startsAt: new Date(),
    endsAt: null,
  };
  return { routingKey: routingKey!, alert };
}

function triggerAlert(payload: Record<string, unknown>, dedupKey: string, errors: string[]): IncomingAlert {
  const text = (field: string, required: boolean): string | undefined => {
    const value = payload[field];
    if (value === undefined || value === null) {
      if (required) errors.push(`payload.${field} is required`);
      return undefined;
    }
    if (typeof value !== "string" || (required && value.trim().length === 0)) {
      errors.push(`payload.${field} must be a${required ? " non-empty" : ""} string`);
      return undefined;
    }
    return value;
  };
  const summary = text("summary", true) ?? "";
  const source = text("source", true) ?? "";
  const severityText = text("severity", true);
  const severity = severityText === undefined ? undefined : severities.get(severityText);
  if (severityText !== undefined && !severity) errors.push("payload.severity must be one of critical, error, warning, info");
  const timestamp = payload.timestamp === undefined || payload.timestamp === null ? undefined : parseTime(payload.timestamp, "payload.timestamp", errors);
  const labels: Record<string, string> = Object.create(null);
  const put = (key: string, value: string) => {
    if (checkLabel(key, value, "payload labels", errors)) labels[key] = value;
  };
  if (source) put("source", source);
  for (const field of ["component", "group", "class"]) {
    const value = text(field, false);
    if (value !== undefined) put(field, value);
  }
  const details = payload.custom_details;
  let count = Object.keys(labels).length;
  if (isObject(details)) {
    // Read until the answer is known: one label over the limit refuses the event, and only 20 errors are reported.
    // Reading every key of a 1 MB body (50,000 of them) held the event loop for a second and more per request.
    for (const key of Object.keys(details)) {
      if (count > limits.labelsPerAlert || errors.length > maxReportedErrors) break;
      const value = details[key];
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") continue;
      const label = key.toLowerCase();
      const known = label in labels;
      put(label, String(value));
      if (!known && label in labels) count++;
    }
  }
  if (count > limits.labelsPerAlert) errors.push(`an alert has at most ${limits.labelsPerAlert} labels`);
  const cutSummary = cutText(summary, limits.summaryLength);
  return {
    action: "trigger",
    fingerprint: dedupKey,
    severity: severity ?? "WARNING",
    summary: cutSummary,
    title: cutText(cutSummary, 200).trim() || "Alert",
    description: "",
    source: source || null,
    labels,
    annotations: {},
    generatorUrl: null,
    groupKey: null,
    startsAt: timestamp ?? new Date(),
    endsAt: null,
  };
}
