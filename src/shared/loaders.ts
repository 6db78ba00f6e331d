import type { WebhookDeliveryStatus } from "../modules/webhooks/webhook-enums.js";
import type { WebhookDelivery, WebhookRepository } from "../modules/webhooks/webhook.repository.js";
import DataLoader from "dataloader";
import type { Pause } from "./time-slicer.js";
import type { IncidentRepository, LogColumn } from "../modules/incidents/incident.repository.js";
import type { IncidentStatus } from "../modules/incidents/incident-status.js";
import type { IncidentLogRow } from "../modules/incidents/incident-log.table.js";
import type { IncidentRow } from "../modules/incidents/incident.table.js";
import type { AlertRepository } from "../modules/alerts/alert.repository.js";
import type { AlertStatus } from "../modules/alerts/alert-enums.js";
import type { AlertRow, IntegrationRow } from "../modules/alerts/alert.table.js";
import type { Label } from "../modules/services/label.rules.js";
import type { ServiceRepository } from "../modules/services/service.repository.js";
import type { ServiceRow } from "../modules/services/service.table.js";
import type { UserRepository } from "../modules/users/user.repository.js";
import type { UserRow } from "../modules/users/user.table.js";
import type { InsightRepository } from "../modules/insights/insight.repository.js";
import type { TemplateEvidence } from "../modules/insights/outlier.js";
import { templateEvidence } from "../modules/insights/template-evidence.js";

export interface LogRange {
  first: number;
  afterId?: number;
}

export interface LogPageKey extends LogRange {
  incidentId: number;
  /** The fields the caller reads; all of them when omitted. */
  columns?: readonly LogColumn[];
}

export interface AssignedPageKey {
  userId: number;
  first: number;
  statuses?: readonly IncidentStatus[];
  after?: { createdAt: number; id: number };
}

export interface AssignedCountKey {
  userId: number;
  statuses?: readonly IncidentStatus[];
}

export interface AlertPageKey {
  incidentId: number;
  first: number;
  afterId?: number;
  statuses?: readonly AlertStatus[];
}

export interface AlertCountKey {
  incidentId: number;
  statuses?: readonly AlertStatus[];
}

/** Per-request batching: every loader turns one tick's worth of `load` calls into one SQL statement. */
export interface Loaders {
  userById: DataLoader<number, UserRow | null>;
  /**
   * A user this request has already loaded, at once; otherwise the batched load. A page of timelines names the
   * same few authors hundreds of times, and a settled value costs no promise and no extra turn of the executor.
   */
  user(id: number): UserRow | null | Promise<UserRow | null>;
  /** After a write: the request's later reads see `user` as it now is. */
  replaceUser(user: UserRow): void;
  /** A user read along with something else (an incident's reporter): later reads of it need no statement. */
  rememberUser(user: UserRow): void;
  incidentById: DataLoader<number, IncidentRow | null>;
  logPage: DataLoader<LogPageKey, IncidentLogRow[], string>;
  /** A timeline page this request has already loaded (a whole page of incidents loads them together), at once. */
  loadedLogPage(key: LogPageKey): IncidentLogRow[] | undefined;
  /**
   * The same range of many incidents' timelines, in one statement, kept for `loadedLogPage`: a page of incidents
   * loads its rows' timelines at once, without the promise, cache key and batch entry per row of `logPage.loadMany`.
   */
  preloadLogPages(incidentIds: readonly number[], range: LogRange, columns?: readonly LogColumn[]): Promise<IncidentLogRow[][]>;
  logCount: DataLoader<number, number>;
  assignedPage: DataLoader<AssignedPageKey, IncidentRow[], string>;
  assignedCount: DataLoader<AssignedCountKey, number, string>;
  serviceById: DataLoader<number, ServiceRow | null>;
  /** An incident's labels, sorted by key. */
  labels: DataLoader<number, Label[]>;
  alertById: DataLoader<number, AlertRow | null>;
  alertPage: DataLoader<AlertPageKey, AlertRow[], string>;
  alertCount: DataLoader<AlertCountKey, number, string>;
  integrationById: DataLoader<number, IntegrationRow | null>;
  integrationsOfService: DataLoader<number, IntegrationRow[]>;
  /** An incident's template and the 30 days of its service it is compared with. */
  template: DataLoader<IncidentRow, TemplateEvidence, number>;
  deliveryPage: DataLoader<DeliveryPageKey, WebhookDelivery[], string>;
  deliveryCount: DataLoader<DeliveryCountKey, number, string>;
}

export interface DeliveryCountKey {
  endpointId: number;
  statuses?: readonly WebhookDeliveryStatus[];
}

export interface DeliveryPageKey {
  endpointId: number;
  first: number;
  beforeId: number | undefined;
  statuses?: readonly WebhookDeliveryStatus[];
}

