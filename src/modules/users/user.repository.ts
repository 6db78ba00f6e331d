import { and, asc, count, eq, gt, sql } from "drizzle-orm";
import type { SqliteHandle } from "../../db/sqlite.js";
import { sqliteErrorCode } from "../../db/sqlite-errors.js";
import { ConflictError } from "../../shared/errors.js";
import type { Role } from "./user-role.js";
import { users, type UserRow } from "./user.table.js";

export interface NewUser {
  email: string;
  name: string;
  passwordHash: string;
}

export type UserChanges = Partial<Pick<UserRow, "name" | "passwordHash" | "role" | "active" | "tokenVersion">>;

export interface UserPageQuery {
  /** Rows to return; the repository reads one more to tell whether a next page exists. */
  first: number;
  afterId?: number;
  role?: Role;
}

export interface UserRepository {
  findByIds(ids: readonly number[]): Promise<UserRow[]>;
  findByEmail(email: string): Promise<UserRow | undefined>;
  /** Atomically decides the role from whether the table is empty, then inserts. Duplicate email: CONFLICT. */
  create(user: NewUser, chooseRole: (isFirstUser: boolean) => Role): Promise<UserRow>;
  page(query: UserPageQuery): Promise<UserRow[]>;
  count(role?: Role): Promise<number>;
  /** Reads the user and the active-admin count, asks `decide`, writes its answer: all in one transaction. */
  update(id: number, decide: (current: UserRow, activeAdmins: number) => UserChanges): Promise<UserRow | undefined>;
  bumpTokenVersion(id: number): Promise<UserRow | undefined>;
}

export function createSqliteUserRepository(handle: SqliteHandle): UserRepository {
  const { db } = handle;
  const byEmail = db.select().from(users).where(eq(users.email, sql.placeholder("email"))).prepare();
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare();
  // Any batch size with one prepared statement: the ids are bound as one JSON array.
  const byIds = db
    .select()
    .from(users)
    .where(sql`${users.id} in (select value from json_each(${sql.placeholder("ids")}))`)
    .prepare();
  const anyUser = db.select({ id: users.id }).from(users).limit(1).prepare();
  const activeAdmins = db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.active, true)))
    .prepare();

  return {
    async findByIds(ids) {
      if (ids.length === 0) return [];
      if (ids.length === 1) {
        const row = byId.get({ id: ids[0] });
        return row ? [row] : [];
      }
      return byIds.all({ ids: JSON.stringify(ids) });
    },

    async findByEmail(email) {
      return byEmail.get({ email });
    },

    async create(user, chooseRole) {
      try {
        return handle.writeTransaction(() => {
          const role = chooseRole(anyUser.get() === undefined);
          const now = new Date();
          return db
            .insert(users)
            .values({ ...user, role, active: true, tokenVersion: 0, createdAt: now, updatedAt: now })
            .returning()
            .get();
        });
      } catch (error) {
        if (sqliteErrorCode(error) === "SQLITE_CONSTRAINT_UNIQUE") {
          throw new ConflictError("An account with this email already exists");
        }
        throw error;
      }
    },

    async page({ first, afterId, role }) {
      return db
        .select()
        .from(users)
        .where(and(afterId === undefined ? undefined : gt(users.id, afterId), role ? eq(users.role, role) : undefined))
        .orderBy(asc(users.id))
        .limit(first + 1)
        .all();
    },

    async count(role) {
      const [row] = db
        .select({ n: count() })
        .from(users)
        .where(role ? eq(users.role, role) : undefined)
        .all();
      return row?.n ?? 0;
    },

    async update(id, decide) {
      return handle.writeTransaction(() => {
        const current = byId.get({ id });
        if (!current) return undefined;
        const changes = decide(current, activeAdmins.get()?.n ?? 0);
        if (Object.keys(changes).length === 0) return current;
        return db
          .update(users)
          .set({ ...changes, updatedAt: new Date() })
          .where(eq(users.id, id))
          .returning()
          .get();
      });
    },

    async bumpTokenVersion(id) {
      return db
        .update(users)
        .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: new Date() })
        .where(eq(users.id, id))
        .returning()
        .get();
    },
  };
}
