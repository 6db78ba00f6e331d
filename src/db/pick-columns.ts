import { getTableColumns, type Table } from "drizzle-orm";

/** Some of a table's columns, as a drizzle selection: rows then carry only those keys (either backend's tables). */
export function pickColumns<T extends Table>(table: T, names: readonly (keyof T["_"]["columns"] & string)[]): T["_"]["columns"] {
  const columns = getTableColumns(table);
  return Object.fromEntries(names.map((name) => [name, columns[name]])) as T["_"]["columns"];
}
