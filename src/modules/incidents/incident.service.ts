import { assertCan, Permission } from "../../auth/policy.js";
import type { CursorCodec } from "../../shared/cursor.js";
import { BadUserInputError, NotFoundError } from "../../shared/errors.js";
import { parseId } from "../../shared/ids.js";
import type { Loaders } from "../../shared/loaders.js";
import { checkFirst, toConnection, type Connection } from "../../shared/pagination.js";
import { checkLabels } from "../services/label.rules.js";
import type { ServiceRow } from "../services/service.table.js";
import { Role } from "../users/user-role.js";
import type { UserRow } from "../users/user.table.js";
import type { IncidentLogRow } from "./incident-log.table.js";
import { planIncidentUpdate, type IncidentPatch } from "./incident-update.js";
import type { IncidentColumn, IncidentCriteria, IncidentRepository, IncidentSortField, IncidentWithPeople, LogColumn } from "./incident.repository.js";
import { checkDescription, normalizeNote, normalizeTitle, searchWords } from "./incident.rules.js";
import type { IncidentStatus } from "./incident-status.js";
import type { IncidentRow } from "./incident.table.js";
import type {
  CreateIncidentInput,
  IncidentFilterInput,
  IncidentOrderInput,
  UpdateIncidentInput,
} from "./incident.inputs.js";

const sortColumns: Record<IncidentOrderInput["field"], IncidentSortField> = {
  CREATED_AT: "createdAt",
  UPDATED_AT: "updatedAt",
  PRIORITY: "priorityRank",
};

const sortValue = (row: IncidentRow, field: IncidentSortField) =>
  field === "priorityRank" ? row.priorityRank : row[field].getTime();

/** The events a successful write produces, for whoever listens (subscriptions). */
export interface IncidentEvents {
  /**
   * Every event `run` publishes, sent together once it returns: subscribers count one change that emits many events
   * (a resolution resolving thousands of alerts) as one publication, not as a consumer falling behind.
   */
  batch(run: () => void): void;
  created(incident: IncidentRow, actor: UserRow): void;
  /** An alert changed on the incident (`actor` null: by the system). */
  alert(incidentId: number, alertId: number, logId: number | null, actor: UserRow | null): void;
  updated(incident: IncidentRow, actor: UserRow): void;
  logAdded(log: IncidentLogRow, actor: UserRow): void;
  deleted(incidentId: number, actor: UserRow): void;
}

/** Which timeline page each row of a page will read, and what of it. */
export interface TimelineReads {
  first: number | null;
  after: string | null;
  columns?: readonly LogColumn[];
  /** Whether the entries' authors are read. */
  authors: boolean;
}

/**
 * What the caller will read of each incident on a page. With it, a page loads its rows' timelines and users
 * together, in one statement each, before any row is resolved: no per-row load calls, no per-row promises.
 */
export interface IncidentPageReads {
  columns?: readonly IncidentColumn[];
  reporters?: boolean;
  assignees?: boolean;
  logs?: TimelineReads;
}

export interface IncidentServiceDeps {
  incidents: IncidentRepository;
  cursors: CursorCodec;
  events?: IncidentEvents;
}

export class IncidentService {
  constructor(private readonly deps: IncidentServiceDeps) {}

  async get(actor: UserRow, rawId: string): Promise<IncidentRow | null> {
    assertCan(actor, Permission.READ);
    const id = parseId(rawId);
    return (id !== undefined && (await this.deps.incidents.findById(id))) || null;
  }

  /** `get`, with the incident's reporter and assignee read in the same statement. */
  async getWithPeople(actor: UserRow, rawId: string): Promise<IncidentWithPeople | null> {
    assertCan(actor, Permission.READ);
    const id = parseId(rawId);
    return (id !== undefined && (await this.deps.incidents.findByIdWithPeople(id))) || null;
  }

  async page(
    actor: UserRow,
    args: { filter?: IncidentFilterInput | null; orderBy?: IncidentOrderInput | null; first?: number | null; after?: string | null },
    loaders: Loaders,
    reads: IncidentPageReads = {},
  ): Promise<Connection<IncidentRow>> {
    assertCan(actor, Permission.READ);
    const first = checkFirst(args.first, 20);
    const field = sortColumns[args.orderBy?.field ?? "CREATED_AT"];
    const descending = (args.orderBy?.direction ?? "DESC") === "DESC";
    const scope = `incidents:${field}:${descending ? "desc" : "asc"}`;
    const after = args.after == null ? undefined : this.decodeKey(scope, args.after);
    const criteria = this.criteria(args.filter);
    if (criteria === "nothing") return toConnection([], first, after !== undefined, () => "", () => 0);
    const rows = await this.deps.incidents.page({ criteria, sort: { field, descending }, first, after, columns: reads.columns });
    const page = toConnection(
      rows,
      first,
      after !== undefined,
      (row) => this.deps.cursors.encode(scope, [sortValue(row, field), row.id]),
      () => this.deps.incidents.count(criteria),
    );
    await this.preload(page.nodes, reads, loaders);
    return page;
  }

