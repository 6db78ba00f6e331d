import { z } from "zod";
import { defaultRetrySchedule } from "./modules/webhooks/retry-policy.js";

const durationPattern = /^(\d+)\s*(ms|s|m|h|d)?$/;
const unitSeconds: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses "90", "30s", "15m", "1h" or "7d" into whole seconds. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = durationPattern.exec(text.trim());
  if (!match) return undefined;
  const seconds = Math.floor(Number(match[1]) * unitSeconds[match[2] ?? "s"]!);
  return seconds > 0 ? seconds : undefined;
}

const sizePattern = /^(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const unitBytes: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Parses "65536", "512KB", "64MB" or "1GiB" into bytes (units are powers of 1024). */
export function parseByteSize(text: string): number | undefined {
  const match = sizePattern.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * unitBytes[(match[2] ?? "b").toLowerCase()]!;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** "5,60,300" -> [5, 60, 300]: seconds to wait before each retry; at most 20 retries, each at most a week. */
export function parseRetrySchedule(text: string): number[] | undefined {
  const parts = text.split(",").map((part) => part.trim());
  if (parts.length > 20 || !parts.every((part) => /^\d+(\.\d+)?$/.test(part))) return undefined;
  const seconds = parts.map(Number);
  return seconds.every((value) => value <= 7 * 86400) ? seconds : undefined;
}

const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((value) => parseByteSize(value) !== undefined, "must be a size such as 65536, 512KB, 64MB or 1GB")
    .transform((value) => parseByteSize(value)!);

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((value) => parseDurationSeconds(value) !== undefined, "must be a duration such as 900, 15m, 1h or 7d")
    .transform((value) => parseDurationSeconds(value)!);

const booleanText = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((value) => value === "true" || value === "1" || value === "yes");

const positiveInt = (fallback: number) =>
  z.coerce.number({ message: "must be a positive integer" }).int("must be a positive integer").positive("must be a positive integer").default(fallback);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"], { message: "must be development, production or test" }).default("development"),
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, "must be a port number from 0 to 65535")
    .transform(Number)
    .refine((port) => port <= 65535, "must be a port number from 0 to 65535")
    .default(4000),
  HOST: z.string().min(1, "must not be empty").default("127.0.0.1"),
  DATABASE_URL: z.string().min(1, "must not be empty").default("file:./data/incidents.db"),
  JWT_SECRET: z
    .string()
    .refine((value) => Buffer.byteLength(value, "utf8") >= 32, "must be at least 32 bytes")
    .optional(),
  JWT_TTL: z
    .string()
    .default("1h")
    .refine((value) => parseDurationSeconds(value) !== undefined, "must be a duration such as 900, 15m, 1h or 7d"),
  CORS_ORIGINS: z.string().optional(),
  ALLOW_SIGNUP: booleanText.optional().transform((value) => value ?? true),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  DB_BUSY_TIMEOUT_MS: positiveInt(5000),
  DB_POOL_SIZE: positiveInt(10),
  MAX_QUERY_DEPTH: positiveInt(12),
  MAX_ALIASES: positiveInt(50),
  MAX_DIRECTIVES: positiveInt(50),
  MAX_TOKENS: positiveInt(10_000),
  MAX_NODES: positiveInt(25_000),
  MAX_RESPONSE_BYTES: byteSize("24MB"),
  LOGIN_MAX_FAILURES: positiveInt(10),
  LOGIN_MAX_FAILURES_PER_ADDRESS: positiveInt(100),
  LOGIN_WINDOW: z
    .string()
    .default("15m")
    .refine((value) => parseDurationSeconds(value) !== undefined, "must be a duration such as 900, 15m or 1h"),
  RATE_LIMIT_POINTS: z.coerce
    .number({ message: "must be a whole number of points (0 turns the budget off)" })
    .int("must be a whole number of points (0 turns the budget off)")
    .min(0, "must be a whole number of points (0 turns the budget off)")
    .optional(),
  RATE_LIMIT_WINDOW: duration("1h"),
  REQUEST_HEADERS_TIMEOUT: duration("10s"),
  REQUEST_TIMEOUT: duration("30s"),
  MAX_CONCURRENT_REQUESTS_PER_CLIENT: positiveInt(2),
  MAX_QUEUED_REQUESTS_PER_CLIENT: positiveInt(64),
  COMPILED_QUERY_CACHE_BYTES: byteSize("48MB"),
  DOCUMENT_CACHE_BYTES: byteSize("24MB"),
  QUERY_RECURRENCE_WINDOW: duration("10m"),
  TOKEN_CACHE_BYTES: byteSize("4MB"),
  THROTTLE_CACHE_BYTES: byteSize("8MB"),
  STATEMENT_CACHE_BYTES: byteSize("8MB"),
  INGEST_RATE_LIMIT: positiveInt(600),
  REDIS_URL: z
    .string()
    .refine(
      (value) => /^rediss?:\/\//i.test(value) && URL.canParse(value) && new URL(value).hostname !== "",
      "must be a URL such as redis://127.0.0.1:6379 or rediss://user:password@host:6380/0",
    )
    .optional(),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .refine(
      (value) => parseRetrySchedule(value) !== undefined,
      "must be the seconds between attempts, comma-separated, such as 5,60,300,1800,7200,21600,43200",
    )
    .optional(),
  WEBHOOK_TIMEOUT: duration("10s"),
  WEBHOOK_RETENTION: duration("30d"),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, "must be 1-64 characters of letters, digits, ':', '_', '.' or '-'")
    .default("incident-api:"),
});

