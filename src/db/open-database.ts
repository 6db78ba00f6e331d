import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { developmentJwtSecret } from "../auth/jwt-secret.js";
import type { Config } from "../config.js";
import { createPgIncidentRepository } from "../modules/incidents/incident.pg-repository.js";
import { createSqliteIncidentRepository, type IncidentRepository } from "../modules/incidents/incident.repository.js";
import { createPgUserRepository } from "../modules/users/user.pg-repository.js";
import { createSqliteUserRepository, type UserRepository } from "../modules/users/user.repository.js";
import { createAlertRepository, type AlertRepository } from "../modules/alerts/alert.repository.js";
import { createServiceRepository, type ServiceRepository } from "../modules/services/service.repository.js";
import type { Metrics } from "../shared/metrics.js";
import { postgresBackend, sqliteBackend } from "./sql-backend.js";
import { applyMigrations } from "./migrate.js";
import { migrationsFolder } from "./migrations-folder.js";
import { applyPostgresMigrations, detectIcu, openPostgres } from "./postgres.js";
import { openSqlite } from "./sqlite.js";

/** What the rest of the application sees of the database, whichever backend DATABASE_URL chose. */
export interface AppDatabase {
  kind: "sqlite" | "postgres";
  users: UserRepository;
  incidents: IncidentRepository;
  services: ServiceRepository;
  alerts: AlertRepository;
  /** The JWT secret to use when JWT_SECRET is not set (never in production, which requires it). */
  developmentJwtSecret(): string;
  /** Whether the database answers. */
  ready(): Promise<boolean>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Opens the configured backend, applies pending migrations, and builds the repositories on it. */
export async function openDatabase(config: Config, metrics: Metrics, logger: Logger): Promise<AppDatabase> {
  const onStatement = () => metrics.dbQueries.inc();
  const target = config.database;

  if (target.kind === "sqlite") {
    const handle = openSqlite({ path: target.path, busyTimeoutMs: config.dbBusyTimeoutMs, onStatement });
    try {
      const applied = applyMigrations(handle.client, migrationsFolder("sqlite"));
      if (applied > 0) logger.info({ applied }, "migrations applied");
      const backend = sqliteBackend(handle);
      return {
        kind: "sqlite",
        users: createSqliteUserRepository(handle),
        incidents: createSqliteIncidentRepository(handle),
        services: createServiceRepository(backend),
        alerts: createAlertRepository(backend),
        developmentJwtSecret: () => developmentJwtSecret(target.path),
        ready: async () => handle.client.prepare("SELECT 1").get() !== undefined,
        close: async () => handle.close(),
      };
    } catch (error) {
      handle.close();
      throw error;
    }
  }

  const handle = openPostgres({
    url: target.url,
    poolSize: config.dbPoolSize,
    onStatement,
    onConnectionError: (error) => logger.warn({ err: error }, "database connection lost"),
  });
  try {
    const applied = await applyPostgresMigrations(handle, migrationsFolder("postgres"));
    if (applied > 0) logger.info({ applied }, "migrations applied");
    if (!(await detectIcu(handle))) logger.warn("no ICU collation on the database server: case-insensitive search of non-ASCII text follows its lc_ctype");
    let secret: string | undefined;
    const backend = postgresBackend(handle);
    return {
      kind: "postgres",
      users: createPgUserRepository(handle),
      incidents: createPgIncidentRepository(handle),
      services: createServiceRepository(backend),
      alerts: createAlertRepository(backend),
      developmentJwtSecret() {
        // There is no file beside a PostgreSQL database to keep one in: a fresh secret per process.
        if (!secret) {
          secret = randomBytes(48).toString("base64url");
          logger.warn(
            "JWT_SECRET is not set: using a random secret for this process only; tokens stop working on restart and are not accepted by other instances",
          );
        }
        return secret;
      },
      ready: () => handle.ready(),
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    // Wrapped: a network error's own code (ENOTFOUND, ECONNREFUSED) would read as one about HOST or PORT.
    throw new Error(`PostgreSQL at DATABASE_URL: ${(error as Error).message}`, { cause: error });
  }
}