export interface LoaderSources {
  users: UserRepository;
  incidents: IncidentRepository;
  /** Called before each batch loads: a request past its time slice waits there for its turn (time-slicer.ts). */
  pause?: Pause;
  services: ServiceRepository;
  alerts: AlertRepository;
  insights: InsightRepository;
  webhooks: WebhookRepository;
}

/** Groups keys that share the part of the query other than the parent id; each group is one statement. */
async function batchByShape<K, V>(
  keys: readonly K[],
  shapeOf: (key: K) => string,
  fetch: (group: K[]) => Promise<(key: K) => V>,
): Promise<V[]> {
  const groups = new Map<string, K[]>();
  for (const key of keys) {
    const shape = shapeOf(key);
    const group = groups.get(shape);
    if (group) group.push(key);
    else groups.set(shape, [key]);
  }
  const pickers = new Map<string, (key: K) => V>();
  await Promise.all([...groups].map(async ([shape, group]) => pickers.set(shape, await fetch(group))));
  return keys.map((key) => pickers.get(shapeOf(key))!(key));
}

// Column lists come from memoized projections, so the same list is usually the same array: joined once.
/** How many children (with one of `statuses`, when given) each parent has: one statement per set of statuses. */
function countLoader<S extends string, K extends { statuses?: readonly S[] }>(
  pause: Pause,
  parentOf: (key: K) => number,
  count: (parentIds: number[], statuses: readonly S[] | undefined) => Promise<Map<number, number>>,
): DataLoader<K, number, string> {
  return new DataLoader(
    (keys) =>
      batchByShape(
        keys,
        (key) => statusKey(key.statuses),
        async (group) => {
          await pause();
          const counts = await count(group.map(parentOf), group[0]!.statuses);
          return (key) => counts.get(parentOf(key)) ?? 0;
        },
      ),
    { cacheKeyFn: (key) => `${parentOf(key)}:${statusKey(key.statuses)}` },
  );
}

const columnKeys = new WeakMap<readonly LogColumn[], string>();
const columnsKey = (columns: readonly LogColumn[] | undefined) => {
  if (!columns) return "*";
  let key = columnKeys.get(columns);
  if (key === undefined) {
    key = columns.join(",");
    columnKeys.set(columns, key);
  }
  return key;
};
const logPageShape = (key: LogPageKey) => `${key.first}:${key.afterId ?? ""}:${columnsKey(key.columns)}`;
const logPageKey = (key: LogPageKey) => `${key.incidentId}:${logPageShape(key)}`;
/** Which range of a timeline a page is, whatever its parent: loaded pages are kept by range, then by parent. */
const logRangeKey = (range: LogRange) => `${range.first}:${range.afterId ?? ""}`;

/** Rows fetched with `loaded` columns serve a caller that reads `wanted` (undefined: every column). */
const covers = (loaded: readonly LogColumn[] | undefined, wanted: readonly LogColumn[] | undefined) =>
  loaded === undefined || (wanted !== undefined && wanted.every((column) => loaded.includes(column)));

interface LoadedLogPage {
  columns: readonly LogColumn[] | undefined;
  rows: IncidentLogRow[];
}

const statusKey = (statuses: readonly string[] | undefined) => (statuses ? [...statuses].sort().join(",") : "*");