  /** The timelines, then the users (reporters, assignees, authors) of a whole page: one statement each. */
  private async preload(rows: readonly IncidentRow[], reads: IncidentPageReads, loaders: Loaders): Promise<void> {
    const userIds = new Set<number>();
    for (const row of rows) {
      if (reads.reporters && row.reporterId !== null) userIds.add(row.reporterId);
      if (reads.assignees && row.assigneeId !== null) userIds.add(row.assigneeId);
    }
    const range = reads.logs && rows.length > 0 ? this.logRange(reads.logs) : undefined;
    if (range) {
      const pages = await loaders.preloadLogPages(
        rows.map((row) => row.id),
        range,
        reads.logs!.columns,
      ).catch(() => []); // a failure is reported by the rows' own timeline fields, which load them again
      if (reads.logs!.authors) {
        for (const page of pages) for (const entry of page) if (entry.authorId !== null) userIds.add(entry.authorId);
      }
    }
    if (userIds.size > 0) await loaders.userById.loadMany([...userIds]);
  }

  /** The range a timeline selection asks for; undefined when its arguments are bad (the field reports that). */
  private logRange(reads: TimelineReads): { first: number; afterId: number | undefined } | undefined {
    try {
      return this.logPageRange(reads);
    } catch {
      return undefined;
    }
  }

  private logPageRange(args: { first?: number | null; after?: string | null }) {
    const first = checkFirst(args.first, 50);
    const afterId = args.after == null ? undefined : this.decodeKey("logs", args.after).id;
    return { first, afterId };
  }

  /** Synchronous when the page of incidents this one belongs to loaded its timeline already. */
  logs(
    incident: IncidentRow,
    args: { first?: number | null; after?: string | null },
    loaders: Loaders,
    columns?: readonly LogColumn[],
  ): Connection<IncidentLogRow> | Promise<Connection<IncidentLogRow>> {
    let range: { first: number; afterId: number | undefined };
    try {
      range = this.logPageRange(args);
    } catch (error) {
      // Rejected, not thrown: graphql-js abandons the pending siblings of a field that throws synchronously
      // inside a list, and their own rejections would then go unhandled.
      return Promise.reject(error);
    }
    const { first, afterId } = range;
    const key = { incidentId: incident.id, first, afterId, columns };
    const connect = (rows: IncidentLogRow[]) =>
      toConnection(
        rows,
        first,
        afterId !== undefined,
        (row) => this.deps.cursors.encode("logs", [row.id, row.id]),
        () => loaders.logCount.load(incident.id),
      );
    const loaded = loaders.loadedLogPage(key);
    return loaded ? connect(loaded) : loaders.logPage.load(key).then(connect);
  }

  async assignedTo(
    user: UserRow,
    args: { first?: number | null; after?: string | null; status?: IncidentStatus[] | null },
    loaders: Loaders,
  ): Promise<Connection<IncidentRow>> {
    const first = checkFirst(args.first, 20);
    const key = args.after == null ? undefined : this.decodeKey("assigned", args.after);
    const after = key && { createdAt: key.value, id: key.id };
    const statuses = args.status ?? undefined;
    const rows = await loaders.assignedPage.load({ userId: user.id, first, statuses, after });
    return toConnection(
      rows,
      first,
      after !== undefined,
      (row) => this.deps.cursors.encode("assigned", [row.createdAt.getTime(), row.id]),
      () => loaders.assignedCount.load({ userId: user.id, statuses }),
    );
  }

