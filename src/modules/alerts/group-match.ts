import { createHash } from "node:crypto";

/**
 * Longest value, in UTF-8 bytes, that `alerts.group_key` and `alerts.group_values` hold as it is. Both are only ever
 * compared for equality, through btree indexes, and PostgreSQL refuses an index entry past about 2.7 KB (SQLSTATE
 * 54000): a 3 KB groupKey, or three grouping labels of 1,000 characters, failed the whole request, and Alertmanager
 * retried it for ever. A longer value is stored as its digest instead, on both backends, so that they group alike;
 * a shorter one stays as it is, so that the rows written before still match.
 */
export const groupMatchMaxBytes = 1024;

const digestPrefix = "sha256:";

/** What a row stores and the lookups compare for a groupKey or grouping values: the value, or a digest of it. */
export function groupMatchValue(value: string): string {
  if (!isDigested(value)) return value;
  return digestPrefix + createHash("sha256").update(value, "utf8").digest("hex");
}

/**
 * The forms a row may hold for the value, the current one first. A row written before long values were digested
 * (SQLite; PostgreSQL when compression brought the entry under its limit) holds the long value as it is.
 */
export function groupMatchForms(value: string): string[] {
  return isDigested(value) ? [groupMatchValue(value), value] : [value];
}

// A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no count.
const isDigested = (value: string) => value.length * 3 > groupMatchMaxBytes && Buffer.byteLength(value, "utf8") > groupMatchMaxBytes;
