import type Database from "better-sqlite3";
import { readMigrationFiles } from "drizzle-orm/migrator";

export class MigrationError extends Error {
  override name = "MigrationError";
}

const journalTable = "__drizzle_migrations";

/**
 * Applies pending drizzle-kit migrations, keeping drizzle's own journal table, but guarded.
 *
 * drizzle-kit rebuilds SQLite tables (create a copy, copy the rows, DROP the original, rename), and the
 * `PRAGMA foreign_keys=OFF` it writes for that is a no-op inside a transaction: with enforcement on, dropping
 * `incidents` would cascade and empty `incident_logs`. So enforcement is switched off around the whole run
 * (it can only change outside a transaction), every migration runs in one transaction, and
 * `foreign_key_check` must come back empty before it commits. Returns the number of migrations applied.
 */
export function applyMigrations(client: Database.Database, migrationsFolder: string): number {
  const migrations = readMigrationFiles({ migrationsFolder });
  const enforced = client.pragma("foreign_keys", { simple: true }) === 1;
  client.pragma("foreign_keys = OFF");
  try {
    client.exec(
      `CREATE TABLE IF NOT EXISTS "${journalTable}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    const apply = client.transaction(() => {
      const last = client.prepare(`SELECT created_at FROM "${journalTable}" ORDER BY created_at DESC LIMIT 1`).get() as
        | { created_at: number }
        | undefined;
      const pending = migrations.filter((migration) => !last || Number(last.created_at) < migration.folderMillis);
      const record = client.prepare(`INSERT INTO "${journalTable}" ("hash", "created_at") VALUES (?, ?)`);
      for (const migration of pending) {
        for (const statement of migration.sql) {
          if (statement.trim()) client.exec(statement);
        }
        record.run(migration.hash, migration.folderMillis);
      }
      const dangling = client.pragma("foreign_key_check") as unknown[];
      if (dangling.length > 0) {
        throw new MigrationError(`migrations would leave ${dangling.length} dangling foreign keys; nothing was applied`);
      }
      return pending.length;
    });
    return apply.immediate();
  } finally {
    if (enforced) client.pragma("foreign_keys = ON");
  }
}
