import { pgErrorCode, PG_UNIQUE_VIOLATION } from "../../db/pg-errors.js";
import type { SqlBackend } from "../../db/sql-backend.js";
import { sqliteErrorCode } from "../../db/sqlite-errors.js";
import { all, one, type Dialect, type Row, type Work } from "../../db/sql-work.js";
import { ConflictError } from "../../shared/errors.js";
import { groupBy } from "../../shared/group-by.js";
import type { Label } from "./label.rules.js";
import { maxGroupingWindowSeconds } from "./service.rules.js";
import type { ServiceRow } from "./service.table.js";

export interface NewService {
  name: string;
  description: string;
  autoResolve: boolean;
  groupingLabels: string[];
  groupingWindowSeconds: number;
}

export type ServiceChanges = Partial<NewService>;

export interface ServiceRepository {
  findByIds(ids: readonly number[]): Promise<ServiceRow[]>;
  /** `first + 1` rows at most, by id. */
  page(first: number, afterId: number | undefined): Promise<ServiceRow[]>;
  count(): Promise<number>;
  /** CONFLICT when the name is taken, ignoring case. */
  create(service: NewService): Promise<ServiceRow>;
  update(id: number, changes: ServiceChanges): Promise<ServiceRow | undefined>;
  delete(id: number): Promise<boolean>;
  /** Each incident's labels, sorted by key, in one statement. */
  labelsOf(incidentIds: readonly number[]): Promise<Map<number, Label[]>>;
}

const columns = `id, name, name_key, description, auto_resolve, grouping_labels, grouping_window_seconds, created_at, updated_at`;

/** A services row as the driver hands it over, into the one row shape both backends share. */
export const serviceReader = (d: Dialect) => (row: Row): ServiceRow => ({
  id: d.readId(row.id),
  name: row.name as string,
  nameKey: row.name_key as string,
  description: row.description as string,
  autoResolve: d.readBool(row.auto_resolve),
  groupingLabels: row.grouping_labels as string,
  groupingWindowSeconds: row.grouping_window_seconds as number,
  createdAt: d.readTime(row.created_at),
  updatedAt: d.readTime(row.updated_at),
});

export const isUniqueViolation = (error: unknown) =>
  sqliteErrorCode(error)?.startsWith("SQLITE_CONSTRAINT_UNIQUE") === true || pgErrorCode(error) === PG_UNIQUE_VIOLATION;

/** Services, written once for both backends (statements prepared once and reused). */
export function createServiceRepository(backend: SqlBackend): ServiceRepository {
  const d = backend.dialect;
  const read = serviceReader(d);
  const statements = {
    byIds: { name: "services_by_ids", text: `SELECT ${columns} FROM services WHERE ${d.inList("id", "bigint")}` },
    page: { name: "services_page", text: `SELECT ${columns} FROM services WHERE id > ? ORDER BY id LIMIT ?` },
    count: { name: "services_count", text: `SELECT count(*) AS n FROM services` },
    insert: {
      name: "services_insert",
      text: `INSERT INTO services (name, name_key, description, auto_resolve, grouping_labels, grouping_window_seconds, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${columns}`,
    },
    byId: { name: "services_by_id", text: `SELECT ${columns} FROM services WHERE id = ?` },
    update: {
      name: "services_update",
      text: `UPDATE services SET name = ?, name_key = ?, description = ?, auto_resolve = ?, grouping_labels = ?,
             grouping_window_seconds = ?, updated_at = ? WHERE id = ? RETURNING ${columns}`,
    },
    delete: { name: "services_delete", text: `DELETE FROM services WHERE id = ? RETURNING id` },
    // New grouping labels: the values the service's alerts stored for the old ones say nothing about the new ones, so
    // the window's lookup compares those alerts' labels instead (alerts.group_values). Older than any window: kept.
    forgetGroupValues: {
      name: "alerts_forget_group_values",
      text: `UPDATE alerts SET group_values = NULL WHERE service_id = ? AND group_values IS NOT NULL AND received_at >= ?`,
    },
    labels: {
      name: "incident_labels_of",
      text: `SELECT incident_id, key, value FROM incident_labels WHERE ${d.inList("incident_id", "bigint")} ORDER BY incident_id, key${d.binary}`,
    },
  };
  const conflict = (error: unknown) =>
    isUniqueViolation(error) ? new ConflictError("A service with this name already exists") : error;

  function* update(id: number, changes: ServiceChanges): Work<ServiceRow | undefined> {
    const found = yield* one(statements.byId, [id]);
    if (!found) return undefined;
    const current = read(found);
    const name = changes.name ?? current.name;
    const next = yield* one(statements.update, [
      name,
      name.toLowerCase(),
      changes.description ?? current.description,
      d.bool(changes.autoResolve ?? current.autoResolve),
      changes.groupingLabels ? JSON.stringify(changes.groupingLabels) : current.groupingLabels,
      changes.groupingWindowSeconds ?? current.groupingWindowSeconds,
      d.time(new Date()),
      id,
    ]);
    if (changes.groupingLabels && JSON.stringify(changes.groupingLabels) !== current.groupingLabels) {
      yield* all(statements.forgetGroupValues, [id, d.time(new Date(Date.now() - maxGroupingWindowSeconds * 1000))]);
    }
    return next && read(next);
  }

  return {
    async findByIds(ids) {
      if (ids.length === 0) return [];
      return (await backend.read(() => all(statements.byIds, [d.list(ids)]))).map(read);
    },
    async page(first, afterId) {
      return (await backend.read(() => all(statements.page, [afterId ?? 0, first + 1]))).map(read);
    },
    async count() {
      const row = await backend.read(() => one(statements.count, []));
      return d.readNumber(row?.n);
    },
    async create(service) {
      const now = d.time(new Date());
      const params = [
        service.name,
        service.name.toLowerCase(),
        service.description,
        d.bool(service.autoResolve),
        JSON.stringify(service.groupingLabels),
        service.groupingWindowSeconds,
        now,
        now,
      ];
      try {
        return read((await backend.transaction(() => one(statements.insert, params)))!);
      } catch (error) {
        throw conflict(error);
      }
    },
    async update(id, changes) {
      try {
        return await backend.transaction(() => update(id, changes));
      } catch (error) {
        throw conflict(error);
      }
    },
    async delete(id) {
      const row = await backend.transaction(() => one(statements.delete, [id]));
      return row !== undefined;
    },
    async labelsOf(incidentIds) {
      if (incidentIds.length === 0) return new Map();
      const rows = await backend.read(() => all(statements.labels, [d.list(incidentIds)]));
      const grouped = groupBy(rows, (row) => d.readId(row.incident_id));
      return new Map([...grouped].map(([id, labels]) => [id, labels.map((row) => ({ key: row.key as string, value: row.value as string }))]));
    },
  };
}
