import type { Logger } from "pino";
import { developmentJwtSecretInPostgres } from "../auth/jwt-secret.pg.js";
import type { Config } from "../config.js";
import { createAlertRepository } from "../modules/alerts/alert.repository.js";
import { createPgIncidentRepository } from "../modules/incidents/incident.pg-repository.js";
import { createServiceRepository } from "../modules/services/service.repository.js";
import { createIntelligenceRepository } from "../modules/intelligence/intelligence.repository.js";
import { createInsightRepository } from "../modules/insights/insight.repository.js";
import { createPgUserRepository } from "../modules/users/user.pg-repository.js";
import { migrationsFolder } from "./migrations-folder.js";
import type { AppDatabase } from "./open-database.js";
import { applyPostgresMigrations, detectIcu, openPostgres, type PostgresHandle } from "./postgres.js";
import { postgresBackend } from "./sql-backend.js";
import { postgresDialect } from "./sql-work.js";
import { webhookOutbox } from "../modules/webhooks/webhook-outbox.js";
import { createWebhookRepository } from "../modules/webhooks/webhook.repository.js";

/** The PostgreSQL side of openDatabase: connects, applies pending migrations, builds the repositories. */
export async function openPostgresDatabase(
  config: Config,
  url: string,
  onStatement: () => void,
  onBackgroundStatement: () => void,
  logger: Logger,
): Promise<AppDatabase> {
  const handle = openPostgres({
    url,
    poolSize: config.dbPoolSize,
    onStatement,
    onConnectionError: (error) => logger.warn({ err: error }, "database connection lost"),
  });
  let background: PostgresHandle | undefined;
  try {
    const applied = await applyPostgresMigrations(handle, migrationsFolder("postgres"));
    if (applied > 0) logger.info({ applied }, "migrations applied");
    if (!(await detectIcu(handle))) logger.warn("no ICU collation on the database server: case-insensitive search of non-ASCII text follows its lc_ctype");
    const backend = postgresBackend(handle);
    const outbox = webhookOutbox(postgresDialect);
    // The webhook dispatcher's own connections: its turns never wait for a request's, and count apart.
    background = openPostgres({
      url,
      poolSize: 2,
      onStatement: onBackgroundStatement,
      onConnectionError: (error) => logger.warn({ err: error }, "database connection lost"),
    });
    const dispatchBackend = postgresBackend(background);
    const dispatchPool = background;
    return {
      kind: "postgres",
      users: createPgUserRepository(handle),
      incidents: createPgIncidentRepository(handle, config.caches.statementBytes, outbox),
      services: createServiceRepository(backend),
      intelligence: createIntelligenceRepository(backend),
      insights: createInsightRepository(backend, outbox),
      alerts: createAlertRepository(backend, outbox),
      webhooks: createWebhookRepository(backend),
      backgroundWebhooks: createWebhookRepository(dispatchBackend),
      outbox,
      developmentJwtSecret: () => developmentJwtSecretInPostgres(handle.db),
      ready: () => handle.ready(),
      close: async () => {
        await Promise.all([handle.close(), dispatchPool.close()]);
      },
    };
  } catch (error) {
    await Promise.all([handle.close(), background?.close()]);
    // Wrapped: a network error's own code (ENOTFOUND, ECONNREFUSED) would read as one about HOST or PORT.
    throw new Error(`PostgreSQL at DATABASE_URL: ${(error as Error).message}`, { cause: error });
  }
}
