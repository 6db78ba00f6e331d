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

/** The loaders of one request, each made when it is first used: most requests use two or three of eighteen. */
export function createLoaders(sources: LoaderSources): Loaders {
  return new RequestLoaders(sources);
}

type LoadedLogPages = Map<string, Map<number, LoadedLogPage[]>>;

// A class, not an object of getters: its accessors are shared by every request, where an object literal's would be
// made anew for each, closing over the request (V8 keeps accessors in the old generation: see jit-executor.ts).
class RequestLoaders implements Loaders {
  readonly #sources: LoaderSources;
  readonly #pause: Pause;
  #settledUsers?: Map<number, UserRow | null>;
  #loadedLogPages?: LoadedLogPages;
  #userById?: Loaders["userById"];
  #incidentById?: Loaders["incidentById"];
  #logPage?: Loaders["logPage"];
  #logCount?: Loaders["logCount"];
  #assignedPage?: Loaders["assignedPage"];
  #assignedCount?: Loaders["assignedCount"];
  #serviceById?: Loaders["serviceById"];
  #labels?: Loaders["labels"];
  #alertById?: Loaders["alertById"];
  #alertPage?: Loaders["alertPage"];
  #alertCount?: Loaders["alertCount"];
  #integrationById?: Loaders["integrationById"];
  #integrationsOfService?: Loaders["integrationsOfService"];
  #template?: Loaders["template"];
  #deliveryPage?: Loaders["deliveryPage"];
  #deliveryCount?: Loaders["deliveryCount"];

  constructor(sources: LoaderSources) {
    this.#sources = sources;
    this.#pause = sources.pause ?? (() => undefined);
  }

  get #settled(): Map<number, UserRow | null> {
    return (this.#settledUsers ??= new Map());
  }