/** A loader of rows by id, one statement per batch (after `pause`, as every batch). */
function byIdLoader<T extends { id: number }>(pause: Pause, fetch: (ids: readonly number[]) => Promise<T[]>) {
  return new DataLoader<number, T | null>(async (ids) => {
    await pause();
    const byId = new Map((await fetch(ids)).map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

export function createLoaders({ users, incidents, services, alerts, insights, webhooks, pause = () => undefined }: LoaderSources): Loaders {
  const settledUsers = new Map<number, UserRow | null>();
  const loadedLogPages = new Map<string, Map<number, LoadedLogPage[]>>();
  const keepLogPage = (range: LogRange, incidentId: number, columns: readonly LogColumn[] | undefined, rows: IncidentLogRow[]) => {
    const rangeKey = logRangeKey(range);
    let parents = loadedLogPages.get(rangeKey);
    if (!parents) loadedLogPages.set(rangeKey, (parents = new Map()));
    const loaded = parents.get(incidentId);
    if (loaded) loaded.push({ columns, rows });
    else parents.set(incidentId, [{ columns, rows }]);
  };
  const userById = new DataLoader<number, UserRow | null>(async (ids) => {
    await pause();
    const rows = await users.findByIds(ids);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => {
      const user = byId.get(id) ?? null;
      settledUsers.set(id, user);
      return user;
    });
  });
  return {
    userById,
    user: (id) => (settledUsers.has(id) ? settledUsers.get(id)! : userById.load(id)),
    replaceUser(user) {
      settledUsers.set(user.id, user);
      userById.clear(user.id).prime(user.id, user);
    },
    rememberUser(user) {
      if (settledUsers.has(user.id)) return;
      settledUsers.set(user.id, user);
      userById.prime(user.id, user);
    },

    incidentById: new DataLoader(async (ids) => {
      await pause();
      const rows = await incidents.findByIds(ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    }),

    logPage: new DataLoader(
      (keys) =>
        batchByShape(keys, logPageShape, async (group) => {
          await pause();
          const { first, afterId, columns } = group[0]!;
          const pages = await incidents.logPages(
            group.map((key) => key.incidentId),
            first,
            afterId,
            columns,
          );
          return (key) => {
            const page = pages.get(key.incidentId) ?? [];
            keepLogPage(key, key.incidentId, key.columns, page);
            return page;
          };
        }),
      { cacheKeyFn: logPageKey },
    ),
    // Any page of the same range whose columns include the ones asked for will do: aliases, or `nodes` and
    // `edges { node }`, may read different fields of the same timeline that the page loaded once, for all of them.
    loadedLogPage: (key) =>
      loadedLogPages
        .get(logRangeKey(key))
        ?.get(key.incidentId)
        ?.find((loaded) => covers(loaded.columns, key.columns))?.rows,
    async preloadLogPages(incidentIds, range, columns) {
      await pause();
      const pages = await incidents.logPages(incidentIds, range.first, range.afterId, columns);
      return incidentIds.map((incidentId) => {
        const page = pages.get(incidentId) ?? [];
        keepLogPage(range, incidentId, columns, page);
        return page;
      });
    },

    logCount: new DataLoader(async (ids) => {
      await pause();
      const counts = await incidents.logCounts(ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),

    assignedPage: new DataLoader(
      (keys) =>
        batchByShape(
          keys,
          (key) => `${key.first}:${statusKey(key.statuses)}:${key.after?.createdAt ?? ""}:${key.after?.id ?? ""}`,
          async (group) => {
            await pause();
            const { first, statuses, after } = group[0]!;
            const pages = await incidents.assignedPages(
              group.map((key) => key.userId),
              { first, statuses, after },
            );
            return (key) => pages.get(key.userId) ?? [];
          },
        ),
      {
        cacheKeyFn: (key) =>
          `${key.userId}:${key.first}:${statusKey(key.statuses)}:${key.after?.createdAt ?? ""}:${key.after?.id ?? ""}`,
      },
    ),

    assignedCount: countLoader<IncidentStatus, AssignedCountKey>(pause, (key) => key.userId, (ids, statuses) => incidents.assignedCounts(ids, statuses)),

    serviceById: byIdLoader(pause, (ids) => services.findByIds(ids)),
    labels: new DataLoader(async (ids) => {
      await pause();
      const labels = await services.labelsOf(ids);
      return ids.map((id) => labels.get(id) ?? []);
    }),
    alertById: byIdLoader(pause, (ids) => alerts.findByIds(ids)),
    alertPage: new DataLoader(
      (keys) =>
        batchByShape(
          keys,
          (key) => `${key.first}:${key.afterId ?? ""}:${statusKey(key.statuses)}`,
          async (group) => {
            await pause();
            const { first, afterId, statuses } = group[0]!;
            const pages = await alerts.pages(
              group.map((key) => key.incidentId),
              first,
              afterId,
              statuses,
            );
            return (key) => pages.get(key.incidentId) ?? [];
          },
        ),
      { cacheKeyFn: (key) => `${key.incidentId}:${key.first}:${key.afterId ?? ""}:${statusKey(key.statuses)}` },
    ),
    alertCount: countLoader<AlertStatus, AlertCountKey>(pause, (key) => key.incidentId, (ids, statuses) => alerts.counts(ids, statuses)),
    integrationById: byIdLoader(pause, (ids) => alerts.integrationsByIds(ids)),
    integrationsOfService: new DataLoader(async (ids) => {
      await pause();
      const groups = await alerts.integrationsOfServices(ids);
      return ids.map((id) => groups.get(id) ?? []);
    }),
    template: new DataLoader(
      async (rows) => {
        await pause();
        return templateEvidence(insights, rows);
      },
      { cacheKeyFn: (row) => row.id },
    ),
    deliveryPage: new DataLoader(
      (keys) =>
        batchByShape(
          keys,
          (key) => `${key.first}:${key.beforeId ?? ""}:${statusKey(key.statuses)}`,
          async (group) => {
            await pause();
            const { first, beforeId, statuses } = group[0]!;
            const pages = await webhooks.deliveryPages(
              group.map((key) => key.endpointId),
              first,
              beforeId,
              statuses,
            );
            return (key) => pages.get(key.endpointId) ?? [];
          },
        ),
      { cacheKeyFn: (key) => `${key.endpointId}:${key.first}:${key.beforeId ?? ""}:${statusKey(key.statuses)}` },
    ),
    deliveryCount: countLoader<WebhookDeliveryStatus, DeliveryCountKey>(pause, (key) => key.endpointId, (ids, statuses) =>
      webhooks.deliveryCounts(ids, statuses),
    ),
  };
}
