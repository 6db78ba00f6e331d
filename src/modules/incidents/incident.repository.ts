import { and, asc, count, desc, eq, getTableColumns, inArray, lte, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { groupBy } from "../../shared/group-by.js";
import { sqliteRunner } from "../../db/sql-backend.js";
import { sqliteDialect } from "../../db/sql-work.js";
import { incidentUpdateExtras, labelsOfIncident, replaceIncidentLabels, noAlerts, type ResolvedAlerts } from "../alerts/alert-ingest.js";
import { alertStatements } from "../alerts/alert-statements.js";
import type { Label } from "../services/label.rules.js";
import { pickColumns } from "../../db/pick-columns.js";
import type { SqliteHandle } from "../../db/sqlite.js";
import { ConflictError } from "../../shared/errors.js";
import { timelineRow, type IncidentUpdatePlan, type TimelineEntry } from "./incident-update.js";
import type { Priority } from "./incident-priority.js";
import type { IncidentStatus } from "./incident-status.js";
import { incidentLogs, type IncidentLogRow } from "./incident-log.table.js";
import {
  allLogColumns,
  incidentProjection,
  incidentRowReader,
  incidentWithPeopleReader,
  logColumnNames,
  logProjection,
  logRowReader,
  timelinesOf,
  type ValueDecoders,
} from "./incident-rows.js";
import { incidents, type IncidentRow } from "./incident.table.js";
import { defaultStatementCacheBytes, statementCache } from "../../db/statement-cache.js";
import { users, type UserRow } from "../users/user.table.js";
import { renderAllBodies, webhookOutbox, type WebhookOutbox } from "../webhooks/webhook-outbox.js";
import { incidentChangeEvents } from "../webhooks/incident-change-events.js";

export type IncidentSortField = "createdAt" | "updatedAt" | "priorityRank";

export interface IncidentCriteria {
  statuses?: readonly IncidentStatus[];
  priorities?: readonly Priority[];
  assigneeId?: number;
  reporterId?: number;
  /** Lower-case words that must all occur in the title or the description. */
  words?: readonly string[];
  createdAfter?: Date;
  createdBefore?: Date;
  /** Any of these services. */
  serviceIds?: readonly number[];
  /** Every pair must be on the incident. */
  labels?: readonly Label[];
}

export interface IncidentPageQuery {
  criteria: IncidentCriteria;
  sort: { field: IncidentSortField; descending: boolean };
  first: number;
  /** The sort value (epoch ms or priority rank) and id of the last row already seen. */
  after?: { value: number; id: number };
  /**
   * The fields the caller will read; all of them when omitted. A repository may fetch only those (and always
   * `id` and the sort column), leaving the others out of the rows.
   */
  columns?: readonly IncidentColumn[];
}

export interface AssignedPageQuery {
  statuses?: readonly IncidentStatus[];
  first: number;
  after?: { createdAt: number; id: number };
}

export interface NewIncident {
  title: string;
  description: string;
  priority: Priority;
  reporterId: number;
  assigneeId: number | null;
  serviceId: number | null;
  labels: readonly Label[];
}

export type LogColumn = keyof IncidentLogRow;
export type IncidentColumn = keyof IncidentRow;

export interface IncidentUpdateResult {
  incident: IncidentRow;
  entries: IncidentLogRow[];
  /** Firing alerts the change resolved, with the ALERT entry each wrote. */
  alerts: ResolvedAlerts;
}

/** An incident with the users it names. */
export interface IncidentWithPeople {
  incident: IncidentRow;
  /** Its reporter and assignee, those that exist. */
  people: UserRow[];
}

export const withPeople = (row: { incident: IncidentRow; reporter: UserRow | null; assignee: UserRow | null }): IncidentWithPeople => ({
  incident: row.incident,
  people: row.assignee ? (row.reporter ? [row.reporter, row.assignee] : [row.assignee]) : row.reporter ? [row.reporter] : [],
});

export interface IncidentRepository {
  findById(id: number): Promise<IncidentRow | undefined>;
  /** `findById` and the incident's reporter and assignee, in one statement (incident by id usually reads them). */
  findByIdWithPeople(id: number): Promise<IncidentWithPeople | undefined>;
  findByIds(ids: readonly number[]): Promise<IncidentRow[]>;
  /** `first + 1` rows at most, so that the caller can tell whether a next page exists. */
  page(query: IncidentPageQuery): Promise<IncidentRow[]>;
  count(criteria: IncidentCriteria): Promise<number>;
  create(incident: NewIncident): Promise<IncidentRow>;
  /**
   * One transaction: lock and read the row, refuse a stale `expectedVersion`, ask `decide` for the plan,
   * apply it with a version-guarded UPDATE and write its timeline entries. Undefined when the id names nothing.
   */
  update(
    id: number,
    expectedVersion: number | undefined,
    authorId: number,
    decide: (current: IncidentRow, labels: Label[]) => IncidentUpdatePlan,
  ): Promise<IncidentUpdateResult | undefined>;
  addNote(incidentId: number, authorId: number, message: string): Promise<IncidentLogRow | undefined>;
  /** One transaction: the deletion and its webhook event. */
  delete(id: number, actorId: number): Promise<boolean>;
  /** The first `first + 1` entries after `afterId` of each incident, oldest first, in one statement. */
  /**
   * `columns`, when given, are the fields the caller will read; a repository may fetch only those (and always
   * `id` and `incidentId`), leaving the others out of the rows.
   */
  logPages(
    incidentIds: readonly number[],
    first: number,
    afterId: number | undefined,
    columns?: readonly LogColumn[],
  ): Promise<Map<number, IncidentLogRow[]>>;
  logCounts(incidentIds: readonly number[]): Promise<Map<number, number>>;
  /** The first `first + 1` incidents assigned to each user, newest first, in one statement. */
  assignedPages(userIds: readonly number[], query: AssignedPageQuery): Promise<Map<number, IncidentRow[]>>;
  assignedCounts(userIds: readonly number[], statuses: readonly IncidentStatus[] | undefined): Promise<Map<number, number>>;
}

/** `column IN (ids)` with the ids bound as one JSON array, so that one prepared statement serves any batch size. */
const inJsonList = (column: SQL.Aliased | AnyColumn, name: string) => sql`${column} in (select value from json_each(${sql.placeholder(name)}))`;

interface BoundCriteria {
  /** Which conditions are present: statements are prepared once per shape and reused. */
  shape: string;
  params: Record<string, unknown>;
  /** The WHERE clause with placeholders; built only when a shape is prepared for the first time. */
  where(): SQL | undefined;
}

type Condition = () => SQL;

function bindCriteria(criteria: IncidentCriteria): BoundCriteria {
  const conditions: Condition[] = [];
  const params: Record<string, unknown> = {};
  let shape = "";
  const add = (flag: string, condition: Condition, name: string, value: unknown) => {
    shape += flag;
    conditions.push(condition);
    params[name] = value;
  };
  if (criteria.statuses) add("s", () => inJsonList(incidents.status, "statuses"), "statuses", JSON.stringify(criteria.statuses));
  if (criteria.priorities) {
    add("p", () => inJsonList(incidents.priority, "priorities"), "priorities", JSON.stringify(criteria.priorities));
  }
  if (criteria.assigneeId !== undefined) {
    add("a", () => eq(incidents.assigneeId, sql.placeholder("assigneeId")), "assigneeId", criteria.assigneeId);
  }
  if (criteria.reporterId !== undefined) {
    add("r", () => eq(incidents.reporterId, sql.placeholder("reporterId")), "reporterId", criteria.reporterId);
  }
  // Times are bound as epoch milliseconds, the stored form (placeholders bypass the column's encoder).
  if (criteria.createdAfter) {
    add(">", () => sql`${incidents.createdAt} > ${sql.placeholder("createdAfter")}`, "createdAfter", criteria.createdAfter.getTime());
  }
  if (criteria.createdBefore) {
    add("<", () => sql`${incidents.createdAt} < ${sql.placeholder("createdBefore")}`, "createdBefore", criteria.createdBefore.getTime());
  }
  if (criteria.serviceIds) {
    add("v", () => inJsonList(incidents.serviceId, "serviceIds"), "serviceIds", JSON.stringify(criteria.serviceIds));
  }
  // Each pair is a range of incident_labels_pair_idx.
  (criteria.labels ?? []).forEach((label, index) => {
    const [key, value] = [sql.placeholder(`labelKey${index}`), sql.placeholder(`labelValue${index}`)];
    shape += "l";
    conditions.push(() => sql`${incidents.id} in (select incident_id from incident_labels where key = ${key} and value = ${value})`);
    params[`labelKey${index}`] = label.key;
    params[`labelValue${index}`] = label.value;
  });
  if (criteria.words?.length) {
    const matches = () => sql`has_every_word(${incidents.title}, ${incidents.description}, ${sql.placeholder("words")}) = 1`;
    add("w", matches, "words", JSON.stringify(criteria.words));
  }
  return { shape, params, where: () => and(...conditions.map((condition) => condition())) };
}

/** better-sqlite3 hands ids over as numbers and timestamps as the stored epoch milliseconds. */
const sqliteValues: ValueDecoders = {
  id: (value) => value as number,
  time: (value) => new Date(value as number),
  bool: (value) => value === 1,
};

export function createSqliteIncidentRepository(
  handle: SqliteHandle,
  statementCacheBytes = defaultStatementCacheBytes,
  outbox: WebhookOutbox = webhookOutbox(sqliteDialect),
): IncidentRepository {
  const { db } = handle;
  const shared = alertStatements(sqliteDialect);
  const runShared = sqliteRunner(handle);
  const byId = db.select().from(incidents).where(eq(incidents.id, sql.placeholder("id"))).prepare();
  const byIds = db.select().from(incidents).where(inJsonList(incidents.id, "ids")).prepare();
  const reporters = alias(users, "reporter");
  const assignees = alias(users, "assignee");
  const byIdWithPeople = db
    .select({ incident: incidents, reporter: reporters, assignee: assignees })
    .from(incidents)
    .leftJoin(reporters, eq(reporters.id, incidents.reporterId))
    .leftJoin(assignees, eq(assignees.id, incidents.assigneeId))
    .where(eq(incidents.id, sql.placeholder("id")))
    .prepare();
  const readWithPeople = incidentWithPeopleReader(sqliteValues);
  const preparePage = (
    field: IncidentSortField,
    descending: boolean,
    withAfter: boolean,
    where: SQL | undefined,
    columns: readonly IncidentColumn[],
  ) => {
    const column = incidents[field];
    const direction = descending ? desc : asc;
    const [afterValue, afterId] = [sql.placeholder("afterValue"), sql.placeholder("afterId")];
    const keyset = descending
      ? sql`(${column}, ${incidents.id}) < (${afterValue}, ${afterId})`
      : sql`(${column}, ${incidents.id}) > (${afterValue}, ${afterId})`;
    return db
      .select(pickColumns(incidents, columns))
      .from(incidents)
      .where(and(where, withAfter ? keyset : undefined))
      .orderBy(direction(column), direction(incidents.id))
      .limit(sql.placeholder("limit"))
      .prepare();
  };
  const prepareCount = (where: SQL | undefined) => db.select({ n: count() }).from(incidents).where(where).prepare();
  // Rows come back as arrays (drizzle's `values`) and are read by hand: see incidentRowReader.
  const pageStatement = statementCache<{ statement: ReturnType<typeof preparePage>; read: (raw: unknown[]) => IncidentRow }>(statementCacheBytes);
  const countStatement = statementCache<ReturnType<typeof prepareCount>>(statementCacheBytes);

  // The hot nested read: the timelines of a whole page of incidents in one statement. Each parent's entries are
  // a LIMITed range scan of incident_logs_incident_idx (a correlated subquery), so the cost follows `first`,
  // not the length of the timelines, as a row_number() window over every entry would (6x slower at 200 each).
  // Only the columns the query reads are fetched, as arrays, and mapped by hand: building row objects was
  // most of the statement's cost. One statement per column set, prepared on first use.
  const logPageStatements = statementCache<ReturnType<typeof prepareLogPage>>(statementCacheBytes);
  const prepareLogPage = (columns: readonly LogColumn[]) => ({
    statement: handle.client
      .prepare<[string, number, number], unknown[]>(
        `SELECT ${columns.map((column) => `l.${logColumnNames[column]}`).join(", ")}
         FROM json_each(?) AS parent
         JOIN incident_logs AS l ON l.id IN (
           SELECT id FROM incident_logs WHERE incident_id = parent.value AND id > ? ORDER BY id LIMIT ?)`,
      )
      .raw(true),
    read: logRowReader(columns, sqliteValues),
  });
  const logCounts = db
    .select({ incidentId: incidentLogs.incidentId, n: count() })
    .from(incidentLogs)
    .where(inJsonList(incidentLogs.incidentId, "ids"))
    .groupBy(incidentLogs.incidentId)
    .prepare();
  const insertLog = db
    .insert(incidentLogs)
    .values({
      incidentId: sql.placeholder("incidentId"),
      kind: sql.placeholder("kind"),
      message: sql.placeholder("message"),
      authorId: sql.placeholder("authorId"),
      fromStatus: sql.placeholder("fromStatus"),
      toStatus: sql.placeholder("toStatus"),
      createdAt: sql.placeholder("createdAt"),
    })
    .returning()
    .prepare();

  const writeEntry = (incidentId: number, authorId: number, entry: TimelineEntry, at: Date) =>
    insertLog.get(timelineRow(incidentId, authorId, entry, at));

  return {
    async findById(id) {
      return byId.get({ id });
    },

    async findByIdWithPeople(id) {
      const [row] = byIdWithPeople.values({ id }) as unknown[][];
      return row && withPeople(readWithPeople(row));
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      return byIds.all({ ids: JSON.stringify(ids) });
    },

    async page({ criteria, sort, first, after, columns }) {
      const bound = bindCriteria(criteria);
      const wanted = incidentProjection(columns, sort.field);
      const shape = `${sort.field}:${sort.descending}:${after ? 1 : 0}:${bound.shape}:${wanted.join(",")}`;
      const { statement, read } = pageStatement(shape, () => ({
        statement: preparePage(sort.field, sort.descending, after !== undefined, bound.where(), wanted),
        read: incidentRowReader(wanted, sqliteValues),
      }));
      const params = { ...bound.params, afterValue: after?.value, afterId: after?.id, limit: first + 1 };
      return (statement.values(params) as unknown[][]).map(read);
    },

    async count(criteria) {
      const bound = bindCriteria(criteria);
      const statement = countStatement(bound.shape, () => prepareCount(bound.where()));
      return statement.get(bound.params)?.n ?? 0;
    },

    async create({ labels, ...incident }) {
      const now = new Date();
      return handle.writeTransaction(() => {
        const row = db
          .insert(incidents)
          .values({ ...incident, status: "OPEN", version: 1, createdAt: now, updatedAt: now })
          .returning()
          .get();
        if (labels.length > 0) runShared(replaceIncidentLabels(shared, row.id, labels));
        runShared(outbox.record({ type: "INCIDENT_CREATED", incidentId: row.id, serviceId: row.serviceId, actorId: row.reporterId, at: now, incident: { row, labels } }));
        return row;
      });
    },

    async update(id, expectedVersion, authorId, decide) {
      return handle.writeTransaction(() => {
        const current = byId.get({ id });
        if (!current) return undefined;
        if (expectedVersion !== undefined && expectedVersion !== current.version) {
          throw new ConflictError(`Incident was changed meanwhile: expected version ${expectedVersion}, current is ${current.version}`);
        }
        const labels = runShared(labelsOfIncident(shared, id));
        const plan = decide(current, labels);
        if (plan.entries.length === 0) return { incident: current, entries: [], alerts: noAlerts() };
        const updated = db
          .update(incidents)
          .set({ ...plan.changes, version: sql`${incidents.version} + 1` })
          .where(and(eq(incidents.id, id), eq(incidents.version, current.version)))
          .returning()
          .get();
        if (!updated) throw new ConflictError("Incident was changed meanwhile");
        const at = updated.updatedAt;
        const entries = plan.entries.map((entry) => writeEntry(id, authorId, entry, at)!);
        const alerts = runShared(incidentUpdateExtras(shared, sqliteDialect, id, plan, at));
        runShared(incidentChangeEvents(outbox, { incident: updated, labels: plan.labels ?? labels, actorId: authorId, at, alerts }));
        return { incident: updated, entries, alerts };
      });
    },

    async addNote(incidentId, authorId, message) {
      return handle.writeTransaction(() => {
        const incident = byId.get({ id: incidentId });
        if (!incident) return undefined;
        const at = new Date();
        const log = writeEntry(incidentId, authorId, { kind: "NOTE", message }, at)!;
        const snapshot = { row: incident, labels: runShared(labelsOfIncident(shared, incidentId)) };
        runShared(outbox.record({ type: "INCIDENT_LOG_ADDED", incidentId, serviceId: incident.serviceId, actorId: authorId, at, log, incident: snapshot }));
        return log;
      });
    },

    async delete(id, actorId) {
      return handle.writeTransaction(() => {
        const labels = runShared(labelsOfIncident(shared, id));
        runShared(renderAllBodies(outbox));
        const row = db.delete(incidents).where(eq(incidents.id, id)).returning().get();
        if (!row) return false;
        const event = { type: "INCIDENT_DELETED", incidentId: id, serviceId: row.serviceId, actorId, at: new Date(), incident: { row, labels } } as const;
        runShared(outbox.record(event));
        return true;
      });
    },

    async logPages(incidentIds, first, afterId, columns = allLogColumns) {
      if (incidentIds.length === 0) return new Map();
      const wanted = logProjection(columns);
      const { statement, read } = logPageStatements(wanted.join(","), () => prepareLogPage(wanted));
      return timelinesOf(statement.all(JSON.stringify(incidentIds), afterId ?? 0, first + 1).map(read));
    },

    async logCounts(incidentIds) {
      if (incidentIds.length === 0) return new Map();
      const rows = logCounts.all({ ids: JSON.stringify(incidentIds) });
      return new Map(rows.map((row) => [row.incidentId, row.n]));
    },

    async assignedPages(userIds, { statuses, first, after }) {
      if (userIds.length === 0) return new Map();
      const ranked = db
        .select({
          ...getTableColumns(incidents),
          rank: sql<number>`row_number() over (partition by ${incidents.assigneeId} order by ${incidents.createdAt} desc, ${incidents.id} desc)`.as(
            "rank",
          ),
        })
        .from(incidents)
        .where(
          and(
            inArray(incidents.assigneeId, [...userIds]),
            statuses ? inArray(incidents.status, [...statuses]) : undefined,
            after ? sql`(${incidents.createdAt}, ${incidents.id}) < (${after.createdAt}, ${after.id})` : undefined,
          ),
        )
        .as("ranked");
      const rows = db
        .select()
        .from(ranked)
        .where(lte(ranked.rank, first + 1))
        .orderBy(asc(ranked.assigneeId), asc(ranked.rank))
        .all();
      return groupBy(rows as IncidentRow[], (row) => row.assigneeId!);
    },

    async assignedCounts(userIds, statuses) {
      if (userIds.length === 0) return new Map();
      const rows = db
        .select({ userId: incidents.assigneeId, n: count() })
        .from(incidents)
        .where(and(inArray(incidents.assigneeId, [...userIds]), statuses ? inArray(incidents.status, [...statuses]) : undefined))
        .groupBy(incidents.assigneeId)
        .all();
      return new Map(rows.map((row) => [row.userId!, row.n]));
    },
  };
}
