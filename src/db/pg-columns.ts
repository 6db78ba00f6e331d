import { bigint, timestamp } from "drizzle-orm/pg-core";

/** Ids are 64-bit, as SQLite's INTEGER is: every id the API accepts either names a row or names nothing. */
export const pgId = (name: string) => bigint(name, { mode: "number" });

/** Millisecond timestamps in UTC, as the SQLite tables keep them. */
export const pgTime = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: "date" });
