import { groupBy } from "../../shared/group-by.js";
import { and, asc, count, desc, eq, getTableColumns, lte, sql, type AnyColumn, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { PostgresHandle } from "../../db/postgres.js";
import { rerunWhenUndone } from "../../db/pg-errors.js";
import { integerBound, matchesNoText, timestampBound } from "../../db/pg-values.js";
import { pickColumns } from "../../db/pick-columns.js";
import { serialByKey } from "../../db/serial-by-key.js";
import { runOnPgTx } from "../../db/sql-backend.js";
import { postgresDialect } from "../../db/sql-work.js";
import { ConflictError } from "../../shared/errors.js";
import { incidentUpdateExtras, labelsOfIncident, noAlerts, replaceIncidentLabels } from "../alerts/alert-ingest.js";
import { alertStatements } from "../alerts/alert-statements.js";
import { timelineRow } from "./incident-update.js";
import { incidentLogs } from "./incident-log.pg-table.js";
import { incidents } from "./incident.pg-table.js";
import { users } from "../users/user.pg-table.js";
import { withPeople, type IncidentColumn, type IncidentCriteria, type IncidentRepository, type IncidentSortField, type LogColumn } from "./incident.repository.js";
import type { IncidentLogRow } from "./incident-log.table.js";
import { allLogColumns, incidentProjection, incidentWithPeopleReader, logColumnNames, logProjection, logRowReader, timelinesOf, type ValueDecoders } from "./incident-rows.js";
import { defaultStatementCacheBytes, statementCache } from "../../db/statement-cache.js";
import { renderAllBodies, webhookOutbox, type WebhookOutbox } from "../webhooks/webhook-outbox.js";
import { incidentChangeEvents } from "../webhooks/incident-change-events.js";

/** node-postgres hands bigint ids over as decimal strings (every id the API stores is a safe integer) and timestamptz as Dates. */
const pgValues: ValueDecoders = {
  id: (value) => Number(value),
  time: (value) => value as Date,
  bool: (value) => value === true,
};

// The PostgreSQL twin of incident.repository.ts, with the same semantics: keyset pages, one statement per batch of
// timelines (a LATERAL LIMIT per parent) or of assigned pages (a window function), ids bound as one array parameter
// (`= any($1)`), and a version-guarded UPDATE in a transaction that first locks the row with SELECT ... FOR NO KEY
// UPDATE.

interface BoundCriteria {
  /** Which conditions are present: statements are prepared once per shape and reused. */
  shape: string;
  params: Record<string, unknown>;
  /** The WHERE clause with placeholders; built only when a shape is prepared for the first time. */
  where(): SQL | undefined;
}

/** Case-insensitive in every script: ICU's root-locale lower() where the server has ICU, the database's ctype otherwise. */
const folded = (column: AnyColumn, icu: boolean) => (icu ? sql`lower(${column} collate "und-x-icu")` : sql`lower(${column})`);

/** "nothing" when no row can match (a search word no text can contain). */
function bindCriteria(criteria: IncidentCriteria, icu: boolean): BoundCriteria | "nothing" {
  if (criteria.words?.some(matchesNoText)) return "nothing";
  const conditions: Array<() => SQL> = [];
  const params: Record<string, unknown> = {};
  let shape = "";
  const add = (flag: string, condition: () => SQL, name: string, value: unknown) => {
    shape += flag;
    conditions.push(condition);
    params[name] = value;
  };
  if (criteria.statuses) add("s", () => sql`${incidents.status} = any(${sql.placeholder("statuses")})`, "statuses", [...criteria.statuses]);
  if (criteria.priorities) add("p", () => sql`${incidents.priority} = any(${sql.placeholder("priorities")})`, "priorities", [...criteria.priorities]);
  if (criteria.assigneeId !== undefined) add("a", () => eq(incidents.assigneeId, sql.placeholder("assigneeId")), "assigneeId", criteria.assigneeId);
  if (criteria.reporterId !== undefined) add("r", () => eq(incidents.reporterId, sql.placeholder("reporterId")), "reporterId", criteria.reporterId);
  // Placeholders bypass the column's encoder: times are bound as ISO-8601 text and cast.
  if (criteria.createdAfter) {
    const after = timestampBound(criteria.createdAfter.getTime());
    add(">", () => sql`${incidents.createdAt} > ${sql.placeholder("createdAfter")}::timestamptz`, "createdAfter", after);
  }
  if (criteria.createdBefore) {
    const before = timestampBound(criteria.createdBefore.getTime());
    add("<", () => sql`${incidents.createdAt} < ${sql.placeholder("createdBefore")}::timestamptz`, "createdBefore", before);
  }
  if (criteria.serviceIds) {
    add("v", () => sql`${incidents.serviceId} = any(${sql.placeholder("serviceIds")})`, "serviceIds", [...criteria.serviceIds]);
  }
  // Each pair is a range of incident_labels_pair_idx.
  (criteria.labels ?? []).forEach((label, index) => {
    const [key, value] = [sql.placeholder(`labelKey${index}`), sql.placeholder(`labelValue${index}`)];
    shape += "l";
    conditions.push(() => sql`${incidents.id} in (select incident_id from incident_labels where key = ${key}::text and value = ${value}::text)`);
    params[`labelKey${index}`] = label.key;
    params[`labelValue${index}`] = label.value;
  });
  (criteria.words ?? []).forEach((word, index) => {
    const matches = () => {
      const name = sql.placeholder(`word${index}`);
      return sql`(strpos(${folded(incidents.title, icu)}, ${name}::text) > 0 or strpos(${folded(incidents.description, icu)}, ${name}::text) > 0)`;
    };
    add("w", matches, `word${index}`, word);
  });
  return { shape, params, where: () => and(...conditions.map((condition) => condition())) };
}

export function createPgIncidentRepository(
  handle: PostgresHandle,
  statementCacheBytes = defaultStatementCacheBytes,
  outbox: WebhookOutbox = webhookOutbox(postgresDialect),
): IncidentRepository {
  const { db, icu } = handle;
  const shared = alertStatements(postgresDialect);
  const byId = db.select().from(incidents).where(eq(incidents.id, sql.placeholder("id"))).prepare("incidents_by_id");
  const reporters = alias(users, "reporter");
  const assignees = alias(users, "assignee");
  // Run by node-postgres itself, rows as arrays, read by hand (incident-rows.ts); drizzle writes the SQL.
  const byIdWithPeople = {
    name: "incidents_by_id_with_people",
    text: db
      .select({ incident: incidents, reporter: reporters, assignee: assignees })
      .from(incidents)
      .leftJoin(reporters, eq(reporters.id, incidents.reporterId))
      .leftJoin(assignees, eq(assignees.id, incidents.assigneeId))
      .where(eq(incidents.id, sql.placeholder("id")))
      .toSQL().sql,
    read: incidentWithPeopleReader(pgValues),
  };
  const byIds = db
    .select()
    .from(incidents)
    .where(sql`${incidents.id} = any(${sql.placeholder("ids")})`)
    .prepare("incidents_by_ids");

  const preparePage = (
    name: string,
    field: IncidentSortField,
    descending: boolean,
    withAfter: boolean,
    where: SQL | undefined,
    columns: readonly IncidentColumn[],
  ) => {
    const column = incidents[field];
    const direction = descending ? desc : asc;
    const afterValue = field === "priorityRank" ? sql`${sql.placeholder("afterValue")}::int` : sql`${sql.placeholder("afterValue")}::timestamptz`;
    const afterId = sql`${sql.placeholder("afterId")}::bigint`;
    const keyset = descending
      ? sql`(${column}, ${incidents.id}) < (${afterValue}, ${afterId})`
      : sql`(${column}, ${incidents.id}) > (${afterValue}, ${afterId})`;
    return db
      .select(pickColumns(incidents, columns))
      .from(incidents)
      .where(and(where, withAfter ? keyset : undefined))
      .orderBy(direction(column), direction(incidents.id))
      .limit(sql.placeholder("limit"))
      .prepare(name);
  };
  const prepareCount = (name: string, where: SQL | undefined) => db.select({ n: count() }).from(incidents).where(where).prepare(name);
  const pageStatement = statementCache<ReturnType<typeof preparePage>>(statementCacheBytes);
  const countStatement = statementCache<ReturnType<typeof prepareCount>>(statementCacheBytes);

  // The hot nested read: the timelines of a whole page of incidents in one statement, each parent's entries a
  // LIMITed range of incident_logs_incident_idx (a LATERAL subquery), so the cost follows `first`, not the length of
  // the timelines. Only the selected columns are fetched, as arrays, and read by hand (see incident-rows.ts):
  // drizzle's mapping of these rows was the largest cost of the read. One named statement per column set.
  const logPageQueries = statementCache<{ name: string; text: string; read: (raw: unknown[]) => IncidentLogRow }>(statementCacheBytes);
  const logPageQuery = (columns: readonly LogColumn[]) =>
    logPageQueries(`logs:${columns.join(",")}`, (name) => {
      const names = columns.map((column) => logColumnNames[column]);
      return {
        name,
        text: `SELECT ${names.map((column) => `l.${column}`).join(", ")}
               FROM unnest($1::bigint[]) AS parent(id)
               CROSS JOIN LATERAL (
                 SELECT ${names.join(", ")} FROM incident_logs
                 WHERE incident_id = parent.id AND id > $2 ORDER BY id LIMIT $3) AS l`,
        read: logRowReader(columns, pgValues),
      };
    });
  const logCounts = db
    .select({ incidentId: incidentLogs.incidentId, n: count() })
    .from(incidentLogs)
    .where(sql`${incidentLogs.incidentId} = any(${sql.placeholder("ids")})`)
    .groupBy(incidentLogs.incidentId)
    .prepare("incident_log_counts");

  const prepareAssigned = (name: string, withStatuses: boolean, withAfter: boolean) => {
    const ranked = db
      .select({
        ...getTableColumns(incidents),
        rank: sql<number>`(row_number() over (partition by ${incidents.assigneeId} order by ${incidents.createdAt} desc, ${incidents.id} desc))::int`.as(
          "rank",
        ),
      })
      .from(incidents)
      .where(
        and(
          sql`${incidents.assigneeId} = any(${sql.placeholder("userIds")})`,
          withStatuses ? sql`${incidents.status} = any(${sql.placeholder("statuses")})` : undefined,
          withAfter
            ? sql`(${incidents.createdAt}, ${incidents.id}) < (${sql.placeholder("afterCreatedAt")}::timestamptz, ${sql.placeholder("afterId")}::bigint)`
            : undefined,
        ),
      )
      .as("ranked");
    return db
      .select()
      .from(ranked)
      .where(lte(ranked.rank, sql.placeholder("limit")))
      .orderBy(asc(ranked.assigneeId), asc(ranked.rank))
      .prepare(name);
  };
  const prepareAssignedCounts = (name: string, withStatuses: boolean) =>
    db
      .select({ userId: incidents.assigneeId, n: count() })
      .from(incidents)
      .where(
        and(
          sql`${incidents.assigneeId} = any(${sql.placeholder("userIds")})`,
          withStatuses ? sql`${incidents.status} = any(${sql.placeholder("statuses")})` : undefined,
        ),
      )
      .groupBy(incidents.assigneeId)
      .prepare(name);
  const assignedStatement = statementCache<ReturnType<typeof prepareAssigned>>(statementCacheBytes);
  const assignedCountStatement = statementCache<ReturnType<typeof prepareAssignedCounts>>(statementCacheBytes);

  // Writes of one incident take turns in this process too (see serial-by-key.ts): events in commit order.
  const oneAtATime = serialByKey<number>();

  /** One attempt at a deletion, in its own transaction: false when the incident is gone. */
  const deleteOnce = (id: number, actorId: number) =>
    handle.transaction(async (tx) => {
      const [locked] = await tx.select({ id: incidents.id }).from(incidents).where(eq(incidents.id, id)).for("update");
      if (!locked) return false;
      const labels = await runOnPgTx(tx, labelsOfIncident(shared, id));
      await runOnPgTx(tx, renderAllBodies(outbox));
      const [row] = await tx.delete(incidents).where(eq(incidents.id, id)).returning();
      if (!row) return false;
      const event = { type: "INCIDENT_DELETED", incidentId: id, serviceId: row.serviceId, actorId, at: new Date(), incident: { row, labels } } as const;
      await runOnPgTx(tx, outbox.record(event));
      return true;
    });

  return {
    async findById(id) {
      const [row] = await byId.execute({ id });
      return row;
    },

    async findByIdWithPeople(id) {
      const { name, text, read } = byIdWithPeople;
      const [row] = (await handle.pool.query<unknown[]>({ name, text, values: [id], rowMode: "array" })).rows;
      return row && withPeople(read(row));
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      return byIds.execute({ ids: [...ids] });
    },

    async page({ criteria, sort, first, after, columns }) {
      const bound = bindCriteria(criteria, icu);
      if (bound === "nothing") return [];
      const wanted = incidentProjection(columns, sort.field);
      const shape = `page:${sort.field}:${sort.descending}:${after ? 1 : 0}:${bound.shape}:${wanted.join(",")}`;
      const statement = pageStatement(shape, (name) =>
        preparePage(name, sort.field, sort.descending, after !== undefined, bound.where(), wanted),
      );
      // A rank is 1 to 4, so any cursor value clamps into int range without changing the comparison.
      const rank = (value: number) => Math.min(5, Math.max(0, integerBound(value)));
      const afterValue = after === undefined ? undefined : sort.field === "priorityRank" ? rank(after.value) : timestampBound(after.value);
      const afterId = after === undefined ? undefined : integerBound(after.id);
      return statement.execute({ ...bound.params, afterValue, afterId, limit: first + 1 });
    },

    async count(criteria) {
      const bound = bindCriteria(criteria, icu);
      if (bound === "nothing") return 0;
      const statement = countStatement(`count:${bound.shape}`, (name) => prepareCount(name, bound.where()));
      const [row] = await statement.execute(bound.params);
      return row?.n ?? 0;
    },

    async create({ labels, ...incident }) {
      const now = new Date();
      return handle.transaction(async (tx) => {
        const [row] = await tx
          .insert(incidents)
          .values({ ...incident, status: "OPEN", version: 1, createdAt: now, updatedAt: now })
          .returning();
        if (labels.length > 0) await runOnPgTx(tx, replaceIncidentLabels(shared, row!.id, labels));
        const event = { incidentId: row!.id, serviceId: row!.serviceId, actorId: row!.reporterId, at: now, incident: { row: row!, labels } };
        await runOnPgTx(tx, outbox.record({ type: "INCIDENT_CREATED", ...event }));
        return row!;
      });
    },

    async update(id, expectedVersion, authorId, decide) {
      return oneAtATime(id, () =>
        handle.transaction(async (tx) => {
          // The row lock makes concurrent updates of one incident take turns; each then sees the last one's version.
          // Taken before any of its alerts' rows, as alert requests and merges do; NO KEY UPDATE, as the UPDATE
          // below takes, so that it does not wait for the key-share lock of an entry or alert inserted meanwhile.
          const [current] = await tx.select().from(incidents).where(eq(incidents.id, id)).for("no key update");
          if (!current) return undefined;
          if (expectedVersion !== undefined && expectedVersion !== current.version) {
            throw new ConflictError(`Incident was changed meanwhile: expected version ${expectedVersion}, current is ${current.version}`);
          }
          const labels = await runOnPgTx(tx, labelsOfIncident(shared, id));
          const plan = decide(current, labels);
          if (plan.entries.length === 0) return { incident: current, entries: [], alerts: noAlerts() };
          const [updated] = await tx
            .update(incidents)
            .set({ ...plan.changes, version: sql`${incidents.version} + 1` })
            .where(and(eq(incidents.id, id), eq(incidents.version, current.version)))
            .returning();
          if (!updated) throw new ConflictError("Incident was changed meanwhile");
          const at = updated.updatedAt;
          const entries = await tx
            .insert(incidentLogs)
            .values(plan.entries.map((entry) => timelineRow(id, authorId, entry, at)))
            .returning();
          entries.sort((a, b) => a.id - b.id);
          const alerts = await runOnPgTx(tx, incidentUpdateExtras(shared, postgresDialect, id, plan, at));
          await runOnPgTx(tx, incidentChangeEvents(outbox, { incident: updated, labels: plan.labels ?? labels, actorId: authorId, at, alerts }));
          return { incident: updated, entries, alerts };
        }),
      );
    },

    async addNote(incidentId, authorId, message) {
      return oneAtATime(incidentId, () =>
        handle.transaction(async (tx) => {
          // Writes to one incident take turns on its row, as updates do: an entry's id is drawn only
          // once the previous writer has committed, so a timeline's ids grow in commit order, and the events the
          // service publishes after each commit reach subscribers in that order. A concurrent deleteIncident
          // either waits for this note (and then takes it along) or wins, and then there is nothing to lock.
          const [exists] = await tx
            .select()
            .from(incidents)
            .where(eq(incidents.id, incidentId))
            .for("no key update");
          if (!exists) return undefined;
          const at = new Date();
          const [row] = await tx
            .insert(incidentLogs)
            .values(timelineRow(incidentId, authorId, { kind: "NOTE", message }, at))
            .returning();
          // Read here, with the driver's types: statements run through runOnPgTx return timestamps as text.
          const incident = { row: exists, labels: await runOnPgTx(tx, labelsOfIncident(shared, incidentId)) };
          const event = { type: "INCIDENT_LOG_ADDED", incidentId, serviceId: exists.serviceId, actorId: authorId, at, log: row!, incident } as const;
          await runOnPgTx(tx, outbox.record(event));
          return row;
        }),
      );
    },

    async delete(id, actorId) {
      // The cascade deletes the incident's alerts after its row lock, the order every writer keeps. An alert request
      // may still hold one of those alerts before it takes the incident: a FIRING alert committed after its
      // lockAlertIncidents looked (resolved or acknowledged, then its entry's foreign key waits for this lock), or
      // an incident it joins late; no order of the deletion's own locks avoids that. PostgreSQL undoes the
      // transaction of such a cycle that has waited longest, often this one (its cascade waits first): it runs
      // again, and finds the incident as the other request left it, or gone (NOT_FOUND).
      return oneAtATime(id, () => rerunWhenUndone(() => deleteOnce(id, actorId)));
    },

    async logPages(incidentIds, first, afterId, columns = allLogColumns) {
      if (incidentIds.length === 0) return new Map();
      const { name, text, read } = logPageQuery(logProjection(columns));
      const values = [incidentIds, integerBound(afterId ?? 0), first + 1];
      const result = await handle.pool.query<unknown[]>({ name, text, values, rowMode: "array" });
      return timelinesOf(result.rows.map(read));
    },

    async logCounts(incidentIds) {
      if (incidentIds.length === 0) return new Map();
      const rows = await logCounts.execute({ ids: [...incidentIds] });
      return new Map(rows.map((row) => [row.incidentId, row.n]));
    },

    async assignedPages(userIds, { statuses, first, after }) {
      if (userIds.length === 0) return new Map();
      const shape = `assigned:${statuses ? 1 : 0}:${after ? 1 : 0}`;
      const statement = assignedStatement(shape, (name) => prepareAssigned(name, statuses !== undefined, after !== undefined));
      const rows = await statement.execute({
        userIds: [...userIds],
        statuses: statuses ? [...statuses] : undefined,
        afterCreatedAt: after ? timestampBound(after.createdAt) : undefined,
        afterId: after ? integerBound(after.id) : undefined,
        limit: first + 1,
      });
      return groupBy(rows, (row) => row.assigneeId!);
    },

    async assignedCounts(userIds, statuses) {
      if (userIds.length === 0) return new Map();
      const shape = `assigned-count:${statuses ? 1 : 0}`;
      const statement = assignedCountStatement(shape, (name) => prepareAssignedCounts(name, statuses !== undefined));
      const rows = await statement.execute({ userIds: [...userIds], statuses: statuses ? [...statuses] : undefined });
      return new Map(rows.map((row) => [row.userId!, row.n]));
    },
  };
}
