import type { Logger } from "pino";
import { developmentJwtSecret } from "../auth/jwt-secret.js";
import type { Config } from "../config.js";
import { createSqliteIncidentRepository, type IncidentRepository } from "../modules/incidents/incident.repository.js";
import { createSqliteUserRepository, type UserRepository } from "../modules/users/user.repository.js";
import { createAlertRepository, type AlertRepository } from "../modules/alerts/alert.repository.js";
import { createServiceRepository, type ServiceRepository } from "../modules/services/service.repository.js";
import { createIntelligenceRepository, type IntelligenceRepository } from "../modules/intelligence/intelligence.repository.js";
import { createInsightRepository, type InsightRepository } from "../modules/insights/insight.repository.js";
import type { Metrics } from "../shared/metrics.js";
import { sqliteBackend, type SqlBackend } from "./sql-backend.js";
import { applyMigrations } from "./migrate.js";
import { migrationsFolder } from "./migrations-folder.js";
import { openSqlite } from "./sqlite.js";
import { sqliteDialect } from "./sql-work.js";
import { webhookOutbox, type WebhookOutbox } from "../modules/webhooks/webhook-outbox.js";
import { createWebhookRepository, type WebhookRepository } from "../modules/webhooks/webhook.repository.js";

/** What the rest of the application sees of the database, whichever backend DATABASE_URL chose. */
export interface AppDatabase {
  kind: "sqlite" | "postgres";
  users: UserRepository;
  incidents: IncidentRepository;
  services: ServiceRepository;
  alerts: AlertRepository;
  /** Full-text search and similarity. */
  intelligence: IntelligenceRepository;
  insights: InsightRepository;
  webhooks: WebhookRepository;
  /**
   * The same, for the dispatcher's turns and the /metrics backlog gauge: their statements count as
   * `db_queries_total{source="background"}`, apart from those of requests (SQLite: the same connection; PostgreSQL:
   * a pool of two connections of their own).
   */
  backgroundWebhooks: WebhookRepository;
  /** Every write path records its webhook events here, inside its transaction. */
  outbox: WebhookOutbox;
  /** The JWT secret to use when JWT_SECRET is not set (never in production, which requires it). */
  developmentJwtSecret(): Promise<string>;
  /** Whether the database answers. */
  ready(): Promise<boolean>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Opens the configured backend, applies pending migrations, and builds the repositories on it. */
export async function openDatabase(config: Config, metrics: Metrics, logger: Logger): Promise<AppDatabase> {
  // Background work runs synchronously on SQLite's one connection: a flag set around it tells its statements apart.
  let background = false;
  const onStatement = () => (background ? metrics.dbQueries.inc({ source: "background" }) : metrics.dbQueries.inc());
  const target = config.database;

  if (target.kind === "sqlite") {
    const handle = openSqlite({ path: target.path, busyTimeoutMs: config.dbBusyTimeoutMs, onStatement });
    try {
      const applied = applyMigrations(handle.client, migrationsFolder("sqlite"));
      if (applied > 0) logger.info({ applied }, "migrations applied");
      const backend = sqliteBackend(handle);
      const outbox = webhookOutbox(sqliteDialect);
      return {
        kind: "sqlite",
        users: createSqliteUserRepository(handle),
        incidents: createSqliteIncidentRepository(handle, config.caches.statementBytes, outbox),
        services: createServiceRepository(backend),
        intelligence: createIntelligenceRepository(backend),
        insights: createInsightRepository(backend, outbox),
        alerts: createAlertRepository(backend, outbox),
        webhooks: createWebhookRepository(backend),
        backgroundWebhooks: createWebhookRepository(inBackground(backend, (on) => (background = on))),
        outbox,
        developmentJwtSecret: async () => developmentJwtSecret(target.path),
        ready: async () => handle.client.prepare("SELECT 1").get() !== undefined,
        close: async () => handle.close(),
      };
    } catch (error) {
      handle.close();
      throw error;
    }
  }

  // Loaded only for PostgreSQL: a SQLite server does not carry the pg driver and its schema (about 13 MB of RSS).
  const { openPostgresDatabase } = await import("./open-postgres-database.js");
  return openPostgresDatabase(config, target.url, onStatement, () => metrics.dbQueries.inc({ source: "background" }), logger);
}

/** A SQLite backend whose work is flagged as background while it runs (synchronously: no request interleaves). */
function inBackground(backend: SqlBackend, flag: (on: boolean) => void): SqlBackend {
  const flagged = <T>(run: () => Promise<T>): Promise<T> => {
    flag(true);
    try {
      return run();
    } finally {
      flag(false);
    }
  };
  return {
    dialect: backend.dialect,
    transaction: (work, options) => flagged(() => backend.transaction(work, options)),
    read: (work) => flagged(() => backend.read(work)),
  };
}
