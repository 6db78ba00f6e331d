// What `db:copy` copies, read from the two Drizzle schemas so that a table or column added later is copied (and
// verified) without anyone remembering to list it here.
import { getTableConfig as pgTableConfig, type PgColumn, type PgTable } from "drizzle-orm/pg-core";
import { getTableConfig as sqliteTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import * as pgSchema from "./pg-schema.js";
import * as sqliteSchema from "./schema.js";

export type CopyKind = "id" | "int" | "text" | "bool" | "time";

export interface CopyColumn {
  name: string;
  kind: CopyKind;
}

export interface CopyTable {
  name: string;
  /** Copied columns; generated ones are computed by PostgreSQL. */
  columns: CopyColumn[];
  /** The primary key, in order: rows are read and compared in this order. */
  key: CopyColumn[];
  /** Whether `id` is an identity column whose sequence must continue after the copied ids. */
  identity: boolean;
  /**
   * Columns that name a row of the same table: a row may name a later one, so they are filled in once every row
   * is there.
   */
  selfReferences: CopyColumn[];
}

const kinds: Record<string, CopyKind> = {
  PgBigInt53: "id",
  PgInteger: "int",
  PgText: "text",
  PgBoolean: "bool",
  PgTimestamp: "time",
};

function kindOf(table: string, column: PgColumn): CopyKind {
  const kind = kinds[column.columnType];
  if (!kind) throw new Error(`db:copy does not know how to copy ${table}.${column.name} (${column.columnType})`);
  return kind;
}

const isTable = (value: unknown): boolean => typeof value === "object" && value !== null && Symbol.for("drizzle:IsDrizzleTable") in value;

function describe(table: PgTable): CopyTable & { references: string[] } {
  const config = pgTableConfig(table);
  const column = (c: PgColumn): CopyColumn => ({ name: c.name, kind: kindOf(config.name, c) });
  const columns = config.columns.filter((c) => !c.generated).map(column);
  const composite = config.primaryKeys[0]?.columns;
  const key = composite ? composite.map(column) : config.columns.filter((c) => c.primary).map(column);
  if (key.length === 0) throw new Error(`db:copy needs a primary key on ${config.name}`);
  const references: string[] = [];
  const selfReferences: CopyColumn[] = [];
  for (const foreignKey of config.foreignKeys) {
    const reference = foreignKey.reference();
    const target = pgTableConfig(reference.foreignTable).name;
    if (target === config.name) selfReferences.push(...reference.columns.map(column));
    else references.push(target);
  }
  const identity = config.columns.some((c) => c.name === "id" && c.generatedIdentity !== undefined);
  return { name: config.name, columns, key, identity, selfReferences, references };
}

/** Every table both backends have (PostgreSQL's own, such as its generated secrets, stay), parents first. */
export function copyTables(): CopyTable[] {
  const shared = new Set(
    Object.values(sqliteSchema)
      .filter(isTable)
      .map((table) => sqliteTableConfig(table as SQLiteTable).name),
  );
  const tables = Object.values(pgSchema)
    .filter(isTable)
    .map((table) => describe(table as PgTable))
    .filter((table) => shared.has(table.name));
  const ordered: CopyTable[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = tables.filter((table) => !placed.has(table.name) && table.references.every((name) => placed.has(name) || !shared.has(name)));
    if (ready.length === 0) throw new Error("db:copy found a cycle of foreign keys between tables");
    for (const { references, ...table } of ready.sort((a, b) => a.name.localeCompare(b.name))) {
      void references;
      ordered.push(table);
      placed.add(table.name);
    }
  }
  return ordered;
}
