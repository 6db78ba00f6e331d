import type { SqlBackend } from "../../db/sql-backend.js";
import { groupBy } from "../../shared/group-by.js";
import { all, one, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import { sentBody } from "./webhook-payload.js";
import type { WebhookDeliveryStatus, WebhookEventType } from "./webhook-enums.js";
import { bodyRenderer } from "./webhook-outbox.js";
import { webhookStatements } from "./webhook-statements.js";
import type { WebhookEndpointRow } from "./webhook.table.js";

/** A delivery as the API shows it (its body stays in the database). */
export interface WebhookDelivery {
  id: number;
  endpointId: number;
  incidentId: number;
  eventType: WebhookEventType;
  status: WebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** A delivery leased to this instance for one attempt. */
export interface ClaimedDelivery {
  id: number;
  endpointId: number;
  incidentId: number;
  eventType: WebhookEventType;
  body: string;
  /** Attempts made before this one. */
  attempts: number;
  createdAt: Date;
}

export interface NewEndpoint {
  url: string;
  description: string;
  events: readonly WebhookEventType[];
  serviceIds: readonly number[];
  secret: string;
  secretHint: string;
}

export interface EndpointChanges {
  url?: string;
  description?: string;
  events?: readonly WebhookEventType[];
  serviceIds?: readonly number[];
  enabled?: boolean;
}

/** How an attempt ended, as stored. */
export interface AttemptOutcome {
  status: WebhookDeliveryStatus;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
}

export interface FinishedAttempt {
  id: number;
  outcome: AttemptOutcome;
  /** 410 Gone: the endpoint is switched off. */
  disableEndpointId?: number;
}

export interface DispatchTurn {
  finished: readonly FinishedAttempt[];
  /** Leased deliveries given back untried. */
  released: readonly number[];
  /**
   * Leases to take now, if any. `busyEndpoints`: endpoints with as many attempts in flight as one may have; none of
   * theirs is claimed. `perEndpoint`: at most this many of one endpoint (default `limit`).
   */
  claim?: { now: Date; leaseUntil: Date; limit: number; busyEndpoints: readonly number[]; perEndpoint?: number };
}

export interface SettledTurn {
  /** For each finished attempt, whether its outcome was stored (false: its lease had passed to another instance). */
  kept: boolean[];
  claimed: ClaimedDelivery[];
  endpoints: WebhookEndpointRow[];
}

export interface WebhookRepository {
  createEndpoint(endpoint: NewEndpoint): Promise<WebhookEndpointRow>;
  updateEndpoint(id: number, changes: EndpointChanges): Promise<WebhookEndpointRow | undefined>;
  rotateSecret(id: number, secret: string, secretHint: string): Promise<WebhookEndpointRow | undefined>;
  deleteEndpoint(id: number): Promise<boolean>;
  /** `first + 1` rows at most, by id. */
  endpointPage(first: number, afterId: number | undefined): Promise<WebhookEndpointRow[]>;
  endpointCount(): Promise<number>;
  /** Which of these services exist. */
  existingServices(ids: readonly number[]): Promise<Set<number>>;
  /** The first `first + 1` deliveries before `beforeId` of each endpoint, newest first, in one statement. */
  deliveryPages(
    endpointIds: readonly number[],
    first: number,
    beforeId: number | undefined,
    statuses?: readonly WebhookDeliveryStatus[],
  ): Promise<Map<number, WebhookDelivery[]>>;
  deliveryCounts(endpointIds: readonly number[], statuses?: readonly WebhookDeliveryStatus[]): Promise<Map<number, number>>;
  /**
   * A new PENDING delivery of the one with this id and creation time (both: its public id names them): the same
   * event, endpoint and body, at the end of its endpoint and incident's chain (due now when nothing of it is pending).
   */
  redeliver(id: number, createdAt: Date, now: Date): Promise<WebhookDelivery | undefined>;
  /**
   * The dispatcher's one transaction per turn: stores the outcomes of finished attempts (each only while `claimer`
   * still holds its lease), makes the next delivery of each chain due whose head was DELIVERED or FAILED, hands back
   * those stopped untried, disables endpoints that answered 410, then leases up to `claim.limit` due deliveries (see
   * the claim statement), with their endpoints.
   */
  settle(claimer: string, turn: DispatchTurn): Promise<SettledTurn>;
  /**
   * Whether a delivery not leased is due at `now` at an enabled endpoint not among `busyEndpoints` (a read: cheaper
   * than a claim that finds nothing).
   */
  anyDue(now: Date, busyEndpoints?: readonly number[]): Promise<boolean>;
  /** Deletes up to `limit` delivered or failed deliveries written before `before`; returns how many. */
  prune(before: Date, limit: number): Promise<number>;
  /** When the oldest pending delivery of an enabled endpoint was written; undefined when there is none. */
  oldestPending(): Promise<Date | undefined>;
  /**
   * Completes up to `limit` of the bodies still to be written (SQLite: see WebhookOutbox.renderBodies) in one
   * transaction; returns how many it took up (0: none is left).
   */
  renderBodies(limit: number): Promise<number>;
}

const endpointReader = (d: Dialect) => (row: Row): WebhookEndpointRow => ({
  id: d.readId(row.id),
  url: row.url as string,
  description: row.description as string,
  events: row.events as string,
  serviceIds: row.service_ids as string,
  enabled: d.readBool(row.enabled),
  secret: row.secret as string,
  secretHint: row.secret_hint as string,
  createdAt: d.readTime(row.created_at),
  updatedAt: d.readTime(row.updated_at),
});

const deliveryReader = (d: Dialect) => (row: Row): WebhookDelivery => ({
  id: d.readId(row.id),
  endpointId: d.readId(row.endpoint_id),
  incidentId: d.readId(row.incident_id),
  eventType: row.event_type as WebhookEventType,
  status: row.status as WebhookDeliveryStatus,
  attempts: Number(row.attempts),
  lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
  lastError: row.last_error as string | null,
  nextAttemptAt: row.next_attempt_at === null ? null : d.readTime(row.next_attempt_at),
  deliveredAt: row.delivered_at === null ? null : d.readTime(row.delivered_at),
  createdAt: d.readTime(row.created_at),
});

/** The largest id a page can start before: ids are positive 64-bit integers. */
const noUpperBound = Number.MAX_SAFE_INTEGER;

/** Endpoints and deliveries, written once for both backends. */
export function createWebhookRepository(backend: SqlBackend): WebhookRepository {
  const d = backend.dialect;
  const q = webhookStatements(d);
  const readEndpoint = endpointReader(d);
  const readDelivery = deliveryReader(d);
  const json = (value: readonly unknown[] | undefined) => (value === undefined ? null : JSON.stringify(value));
  const statusParams = (statuses: readonly WebhookDeliveryStatus[] | undefined) => (statuses ? [d.list(statuses)] : []);
  const time = (date: Date | null) => (date === null ? null : d.time(date));
  const render = bodyRenderer(d);

  /** Of these snapshots, those no delivery uses any more go, a bounded list per statement. */
  function* deleteUnused(snapshotIds: readonly number[]): Work<void> {
    const ids = [...new Set(snapshotIds)];
    for (let start = 0; start < ids.length; start += 500) yield* all(q.deleteUnusedSnapshots, [d.list(ids.slice(start, start + 500))]);
  }

  return {
    async createEndpoint({ url, description, events, serviceIds, secret, secretHint }) {
      const now = d.time(new Date());
      const row = await backend.transaction(() =>
        one(q.insertEndpoint, [url, description, JSON.stringify(events), JSON.stringify(serviceIds), secret, secretHint, now, now]),
      );
      return readEndpoint(row!);
    },

    async updateEndpoint(id, changes) {
      const enabled = changes.enabled === undefined ? null : d.bool(changes.enabled);
      const params = [changes.url ?? null, changes.description ?? null, json(changes.events), json(changes.serviceIds), enabled];
      const now = d.time(new Date());
      const row = await backend.transaction(function* () {
        // Enabled again: what waits for a later retry goes now (heads already due stay as they are).
        if (changes.enabled === true) yield* all(q.resumeEndpoint, [now, id, now]);
        return yield* one(q.updateEndpoint, [...params, now, id]);
      });
      return row && readEndpoint(row);
    },

    async rotateSecret(id, secret, secretHint) {
      const row = await backend.transaction(() => one(q.rotateSecret, [secret, secretHint, d.time(new Date()), id]));
      return row && readEndpoint(row);
    },

    async deleteEndpoint(id) {
      return backend.transaction(function* () {
        const used = (yield* all(q.snapshotsOfEndpoint, [id])).map((row) => d.readId(row.snapshot_id));
        const deleted = (yield* one(q.deleteEndpoint, [id])) !== undefined;
        yield* deleteUnused(used);
        return deleted;
      });
    },

    async endpointPage(first, afterId) {
      return (await backend.read(() => all(q.endpointPage, [afterId ?? 0, first + 1]))).map(readEndpoint);
    },

    async endpointCount() {
      return d.readNumber((await backend.read(() => one(q.endpointCount, [])))?.n);
    },

    async existingServices(ids) {
      if (ids.length === 0) return new Set();
      return new Set((await backend.read(() => all(q.servicesExisting, [d.list(ids)]))).map((row) => d.readId(row.id)));
    },

    async deliveryPages(endpointIds, first, beforeId, statuses) {
      if (endpointIds.length === 0) return new Map();
      const params = [d.list(endpointIds), beforeId ?? noUpperBound, ...statusParams(statuses), first + 1];
      const rows = (await backend.read(() => all(q.deliveryPages(statuses !== undefined), params))).map(readDelivery);
      const pages = groupBy(rows, (row) => row.endpointId);
      for (const page of pages.values()) page.sort((a, b) => b.id - a.id);
      return pages;
    },

    async deliveryCounts(endpointIds, statuses) {
      if (endpointIds.length === 0) return new Map();
      const rows = await backend.read(() => all(q.deliveryCounts(statuses !== undefined), [d.list(endpointIds), ...statusParams(statuses)]));
      return new Map(rows.map((row) => [d.readId(row.endpoint_id), d.readNumber(row.n)]));
    },

    async redeliver(id, createdAt, now) {
      const row = await backend.transaction(function* () {
        if (d.kind === "postgres") {
          yield* all(q.lockChainOfDelivery, [id]);
          yield* all(q.lockIncidentOfDelivery, [id]);
        }
        return yield* one(q.redeliver, [d.time(now), d.time(now), id, d.time(createdAt)]);
      });
      return row && readDelivery(row);
    },

    async settle(claimer, { finished, released, claim }) {
      // Relaxed: a turn undone by a power loss only means attempts made again (at least once), never a lost event.
      return backend.transaction(function* () {
        if (d.kind === "postgres") yield* all(q.lockTimeout, []);
        // The claim's own time: a delivery made due here is taken in this same turn.
        const settledAt = d.time(claim?.now ?? new Date());
        const kept: boolean[] = [];
        const settledHeads: Row[] = [];
        for (const { id, outcome, disableEndpointId } of finished) {
          const { status, statusCode, error, nextAttemptAt, deliveredAt } = outcome;
          const params = [status, statusCode, error, time(nextAttemptAt), time(deliveredAt), id, claimer];
          const row = yield* one(q.finish, params);
          kept.push(row !== undefined);
          if (row && status !== "PENDING") settledHeads.push(row);
          if (disableEndpointId !== undefined) yield* all(q.disableEndpoint, [settledAt, disableEndpointId]);
        }
        for (const id of released) yield* all(q.release, [id, claimer]);
        for (const head of settledHeads) yield* all(q.promote, [settledAt, head.endpoint_id, head.incident_id, head.id]);
        if (!claim) return { kept, claimed: [], endpoints: [] };
        const now = d.time(claim.now);
        const perEndpoint = Math.min(claim.limit, claim.perEndpoint ?? claim.limit);
        const busy = d.list(claim.busyEndpoints);
        const rows = yield* all(q.claim, [d.time(claim.leaseUntil), claimer, now, now, perEndpoint, busy, now, now, claim.limit]);
        const claimed = rows
          .map((row) => ({
            id: d.readId(row.id),
            endpointId: d.readId(row.endpoint_id),
            incidentId: d.readId(row.incident_id),
            eventType: row.event_type as WebhookEventType,
            body: row.body as string,
            snapshotId: row.snapshot_id === null ? null : d.readId(row.snapshot_id),
            attempts: Number(row.attempts),
            createdAt: d.readTime(row.created_at),
          }))
          .sort((a, b) => a.id - b.id);
        const snapshotIds = [...new Set(claimed.flatMap((delivery) => (delivery.snapshotId === null ? [] : [delivery.snapshotId])))];
        const snapshots = new Map<number, string>();
        if (snapshotIds.length > 0) {
          for (const row of yield* all(q.snapshotsByIds, [d.list(snapshotIds)])) snapshots.set(d.readId(row.id), row.body as string);
        }
        const sent = claimed.map(({ snapshotId, body, ...delivery }) => ({
          ...delivery,
          body: sentBody(body, snapshotId === null ? null : snapshots.get(snapshotId)!),
        }));
        const endpointIds = [...new Set(claimed.map((delivery) => delivery.endpointId))];
        const endpoints = endpointIds.length === 0 ? [] : (yield* all(q.endpointsByIds, [d.list(endpointIds)])).map(readEndpoint);
        return { kept, claimed: sent, endpoints };
      }, { relaxed: true });
    },

    async anyDue(now, busyEndpoints = []) {
      return (await backend.read(() => one(q.anyDue, [d.time(now), d.time(now), d.list(busyEndpoints)]))) !== undefined;
    },

    async prune(before, limit) {
      return backend.transaction(function* () {
        const pruned = yield* all(q.prune, [d.time(before), limit]);
        yield* deleteUnused(pruned.flatMap((row) => (row.snapshot_id === null ? [] : [d.readId(row.snapshot_id)])));
        return pruned.length;
      });
    },

    async renderBodies(limit) {
      // A read first, as anyDue: an idle turn takes no write lock (SQLite) to find nothing. PostgreSQL defers none.
      const unwritten = q.deferredBodies?.unwritten;
      if (!unwritten || !(await backend.read(() => one(unwritten, [1])))) return 0;
      return backend.transaction(() => render(limit));
    },

    async oldestPending() {
      const at = (await backend.read(() => one(q.oldestPending, [])))?.at;
      return at === null || at === undefined ? undefined : d.readTime(at);
    },
  };
}