export type DatabaseTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export interface Config {
  env: "development" | "production" | "test";
  production: boolean;
  port: number;
  host: string;
  database: DatabaseTarget;
  /** Undefined means: generate one (SQLite: kept beside the database file; PostgreSQL: per process); never in production. */
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  /** `"*"` allows any origin; an empty list allows none. */
  corsOrigins: "*" | string[];
  allowSignup: boolean;
  logLevel: string;
  dbBusyTimeoutMs: number;
  /** PostgreSQL: connections in the pool at most. */
  dbPoolSize: number;
  /** Set: events fan out and login failures are counted through this Redis, shared by every instance. */
  redisUrl: string | undefined;
  /** Prepended to every Redis key and channel, so that several deployments (or test runs) can share one Redis. */
  redisPrefix: string;
  webhooks: {
    /** Seconds before each retry; once they are used up, a delivery is FAILED. */
    retrySchedule: number[];
    /** Bounds each attempt, connection included. */
    timeoutMs: number;
    /** Delivered and failed deliveries are kept this long, then deleted. */
    retentionMs: number;
  };
  /** Per-client cost budget (GitHub's model); undefined: no budget. */
  rateLimit: { points: number; windowSeconds: number } | undefined;
  /** Fair share of the event loop: requests of one client executing at once, and waiting behind those. */
  fairness: { concurrent: number; queued: number };
  /**
   * How long a connection may take to send a request's line and headers (and, when it sends nothing, to send its
   * first byte), and its whole request, body included. Not the answer: a slow query is not cut short.
   */
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
  /** Every in-process cache, bounded by an estimate of the heap (or native memory) it holds. */
  caches: {
    compiledQueryBytes: number;
    documentBytes: number;
    /** A document is compiled (and kept parsed) only once it is seen again within this window. */
    recurrenceWindowMs: number;
    tokenBytes: number;
    /** Each throttle's map (failed logins by email, by address; rate-limit budgets) within this. */
    throttleBytes: number;
    /** Prepared statements of each repository. */
    statementBytes: number;
  };
  limits: {
    depth: number;
    aliases: number;
    directives: number;
    tokens: number;
    nodes: number;
    /** Bytes of JSON one answer's data may hold; past it the answer is QUERY_TOO_COMPLEX instead. */
    responseBytes: number;
    loginFailures: number;
    loginFailuresPerAddress: number;
    loginWindowSeconds: number;
    /** Requests each alert integration may send a minute. */
    ingestPerMinute: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

export function parseDatabaseUrl(url: string): DatabaseTarget | undefined {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: "postgres", url };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  const path = url.startsWith("file:") ? url.slice("file:".length) : url;
  return path.length > 0 ? { kind: "sqlite", path } : undefined;
}

function parseCorsOrigins(raw: string | undefined, production: boolean): "*" | string[] {
  if (raw === undefined) return production ? [] : "*";
  const origins = raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.includes("*")) return "*";
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError("CORS_ORIGINS", `"${origin}" is not an origin such as https://app.example.com`);
    }
    if (parsed.origin !== origin.replace(/\/$/, "")) {
      throw new ConfigError("CORS_ORIGINS", `"${origin}" is not an origin such as https://app.example.com`);
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ""));
}

