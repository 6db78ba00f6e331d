import { getTableColumns } from "drizzle-orm";
import { groupBy } from "../../shared/group-by.js";
import type { IncidentLogRow } from "./incident-log.table.js";
import type { IncidentColumn, IncidentSortField, LogColumn } from "./incident.repository.js";
import { users, type UserRow } from "../users/user.table.js";
import { incidents, type IncidentRow } from "./incident.table.js";

// The hot reads fetch rows as arrays of only the selected columns and read them here into objects of one fixed
// shape, whichever backend they came from: no per-row, per-column dispatch as an ORM's mapping does, and a
// single hidden class for the executor to meet. Columns left out stay undefined and are never read.

/** How a backend's driver hands over the two kinds of values that need decoding. */
export interface ValueDecoders {
  /** A 64-bit id column (SQLite: a number; PostgreSQL bigint: a decimal string). */
  id(value: unknown): number;
  /** A timestamp column (SQLite: epoch milliseconds; PostgreSQL timestamptz: a Date already). */
  time(value: unknown): Date;
  /** A boolean column (SQLite: 0 or 1; PostgreSQL: a boolean already). */
  bool(value: unknown): boolean;
}

/** In table order. */
export const incidentColumnNames = Object.keys(getTableColumns(incidents)) as readonly IncidentColumn[];

export const logColumnNames: Readonly<Record<LogColumn, string>> = {
  id: "id",
  incidentId: "incident_id",
  kind: "kind",
  message: "message",
  authorId: "author_id",
  fromStatus: "from_status",
  toStatus: "to_status",
  createdAt: "created_at",
};
export const allLogColumns = Object.keys(logColumnNames) as LogColumn[];

/** The columns a page fetches, in table order: what was asked for, plus the id and the sort column (cursors). */
export function incidentProjection(columns: readonly IncidentColumn[] | undefined, sortColumn: IncidentSortField): IncidentColumn[] {
  if (!columns) return [...incidentColumnNames];
  return incidentColumnNames.filter((column) => column === "id" || column === sortColumn || columns.includes(column));
}

/** The columns a timeline page fetches, in table order: what was asked for, plus the id and the parent. */
export function logProjection(columns: readonly LogColumn[]): LogColumn[] {
  return allLogColumns.filter((column) => column === "id" || column === "incidentId" || columns.includes(column));
}

const absent = -1;
const nullable = <T>(decode: (value: unknown) => T, value: unknown) => (value === null || value === undefined ? value : decode(value));

/** Reads arrays holding `columns`, in that order, into incident rows. */
export function incidentRowReader(columns: readonly IncidentColumn[], decode: ValueDecoders): (raw: unknown[]) => IncidentRow {
  const index = Object.fromEntries(incidentColumnNames.map((column) => [column, columns.indexOf(column)])) as Record<IncidentColumn, number>;
  const at = (raw: unknown[], i: number) => (i === absent ? undefined : raw[i]);
  const id = (raw: unknown[], i: number) => (i === absent ? undefined : nullable(decode.id, raw[i]));
  const time = (raw: unknown[], i: number) => (i === absent ? undefined : nullable(decode.time, raw[i]));
  return (raw) =>
    ({
      id: decode.id(raw[index.id]),
      title: at(raw, index.title),
      description: at(raw, index.description),
      status: at(raw, index.status),
      priority: at(raw, index.priority),
      priorityRank: at(raw, index.priorityRank),
      reporterId: id(raw, index.reporterId),
      assigneeId: id(raw, index.assigneeId),
      version: at(raw, index.version),
      createdAt: time(raw, index.createdAt),
      updatedAt: time(raw, index.updatedAt),
      acknowledgedAt: time(raw, index.acknowledgedAt),
      resolvedAt: time(raw, index.resolvedAt),
      closedAt: time(raw, index.closedAt),
      serviceId: id(raw, index.serviceId),
      mergedIntoId: id(raw, index.mergedIntoId),
      resolvedBySystem: index.resolvedBySystem === absent ? undefined : decode.bool(raw[index.resolvedBySystem]),
      // Every column and no other key: a column added to the table must be read here too.
    }) satisfies Record<IncidentColumn, unknown> as IncidentRow;
}

