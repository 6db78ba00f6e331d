import { createHash } from "node:crypto";
import { all, one, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import type { ResolvedAlerts } from "../alerts/alert-ingest.js";
import { alertReader } from "../alerts/alert-rows.js";
import type { IncidentLogRow } from "../incidents/incident-log.table.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import type { Label } from "../services/label.rules.js";
import type { WebhookEventType } from "./webhook-enums.js";
import { alertJson, incidentJson, incidentReader, logJson, logReader, storedBody, type EventData } from "./webhook-payload.js";
import { webhookStatements } from "./webhook-statements.js";

/** A committed change, as a webhook reports it. What the writer already holds it passes; the rest is read. */
export interface OutboxEvent {
  type: WebhookEventType;
  incidentId: number;
  /** The incident's service, which endpoints filter on (null: none). */
  serviceId: number | null;
  /** Null for changes made by the system. */
  actorId: number | null;
  at: Date;
  /**
   * The incident as the change left it, from a writer that holds its row lock (or created it). Left out, it is
   * read, and on PostgreSQL locked, inside the transaction. Required for deletions.
   */
  incident?: { row: Omit<IncidentRow, "priorityRank">; labels: readonly Label[] };
  /** INCIDENT_LOG_ADDED, and ALERT_* when the change wrote an entry: the entry, or its id. */
  log?: IncidentLogRow | number;
  /** ALERT_*: the alert's id. */
  alertId?: number;
}

/**
 * The transactional outbox. Every write path calls `record` INSIDE its transaction, once per event, in the order of
 * the changes: SQLite runs the unit synchronously in its write transaction (`sqliteRunner`), PostgreSQL on the
 * transaction's connection (`runOnPgTx`, or `yield*` inside shared work). A change that rolls back leaves no event.
 *
 * Fan-out happens here, at write time: one delivery row per enabled endpoint whose filters match, each holding the
 * body it will send but for the incident, which is a snapshot shared by every event and endpoint that carries the
 * same JSON: a request of 1,000 small alerts joining an incident with 20 labels of 200 characters stores those
 * labels once, not 1,000 times per endpoint. Without a matching endpoint the cost is one indexed read of the
 * (small) endpoints table.
 */
export interface WebhookOutbox {
  record(event: OutboxEvent): Work<void>;
  /**
   * One event per alert of one change that reports many at once (an incident's resolution resolving its firing
   * alerts), `event` with each alert and its entry, in order: as `record` of each, with a fixed number of statements.
   */
  recordAlerts(event: Omit<OutboxEvent, "alertId" | "log">, alerts: ResolvedAlerts): Work<void>;
  /**
   * Completes up to `limit` of the oldest deliveries whose body is still to be written (SQLite's `recordAlerts`),
   * inside the caller's transaction; returns how many. Run after such a change commits, a slice per transaction,
   * until none is left (the dispatcher does), and before an incident is deleted (its alerts and entries go with it).
   */
  renderBodies(limit: number): Work<number>;
  /**
   * A recorder for the events of one change that writes many of them (an ingestion request), inside its transaction:
   * see OutboxBatch.
   */
  batch(): OutboxBatch;
  /** Whether any delivery was written since the last call (possibly by a transaction that then rolled back). */
  takeWritten(): boolean;
}

/**
 * The events of one change, recorded as `record` would, in order. On SQLite they are held and written by `flush`, all
 * at once: the write transaction holds the event loop, and a thousand events, each read, built, stringified and
 * inserted for every endpoint on its own, held it for about a second with three endpoints. The incident's snapshot is
 * taken as each is recorded; the entry and alert are read at `flush`, so the caller flushes before it changes an alert
 * or entry it recorded an event of, and before its transaction ends. On PostgreSQL, `record` writes at once.
 */
export interface OutboxBatch {
  record(event: OutboxEvent): Work<void>;
  flush(): Work<void>;
}

/**
 * Times as any runner hands them over: Dates (node-postgres), epoch ms (SQLite), or PostgreSQL's text form when the
 * unit runs on a drizzle transaction (`2026-11-30 05:45:15.907+00`).
 */
function anyTime(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === "number") return new Date(value);
  return new Date(String(value).replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00"));
}

/** Alerts per batch of `recordAlerts`. */
const batchSize = 500;

/**
 * At most this many deliveries of a change, `recordAlerts` writes their bodies in its own transaction on SQLite (about
 * 30 ms): a change of a thousand alerts for two endpoints is sent as committed. More wait for `renderBodies` after
 * the commit, all of them (those of the commit would only lengthen it).
 */
const writtenAtOnce = 2_500;

/**
 * A body completed in script from its start (`storedBody` up to its actorId, without the closing braces), its entry
 * (none for an event without one) and its alert, as stored now: what SQL writes, for the few rows it would write
 * otherwise (see deferredBodies.needScript).
 */
function scriptCompletion(d: Dialect): (prefix: string, logId: unknown, alertId: unknown) => Work<string> {
  const q = webhookStatements(d);
  const readLog = logReader(d);
  const readAlert = alertReader(d);
  return function* complete(prefix, logId, alertId) {
    const log = logId == null ? "" : `,"log":${JSON.stringify(logJson(readLog((yield* one(q.logById, [logId]))!)))}`;
    const alert = JSON.stringify(alertJson(readAlert((yield* one(q.alertById, [alertId]))!)));
    return `${prefix}${log},"alert":${alert}}}`;
  };
}

/**
 * Completes up to `limit` of the oldest deliveries whose body is still to be written (see WebhookOutbox.renderBodies),
 * inside the caller's transaction; returns how many it took up. Nothing on PostgreSQL, where none is deferred.
 */
export function bodyRenderer(dialect: Dialect): (limit: number) => Work<number> {
  const d: Dialect = { ...dialect, readTime: anyTime };
  const q = webhookStatements(d);
  const complete = scriptCompletion(d);

  /** The deliveries' bodies that SQL would write otherwise than JavaScript, written here, one at a time (rare). */
  function* writeInScript(rows: readonly Row[]): Work<void> {
    for (const row of rows) {
      const body = yield* complete(row.body as string, row.render_log_id, row.render_alert_id);
      yield* all(q.deferredBodies!.write, [body, row.id]);
    }
  }

  return function* renderBodies(limit: number): Work<number> {
    if (!q.deferredBodies) return 0;
    const ids = (yield* all(q.deferredBodies.unwritten, [limit])).map((row) => d.readId(row.id));
    if (ids.length === 0) return 0;
    const list = d.list(ids);
    const inScript = yield* all(q.deferredBodies.needScript, [list]);
    yield* writeInScript(inScript);
    const rendered = yield* all(q.deferredBodies.render, [list]);
    if (inScript.length + rendered.length < ids.length) {
      // Its alert or entry is gone (incident deletion writes these bodies first, so only a fault gets here): the
      // delivery can never be sent whole. It fails, and the next of its chain is due, rather than stall the chain.
      const now = d.time(new Date());
      for (const row of yield* all(q.deferredBodies.abandon, [list])) yield* all(q.promote, [now, row.endpoint_id, row.incident_id, row.id]);
    }
    return ids.length;
  };
}

/** Every body still to be written, inside the caller's transaction: before an incident's alerts and entries go. */
export function* renderAllBodies(outbox: WebhookOutbox): Work<void> {
  while ((yield* outbox.renderBodies(10_000)) > 0);
}

export function webhookOutbox(dialect: Dialect): WebhookOutbox {
  const d: Dialect = { ...dialect, readTime: anyTime };
  const q = webhookStatements(d);
  const renderBodies = bodyRenderer(dialect);
  const complete = scriptCompletion(d);
  const readIncident = incidentReader(d);
  const readLog = logReader(d);
  const readAlert = alertReader(d);
  let written = false;

  function* incidentOf(event: OutboxEvent) {
    if (event.incident) return incidentJson(event.incident.row, event.incident.labels);
    return yield* incidentOfRow((yield* one(q.incidentById, [event.incidentId]))!);
  }

  function* labelsOf(incidentId: unknown): Work<Label[]> {
    const labels = yield* all(q.labelsOfIncident, [incidentId]);
    return labels.map((label) => ({ key: label.key as string, value: label.value as string }));
  }

  /** The incident JSON of a row read by incidentById, with its labels. */
  function* incidentOfRow(row: Row, labels?: readonly Label[]) {
    return incidentJson(readIncident(row), labels ?? (yield* labelsOf(row.id)));
  }

  /** The id of the snapshot holding this JSON, stored now if it is not yet. */
  function* snapshotOf(json: string): Work<number> {
    const hash = createHash("sha256").update(json).digest("base64url");
    // PostgreSQL: another transaction may store it between the read and the insert (which then waits for it to
    // commit and stores nothing): the read after finds it. A third round would mean a prune deleting it each time.
    for (let round = 0; round < 3; round++) {
      const found = yield* one(q.snapshotByHash, [hash]);
      if (found) return d.readId(found.id);
      const stored = yield* one(q.insertSnapshot, [hash, json]);
      if (stored) return d.readId(stored.id);
    }
    throw new Error("A webhook snapshot could not be stored or found");
  }

  /** A held event of `batch`, short keys as insertEvents reads them (a request holds thousands). */
  interface HeldEvent {
    /** incident, type, snapshot, the matching endpoints, the time (created_at) */
    i: number;
    t: WebhookEventType;
    s: number;
    e: number[];
    w: unknown;
    /** The body up to its actorId (storedBody without its closing braces). */
    p: string;
    /** The entry and alert written in at flush; or `b`, the whole body, written in script. */
    l?: number;
    a?: number;
    b?: string;
  }

  function batch(): OutboxBatch {
    const insertEvents = q.deferredBodies?.insertEvents;
    if (!insertEvents) return { record, *flush() {} };
    const endpointsOf = new Map<string, number[]>();
    /**
     * Per incident: its row as last read, its labels, and the snapshot taken of it. A thousand alert events of one
     * incident read its row each, and build its JSON again only when the row changed. The labels are read once:
     * ingestion writes an incident's labels only as it opens it, before its first event.
     */
    const snapshots = new Map<number, { row: string; labels: readonly Label[]; id: number }>();
    let held: HeldEvent[] = [];

    function* snapshotFor(incidentId: number): Work<number> {
      const row = (yield* one(q.incidentById, [incidentId]))!;
      const text = JSON.stringify(row);
      const known = snapshots.get(incidentId);
      if (known?.row === text) return known.id;
      const labels = known?.labels ?? (yield* labelsOf(incidentId));
      const id = yield* snapshotOf(JSON.stringify(yield* incidentOfRow(row, labels)));
      snapshots.set(incidentId, { row: text, labels, id });
      return id;
    }

    /** The whole bodies of the held events whose alert SQL would write otherwise (rare), in script. */
    function* writeInScript(): Work<void> {
      const alertIds = held.flatMap((event) => (event.a === undefined ? [] : [event.a]));
      if (alertIds.length === 0) return;
      const inScript = new Set((yield* all(q.deferredBodies!.alertsNeedScript, [JSON.stringify(alertIds)])).map((row) => d.readId(row.id)));
      for (const event of held) {
        if (event.a === undefined || !inScript.has(event.a)) continue;
        event.b = yield* complete(event.p, event.l, event.a);
      }
    }

    function* flush(): Work<void> {
      if (held.length === 0) return;
      yield* writeInScript();
      yield* all(insertEvents!, [JSON.stringify(held)]);
      held = [];
      written = true;
    }

    return {
      flush,
      *record(event) {
        // Written by record, after what is held (the order of the events is kept): not from ingestion.
        if (event.incident || typeof event.log === "object") {
          yield* flush();
          return yield* record(event);
        }
        const key = `${event.type}:${event.serviceId}`;
        let endpoints = endpointsOf.get(key);
        if (!endpoints) {
          endpoints = (yield* all(q.matchingEndpoints, [event.type, event.serviceId])).map((row) => d.readId(row.id));
          endpointsOf.set(key, endpoints);
        }
        if (endpoints.length === 0) return;
        const actorId = event.actorId === null ? null : String(event.actorId);
        const prefix = storedBody(event.type, event.at, { actorId }).slice(0, -"}}".length);
        const snapshot = yield* snapshotFor(event.incidentId);
        held.push({ i: event.incidentId, t: event.type, s: snapshot, e: endpoints, w: d.time(event.at), p: prefix, l: event.log, a: event.alertId });
      },
    };
  }

  function* record(event: OutboxEvent): Work<void> {
    const endpoints = yield* all(q.matchingEndpoints, [event.type, event.serviceId]);
    if (endpoints.length === 0) return;
    // A writer that passes the incident holds its row (locked, or new); one that does not (alert ingestion) takes
    // the lock here. Either way, the ids of an incident's deliveries are drawn in commit order, which is the order
    // the dispatcher sends them in.
    if (d.kind === "postgres" && !event.incident) yield* one(q.lockIncident, [event.incidentId]);
    const data: Omit<EventData, "incident"> = { actorId: event.actorId === null ? null : String(event.actorId) };
    const snapshotId = yield* snapshotOf(JSON.stringify(yield* incidentOf(event)));
    if (event.log !== undefined) {
      const log = typeof event.log === "number" ? readLog((yield* one(q.logById, [event.log]))!) : event.log;
      data.log = logJson(log);
    }
    if (event.alertId !== undefined) data.alert = alertJson(readAlert((yield* one(q.alertById, [event.alertId]))!));
    const ids = endpoints.map((row) => d.readId(row.id));
    const at = d.time(event.at);
    const body = storedBody(event.type, event.at, data);
    yield* all(q.insertDeliveries, [event.incidentId, event.type, body, snapshotId, at, at, event.incidentId, d.list(ids)]);
    written = true;
  }

  return {
    renderBodies,
    record,
    batch,
    *recordAlerts(event, { alertIds, logIds }) {
      if (alertIds.length === 0) return;
      const endpoints = yield* all(q.matchingEndpoints, [event.type, event.serviceId]);
      if (endpoints.length === 0) return;
      if (d.kind === "postgres" && !event.incident) yield* one(q.lockIncident, [event.incidentId]);
      // Read once: the incident does not change between the events of one change, and the writer holds its row.
      const snapshotId = yield* snapshotOf(JSON.stringify(yield* incidentOf(event)));
      const actorId = event.actorId === null ? null : String(event.actorId);
      const ids = d.list(endpoints.map((row) => d.readId(row.id)));
      const at = d.time(event.at);
      if (q.deferredBodies) {
        // SQLite: the bodies are completed by renderBodies: here when they are few (a change of a thousand alerts is
        // sent as committed), else after the commit, in slices that each hold the event loop briefly.
        const prefix = storedBody(event.type, event.at, { actorId }).slice(0, -"}}".length);
        const pairs = JSON.stringify(alertIds.map((alertId, i) => [alertId, logIds[i]]));
        yield* all(q.deferredBodies.insert, [event.incidentId, event.type, prefix, snapshotId, at, pairs, ids]);
        if (alertIds.length * endpoints.length <= writtenAtOnce) yield* renderBodies(writtenAtOnce);
        written = true;
        return;
      }
      // A batch at a time (a body is a few kB): bounded statements, and on PostgreSQL no long synchronous stretch
      // reading rows and building bodies between two awaits.
      for (let start = 0; start < alertIds.length; start += batchSize) {
        const batchAlerts = alertIds.slice(start, start + batchSize);
        const batchLogs = logIds.slice(start, start + batchSize);
        const logs = new Map((yield* all(q.logsByIds, [d.list(batchLogs)])).map((row) => [d.readId(row.id), readLog(row)]));
        const alerts = new Map((yield* all(q.alertsByIds, [d.list(batchAlerts)])).map((row) => [d.readId(row.id), readAlert(row)]));
        const bodies = batchAlerts.map((alertId, i) => {
          const data: Omit<EventData, "incident"> = { actorId, log: logJson(logs.get(batchLogs[i]!)!), alert: alertJson(alerts.get(alertId)!) };
          return storedBody(event.type, event.at, data);
        });
        // The first heads its chain when nothing of it is pending (insertDeliveries' rule); the rest wait behind it.
        if (start === 0) yield* all(q.insertDeliveries, [event.incidentId, event.type, bodies.shift(), snapshotId, at, at, event.incidentId, ids]);
        if (bodies.length > 0) yield* all(q.insertWaitingDeliveries, [event.incidentId, event.type, snapshotId, at, d.list(bodies), ids]);
      }
      written = true;
    },
    takeWritten() {
      const was = written;
      written = false;
      return was;
    },
  };
}