const rateLimitOf = (points: number, windowSeconds: number) => (points > 0 ? { points, windowSeconds } : undefined);

/** Parses the environment once; every other module receives the result. Throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? "environment"), issue.message);
  }
  const values = result.data;
  const production = values.NODE_ENV === "production";
  const database = parseDatabaseUrl(values.DATABASE_URL);
  if (!database) throw new ConfigError("DATABASE_URL", "must be file:PATH, a file path, or postgres://...");
  if (database.kind === "postgres" && !URL.canParse(database.url)) {
    throw new ConfigError("DATABASE_URL", "must be a URL such as postgres://user@host:5432/database");
  }
  if (production && !values.JWT_SECRET) throw new ConfigError("JWT_SECRET", "is required when NODE_ENV=production");
  return {
    env: values.NODE_ENV,
    production,
    port: values.PORT,
    host: values.HOST,
    database,
    jwtSecret: values.JWT_SECRET,
    jwtTtlSeconds: parseDurationSeconds(values.JWT_TTL)!,
    corsOrigins: parseCorsOrigins(values.CORS_ORIGINS, production),
    allowSignup: values.ALLOW_SIGNUP,
    logLevel: values.LOG_LEVEL,
    dbBusyTimeoutMs: values.DB_BUSY_TIMEOUT_MS,
    dbPoolSize: values.DB_POOL_SIZE,
    redisUrl: values.REDIS_URL,
    redisPrefix: values.REDIS_PREFIX,
    webhooks: {
      retrySchedule: values.WEBHOOK_RETRY_SCHEDULE === undefined ? [...defaultRetrySchedule] : parseRetrySchedule(values.WEBHOOK_RETRY_SCHEDULE)!,
      timeoutMs: values.WEBHOOK_TIMEOUT * 1000,
      retentionMs: values.WEBHOOK_RETENTION * 1000,
    },
    // GitHub's default budget in production, none in development unless asked for: benchmarks and local tools run free.
    rateLimit: rateLimitOf(values.RATE_LIMIT_POINTS ?? (production ? 5000 : 0), values.RATE_LIMIT_WINDOW),
    fairness: { concurrent: values.MAX_CONCURRENT_REQUESTS_PER_CLIENT, queued: values.MAX_QUEUED_REQUESTS_PER_CLIENT },
    http: { headersTimeoutMs: values.REQUEST_HEADERS_TIMEOUT * 1000, requestTimeoutMs: values.REQUEST_TIMEOUT * 1000 },
    caches: {
      compiledQueryBytes: values.COMPILED_QUERY_CACHE_BYTES,
      documentBytes: values.DOCUMENT_CACHE_BYTES,
      recurrenceWindowMs: values.QUERY_RECURRENCE_WINDOW * 1000,
      tokenBytes: values.TOKEN_CACHE_BYTES,
      throttleBytes: values.THROTTLE_CACHE_BYTES,
      statementBytes: values.STATEMENT_CACHE_BYTES,
    },
    limits: {
      depth: values.MAX_QUERY_DEPTH,
      aliases: values.MAX_ALIASES,
      directives: values.MAX_DIRECTIVES,
      tokens: values.MAX_TOKENS,
      nodes: values.MAX_NODES,
      responseBytes: values.MAX_RESPONSE_BYTES,
      loginFailures: values.LOGIN_MAX_FAILURES,
      loginFailuresPerAddress: values.LOGIN_MAX_FAILURES_PER_ADDRESS,
      loginWindowSeconds: parseDurationSeconds(values.LOGIN_WINDOW)!,
      ingestPerMinute: values.INGEST_RATE_LIMIT,
    },
  };
}