/** In table order (the PostgreSQL table has the same columns). */
const userColumnNames = Object.keys(getTableColumns(users)) as readonly (keyof UserRow)[];

/** Reads a user's columns, in table order from `offset`; null when its id is null (a left join that found none). */
function userRowReader(decode: ValueDecoders): (raw: unknown[], offset: number) => UserRow | null {
  const index = Object.fromEntries(userColumnNames.map((column, i) => [column, i])) as Record<keyof UserRow, number>;
  return (raw, offset) =>
    raw[offset + index.id] === null
      ? null
      : ({
          id: decode.id(raw[offset + index.id]),
          email: raw[offset + index.email],
          name: raw[offset + index.name],
          passwordHash: raw[offset + index.passwordHash],
          role: raw[offset + index.role],
          active: decode.bool(raw[offset + index.active]),
          tokenVersion: raw[offset + index.tokenVersion],
          createdAt: decode.time(raw[offset + index.createdAt]),
          updatedAt: decode.time(raw[offset + index.updatedAt]),
          // Every column and no other key: a column added to the table must be read here too.
        } satisfies Record<keyof UserRow, unknown> as UserRow);
}

/**
 * Reads an incident joined with its reporter and assignee: every incident column, then every column of each of the
 * two users, in table order, as drizzle lays out `select({ incident, reporter, assignee })`. Incident by id reads
 * this on every request, and drizzle's generic mapping of its 35 columns was a tenth of the request.
 */
export function incidentWithPeopleReader(decode: ValueDecoders): (raw: unknown[]) => { incident: IncidentRow; reporter: UserRow | null; assignee: UserRow | null } {
  const readIncident = incidentRowReader(incidentColumnNames, decode);
  const readUser = userRowReader(decode);
  const reporterAt = incidentColumnNames.length;
  const assigneeAt = reporterAt + userColumnNames.length;
  return (raw) => ({ incident: readIncident(raw), reporter: readUser(raw, reporterAt), assignee: readUser(raw, assigneeAt) });
}

/** Reads arrays holding `columns`, in that order, into timeline rows. */
export function logRowReader(columns: readonly LogColumn[], decode: ValueDecoders): (raw: unknown[]) => IncidentLogRow {
  const index = Object.fromEntries(allLogColumns.map((column) => [column, columns.indexOf(column)])) as Record<LogColumn, number>;
  const at = (raw: unknown[], i: number) => (i === absent ? undefined : raw[i]);
  return (raw) =>
    ({
      id: decode.id(raw[index.id]),
      incidentId: decode.id(raw[index.incidentId]),
      kind: at(raw, index.kind),
      message: at(raw, index.message),
      authorId: index.authorId === absent ? undefined : nullable(decode.id, raw[index.authorId]),
      fromStatus: at(raw, index.fromStatus),
      toStatus: at(raw, index.toStatus),
      createdAt: index.createdAt === absent ? undefined : decode.time(raw[index.createdAt]),
    }) satisfies Record<LogColumn, unknown> as IncidentLogRow;
}

/** Groups timeline rows by incident; each incident's entries must be in id order, which is checked, not assumed. */
export function timelinesOf(rows: readonly IncidentLogRow[]): Map<number, IncidentLogRow[]> {
  const groups = groupBy(rows, (row) => row.incidentId);
  for (const entries of groups.values()) {
    for (let i = 1; i < entries.length; i++) {
      if (entries[i - 1]!.id > entries[i]!.id) {
        entries.sort((a, b) => a.id - b.id);
        break;
      }
    }
  }
  return groups;
}
