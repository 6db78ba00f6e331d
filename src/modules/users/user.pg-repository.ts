import { and, asc, count, eq, gt, sql } from "drizzle-orm";
import { PG_UNIQUE_VIOLATION, pgErrorCode } from "../../db/pg-errors.js";
import type { PostgresHandle } from "../../db/postgres.js";
import { integerBound, matchesNoText } from "../../db/pg-values.js";
import { ConflictError } from "../../shared/errors.js";
import type { UserRepository } from "./user.repository.js";
import { users } from "./user.pg-table.js";

/**
 * Taken (transaction-scoped) by every write that reads users first: sign-up ("is this the first user?") and
 * updateUser ("is this the last active admin?"). Both are rare, so serializing them costs nothing, and it is
 * what BEGIN IMMEDIATE gives the SQLite backend.
 */
const USERS_WRITE_LOCK = 7_301_846_114;

export function createPgUserRepository(handle: PostgresHandle): UserRepository {
  const { db } = handle;
  // Named statements: parsed once per pooled connection, then reused.
  const byEmail = db.select().from(users).where(eq(users.email, sql.placeholder("email"))).prepare("users_by_email");
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare("users_by_id");
  // Any batch size with one prepared statement: the ids are bound as one array parameter.
  const byIds = db
    .select()
    .from(users)
    .where(sql`${users.id} = any(${sql.placeholder("ids")})`)
    .prepare("users_by_ids");

  return {
    async findByIds(ids) {
      if (ids.length === 0) return [];
      if (ids.length === 1) return byId.execute({ id: ids[0] });
      return byIds.execute({ ids: [...ids] });
    },

    async findByEmail(email) {
      if (matchesNoText(email)) return undefined; // PostgreSQL text cannot hold NUL, so no stored email has one
      const [row] = await byEmail.execute({ email });
      return row;
    },

    async create(user, chooseRole) {
      try {
        return await handle.transaction(async (tx) => {
          await tx.execute(sql`select pg_advisory_xact_lock(${USERS_WRITE_LOCK})`);
          const [any] = await tx.select({ id: users.id }).from(users).limit(1);
          const role = chooseRole(any === undefined);
          const now = new Date();
          const [row] = await tx
            .insert(users)
            .values({ ...user, role, active: true, tokenVersion: 0, createdAt: now, updatedAt: now })
            .returning();
          return row!;
        });
      } catch (error) {
        if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) throw new ConflictError("An account with this email already exists");
        throw error;
      }
    },

    async page({ first, afterId, role }) {
      return db
        .select()
        .from(users)
        .where(and(afterId === undefined ? undefined : gt(users.id, integerBound(afterId)), role ? eq(users.role, role) : undefined))
        .orderBy(asc(users.id))
        .limit(first + 1);
    },

    async count(role) {
      const [row] = await db
        .select({ n: count() })
        .from(users)
        .where(role ? eq(users.role, role) : undefined);
      return row?.n ?? 0;
    },

    async update(id, decide) {
      return handle.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${USERS_WRITE_LOCK})`);
        const [current] = await tx.select().from(users).where(eq(users.id, id)).for("update");
        if (!current) return undefined;
        const [admins] = await tx
          .select({ n: count() })
          .from(users)
          .where(and(eq(users.role, "ADMIN"), eq(users.active, true)));
        const changes = decide(current, admins?.n ?? 0);
        if (Object.keys(changes).length === 0) return current;
        const [row] = await tx
          .update(users)
          .set({ ...changes, updatedAt: new Date() })
          .where(eq(users.id, id))
          .returning();
        return row;
      });
    },

    async bumpTokenVersion(id) {
      const [row] = await db
        .update(users)
        .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: new Date() })
        .where(eq(users.id, id))
        .returning();
      return row;
    },
  };
}
