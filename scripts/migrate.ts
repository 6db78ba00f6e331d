// Applies pending migrations to DATABASE_URL with the same guard the server uses at start-up.
import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "../src/config.js";
import { applyMigrations } from "../src/db/migrate.js";
import { migrationsFolder } from "../src/db/migrations-folder.js";
import { openSqlite } from "../src/db/sqlite.js";

if (existsSync(".env")) process.loadEnvFile(".env");
try {
  const config = loadConfig(process.env);
  if (config.database.kind !== "sqlite") throw new ConfigError("DATABASE_URL", "only SQLite is supported by this build");
  const handle = openSqlite({ path: config.database.path, busyTimeoutMs: config.dbBusyTimeoutMs });
  const applied = applyMigrations(handle.client, migrationsFolder());
  handle.close();
  console.log(`${applied} migration(s) applied to ${config.database.path}`);
} catch (error) {
  console.error(error instanceof ConfigError ? `Invalid configuration: ${error.message}` : error);
  process.exit(1);
}
