// Applies pending migrations to DATABASE_URL with the same guard the server uses at start-up.
import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "../src/config.js";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { applyPostgresMigrations, openPostgres } from "../src/db/postgres.js";
import { openSqlite } from "../src/db/sqlite.js";

if (existsSync(".env")) process.loadEnvFile(".env");
try {
  const config = loadConfig(process.env);
  if (config.database.kind === "postgres") {
    const pg = openPostgres({ url: config.database.url, poolSize: 1 });
    try {
      const applied = await applyPostgresMigrations(pg, migrationsFolder("postgres"));
      console.log(`${applied} migration(s) applied to ${new URL(config.database.url).pathname.slice(1) || "the database"}`);
    } finally {
      await pg.close();
    }
    process.exit(0);
  }
  const handle = openSqlite({ path: config.database.path, busyTimeoutMs: config.dbBusyTimeoutMs });
  const applied = applyMigrations(handle.client, migrationsFolder("sqlite"));
  handle.close();
  console.log(`${applied} migration(s) applied to ${config.database.path}`);
} catch (error) {
  console.error(error instanceof ConfigError ? `Invalid configuration: ${error.message}` : error);
  process.exit(1);
}