  async create(actor: UserRow, input: CreateIncidentInput, loaders: Loaders): Promise<IncidentRow> {
    assertCan(actor, Permission.WRITE_INCIDENTS);
    const title = normalizeTitle(input.title);
    for (const field of ["description", "priority"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    const description = checkDescription(input.description ?? "");
    const assignee = input.assigneeId == null ? null : await this.assignee(input.assigneeId, loaders);
    const service = input.serviceId == null ? null : await this.service(input.serviceId, loaders);
    const incident = await this.deps.incidents.create({
      title,
      description,
      priority: input.priority ?? "MEDIUM",
      reporterId: actor.id,
      assigneeId: assignee?.id ?? null,
      serviceId: service?.id ?? null,
      labels: checkLabels(input.labels ?? []),
    });
    this.deps.events?.created(incident, actor);
    return incident;
  }

  async update(actor: UserRow, rawId: string, input: UpdateIncidentInput, loaders: Loaders): Promise<IncidentRow> {
    assertCan(actor, Permission.WRITE_INCIDENTS);
    const id = parseId(rawId);
    const patch = await this.patch(input, loaders);
    if (id === undefined) throw new NotFoundError("Incident", "id");
    const expectedVersion = input.expectedVersion ?? undefined;
    const now = new Date();
    const result = await this.deps.incidents.update(id, expectedVersion, actor.id, (current, labels) =>
      planIncidentUpdate(current, patch, now, labels),
    );
    if (!result) throw new NotFoundError("Incident", "id");
    const events = this.deps.events;
    events?.batch(() => {
      if (result.entries.length > 0) events.updated(result.incident, actor);
      const { alertIds, logIds } = result.alerts;
      for (let i = 0; i < alertIds.length; i++) events.alert(id, alertIds[i]!, logIds[i]!, actor);
    });
    return result.incident;
  }

  async addNote(actor: UserRow, rawIncidentId: string, rawMessage: string): Promise<IncidentLogRow> {
    assertCan(actor, Permission.WRITE_INCIDENTS);
    const message = normalizeNote(rawMessage);
    const incidentId = parseId(rawIncidentId);
    const log = incidentId === undefined ? undefined : await this.deps.incidents.addNote(incidentId, actor.id, message);
    if (!log) throw new NotFoundError("Incident", "incidentId");
    this.deps.events?.logAdded(log, actor);
    return log;
  }

  async delete(actor: UserRow, rawId: string): Promise<string> {
    assertCan(actor, Permission.DELETE_INCIDENTS);
    const id = parseId(rawId);
    if (id === undefined || !(await this.deps.incidents.delete(id, actor.id))) throw new NotFoundError("Incident", "id");
    this.deps.events?.deleted(id, actor);
    return String(id);
  }

  /** Validates the three cases of each field: absent (unchanged), explicit null, a value. */
  private async patch(input: UpdateIncidentInput, loaders: Loaders): Promise<IncidentPatch> {
    for (const field of ["title", "description", "status", "priority", "labels"] as const) {
      if (input[field] === null) throw new BadUserInputError(`${field} cannot be null`, field);
    }
    if (input.expectedVersion === null) throw new BadUserInputError("expectedVersion cannot be null", "expectedVersion");
    const patch: IncidentPatch = {};
    if (input.title != null) patch.title = normalizeTitle(input.title);
    if (input.description != null) patch.description = checkDescription(input.description);
    if (input.status != null) patch.status = input.status;
    if (input.priority != null) patch.priority = input.priority;
    if (input.assigneeId !== undefined) {
      patch.assignee = input.assigneeId === null ? null : await this.assignee(input.assigneeId, loaders);
    }
    if (input.serviceId !== undefined) {
      patch.service = input.serviceId === null ? null : await this.service(input.serviceId, loaders);
    }
    if (input.labels != null) patch.labels = checkLabels(input.labels);
    if (Object.keys(patch).length === 0) throw new BadUserInputError("No fields provided for update");
    return patch;
  }

  private async service(rawId: string, loaders: Loaders): Promise<ServiceRow> {
    const id = parseId(rawId);
    const service = id === undefined ? null : await loaders.serviceById.load(id);
    if (!service) throw new NotFoundError("Service", "serviceId");
    return service;
  }

  private async assignee(rawId: string, loaders: Loaders): Promise<UserRow> {
    const id = parseId(rawId);
    const user = id === undefined ? null : await loaders.userById.load(id);
    if (!user) throw new NotFoundError("Assignee", "assigneeId");
    if (!user.active || (user.role !== Role.RESPONDER && user.role !== Role.ADMIN)) {
      throw new BadUserInputError("The assignee must be an active RESPONDER or ADMIN", "assigneeId");
    }
    return user;
  }

  /** IncidentFilter as repository criteria; "nothing" when no incident can match. */
  criteria(filter: IncidentFilterInput | null | undefined): IncidentCriteria | "nothing" {
    if (!filter) return {};
    const criteria: IncidentCriteria = {};
    if (filter.status != null) criteria.statuses = filter.status;
    if (filter.priority != null) criteria.priorities = filter.priority;
    if (filter.createdAfter != null) criteria.createdAfter = filter.createdAfter;
    if (filter.createdBefore != null) criteria.createdBefore = filter.createdBefore;
    if (filter.search != null) {
      const words = searchWords(filter.search);
      if (words.length > 0) criteria.words = words;
    }
    for (const [field, key] of [
      ["assigneeId", "assigneeId"],
      ["reporterId", "reporterId"],
    ] as const) {
      const raw = filter[field];
      if (raw == null) continue;
      const id = parseId(raw);
      if (id === undefined) return "nothing";
      criteria[key] = id;
    }
    if (filter.serviceId != null) {
      const ids = filter.serviceId.map(parseId).filter((id): id is number => id !== undefined);
      if (ids.length === 0) return "nothing";
      criteria.serviceIds = ids;
    }
    if (filter.labels != null && filter.labels.length > 0) {
      if (filter.labels.length > 20) throw new BadUserInputError("At most 20 label filters", "labels");
      criteria.labels = filter.labels.map(({ key, value }) => ({ key, value }));
    }
    if (criteria.statuses?.length === 0 || criteria.priorities?.length === 0) return "nothing";
    return criteria;
  }

  private decodeKey(scope: string, cursor: string): { value: number; id: number } {
    const [value, id] = this.deps.cursors.decode(scope, cursor);
    if (typeof value !== "number" || typeof id !== "number") throw new BadUserInputError("Invalid cursor", "after");
    return { value, id };
  }
}