  get userById(): Loaders["userById"] {
    return (this.#userById ??= userByIdLoader(this.#pause, this.#sources.users, this.#settled));
  }

  user(id: number): UserRow | null | Promise<UserRow | null> {
    const settled = this.#settledUsers?.get(id);
    return settled !== undefined || this.#settledUsers?.has(id) ? settled! : this.userById.load(id);
  }

  replaceUser(user: UserRow): void {
    this.#settled.set(user.id, user);
    this.userById.clear(user.id).prime(user.id, user);
  }

  rememberUser(user: UserRow): void {
    if (this.#settledUsers?.has(user.id)) return;
    this.#settled.set(user.id, user);
    this.userById.prime(user.id, user);
  }

  get incidentById(): Loaders["incidentById"] {
    return (this.#incidentById ??= byIdLoader(this.#pause, (ids) => this.#sources.incidents.findByIds(ids)));
  }

  get logPage(): Loaders["logPage"] {
    return (this.#logPage ??= logPageLoader(this.#pause, this.#sources.incidents, (range, incidentId, columns, rows) =>
      this.#keepLogPage(range, incidentId, columns, rows),
    ));
  }

  // Any page of the same range whose columns include the ones asked for will do: aliases, or `nodes` and
  // `edges { node }`, may read different fields of the same timeline that the page loaded once, for all of them.
  loadedLogPage(key: LogPageKey): IncidentLogRow[] | undefined {
    return this.#loadedLogPages
      ?.get(logRangeKey(key))
      ?.get(key.incidentId)
      ?.find((loaded) => covers(loaded.columns, key.columns))?.rows;
  }

  async preloadLogPages(incidentIds: readonly number[], range: LogRange, columns?: readonly LogColumn[]): Promise<IncidentLogRow[][]> {
    await this.#pause();
    const pages = await this.#sources.incidents.logPages(incidentIds, range.first, range.afterId, columns);
    return incidentIds.map((incidentId) => {
      const page = pages.get(incidentId) ?? [];
      this.#keepLogPage(range, incidentId, columns, page);
      return page;
    });
  }

  #keepLogPage(range: LogRange, incidentId: number, columns: readonly LogColumn[] | undefined, rows: IncidentLogRow[]): void {
    const rangeKey = logRangeKey(range);
    const loaded = (this.#loadedLogPages ??= new Map());
    let parents = loaded.get(rangeKey);
    if (!parents) loaded.set(rangeKey, (parents = new Map()));
    const pages = parents.get(incidentId);
    if (pages) pages.push({ columns, rows });
    else parents.set(incidentId, [{ columns, rows }]);
  }

  get logCount(): Loaders["logCount"] {
    return (this.#logCount ??= countsById(this.#pause, (ids) => this.#sources.incidents.logCounts(ids)));
  }

  get assignedPage(): Loaders["assignedPage"] {
    return (this.#assignedPage ??= assignedPageLoader(this.#pause, this.#sources.incidents));
  }

  get assignedCount(): Loaders["assignedCount"] {
    return (this.#assignedCount ??= countLoader<IncidentStatus, AssignedCountKey>(this.#pause, (key) => key.userId, (ids, statuses) => this.#sources.incidents.assignedCounts(ids, statuses)));
  }

  get serviceById(): Loaders["serviceById"] {
    return (this.#serviceById ??= byIdLoader(this.#pause, (ids) => this.#sources.services.findByIds(ids)));
  }

  get labels(): Loaders["labels"] {
    return (this.#labels ??= groupsById(this.#pause, (ids) => this.#sources.services.labelsOf(ids)));
  }

  get alertById(): Loaders["alertById"] {
    return (this.#alertById ??= byIdLoader(this.#pause, (ids) => this.#sources.alerts.findByIds(ids)));
  }

  get alertPage(): Loaders["alertPage"] {
    return (this.#alertPage ??= alertPageLoader(this.#pause, this.#sources.alerts));
  }

  get alertCount(): Loaders["alertCount"] {
    return (this.#alertCount ??= countLoader<AlertStatus, AlertCountKey>(this.#pause, (key) => key.incidentId, (ids, statuses) => this.#sources.alerts.counts(ids, statuses)));
  }

  get integrationById(): Loaders["integrationById"] {
    return (this.#integrationById ??= byIdLoader(this.#pause, (ids) => this.#sources.alerts.integrationsByIds(ids)));
  }

  get integrationsOfService(): Loaders["integrationsOfService"] {
    return (this.#integrationsOfService ??= groupsById(this.#pause, (ids) => this.#sources.alerts.integrationsOfServices(ids)));
  }

  get template(): Loaders["template"] {
    return (this.#template ??= new DataLoader(
      async (rows) => {
        await this.#pause();
        return templateEvidence(this.#sources.insights, rows);
      },
      { cacheKeyFn: (row) => row.id },
    ));
  }

  get deliveryPage(): Loaders["deliveryPage"] {
    return (this.#deliveryPage ??= deliveryPageLoader(this.#pause, this.#sources.webhooks));
  }

  get deliveryCount(): Loaders["deliveryCount"] {
    return (this.#deliveryCount ??= countLoader<WebhookDeliveryStatus, DeliveryCountKey>(this.#pause, (key) => key.endpointId, (ids, statuses) =>
      this.#sources.webhooks.deliveryCounts(ids, statuses),
    ));
  }
}

/** Users by id; each one loaded is also kept in `settled`, for `user` to answer at once. */
function userByIdLoader(pause: Pause, users: UserRepository, settled: Map<number, UserRow | null>) {
  return new DataLoader<number, UserRow | null>(async (ids) => {
    await pause();
    const rows = await users.findByIds(ids);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => {
      const user = byId.get(id) ?? null;
      settled.set(id, user);
      return user;
    });
  });
}

/** A value per id from one statement's map; `empty` for ids it does not hold. */
function mappedById<V>(pause: Pause, fetch: (ids: readonly number[]) => Promise<Map<number, V>>, empty: () => V) {
  return new DataLoader<number, V>(async (ids) => {
    await pause();
    const values = await fetch(ids);
    return ids.map((id) => values.get(id) ?? empty());
  });
}

const countsById = (pause: Pause, fetch: (ids: readonly number[]) => Promise<Map<number, number>>) => mappedById(pause, fetch, () => 0);
const groupsById = <V>(pause: Pause, fetch: (ids: readonly number[]) => Promise<Map<number, V[]>>) => mappedById<V[]>(pause, fetch, () => []);

type KeepLogPage = (range: LogRange, incidentId: number, columns: readonly LogColumn[] | undefined, rows: IncidentLogRow[]) => void;

function logPageLoader(pause: Pause, incidents: IncidentRepository, keep: KeepLogPage) {
  return new DataLoader<LogPageKey, IncidentLogRow[], string>(
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
          keep(key, key.incidentId, key.columns, page);
          return page;
        };
      }),
    { cacheKeyFn: logPageKey },
  );
}

function assignedPageLoader(pause: Pause, incidents: IncidentRepository) {
  return new DataLoader<AssignedPageKey, IncidentRow[], string>(
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
  );
}

function alertPageLoader(pause: Pause, alerts: AlertRepository) {
  return new DataLoader<AlertPageKey, AlertRow[], string>(
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
  );
}

function deliveryPageLoader(pause: Pause, webhooks: WebhookRepository) {
  return new DataLoader<DeliveryPageKey, WebhookDelivery[], string>(
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
  );
}
