import { describe, expect, it } from "vitest";
import { loadConfig, parseByteSize, parseDurationSeconds } from "../../src/config.js";
import { configFailure as failure } from "../support/config-failure.js";

describe("configuration", () => {
  it("has the contract's defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: "127.0.0.1",
      database: { kind: "sqlite", path: "./data/incidents.db" },
      jwtSecret: undefined,
      jwtTtlSeconds: 3600,
      corsOrigins: "*",
      allowSignup: true,
      env: "development",
      logLevel: "info",
    });
  });

  it("accepts a bare path and a file: URL for SQLite", () => {
    expect(loadConfig({ DATABASE_URL: "/tmp/x.db" }).database).toEqual({ kind: "sqlite", path: "/tmp/x.db" });
    expect(loadConfig({ DATABASE_URL: "file:/tmp/y.db" }).database).toEqual({ kind: "sqlite", path: "/tmp/y.db" });
  });

  it.each([
    [{ PORT: "http" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ JWT_SECRET: "too-short" }, "JWT_SECRET"],
    [{ JWT_TTL: "forever" }, "JWT_TTL"],
    [{ ALLOW_SIGNUP: "maybe" }, "ALLOW_SIGNUP"],
    [{ NODE_ENV: "staging" }, "NODE_ENV"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ DATABASE_URL: "postgres://[bad" }, "DATABASE_URL"],
    [{ DB_POOL_SIZE: "0" }, "DB_POOL_SIZE"],
    [{ CORS_ORIGINS: "not a url" }, "CORS_ORIGINS"],
    [{ NODE_ENV: "production" }, "JWT_SECRET"],
    [{ RATE_LIMIT_POINTS: "-1" }, "RATE_LIMIT_POINTS"],
    [{ RATE_LIMIT_POINTS: "lots" }, "RATE_LIMIT_POINTS"],
    [{ COMPILED_QUERY_CACHE_BYTES: "huge" }, "COMPILED_QUERY_CACHE_BYTES"],
    [{ DOCUMENT_CACHE_BYTES: "0" }, "DOCUMENT_CACHE_BYTES"],
    [{ QUERY_RECURRENCE_WINDOW: "soon" }, "QUERY_RECURRENCE_WINDOW"],
    [{ MAX_CONCURRENT_REQUESTS_PER_CLIENT: "0" }, "MAX_CONCURRENT_REQUESTS_PER_CLIENT"],
  ])("names the variable at fault for %o", (env, variable) => {
    expect(failure(env).variable).toBe(variable);
  });

  it("accepts a PostgreSQL URL, with a pool of 10 connections unless DB_POOL_SIZE says otherwise", () => {
    const url = "postgres://app:secret@db.example.com:5432/incidents";
    expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ kind: "postgres", url });
    expect(loadConfig({ DATABASE_URL: "postgresql://localhost/x" }).database.kind).toBe("postgres");
    expect(loadConfig({ DATABASE_URL: url }).dbPoolSize).toBe(10);
    expect(loadConfig({ DATABASE_URL: url, DB_POOL_SIZE: "25" }).dbPoolSize).toBe(25);
  });

  it("turns production defaults strict", () => {
    const config = loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) });
    expect(config.production).toBe(true);
    expect(config.corsOrigins).toEqual([]);
  });

  it("has a cost budget of 5,000 points an hour in production, none in development unless RATE_LIMIT_POINTS is set", () => {
    const secret = { JWT_SECRET: "x".repeat(32) };
    expect(loadConfig({ NODE_ENV: "production", ...secret }).rateLimit).toEqual({ points: 5000, windowSeconds: 3600 });
    expect(loadConfig({ NODE_ENV: "production", RATE_LIMIT_POINTS: "0", ...secret }).rateLimit).toBeUndefined();
    expect(loadConfig({}).rateLimit).toBeUndefined();
    expect(loadConfig({ RATE_LIMIT_POINTS: "100", RATE_LIMIT_WINDOW: "10m" }).rateLimit).toEqual({ points: 100, windowSeconds: 600 });
  });

  it("bounds every cache in bytes, with defaults that fit a small heap", () => {
    const { caches } = loadConfig({});
    expect(caches.compiledQueryBytes + caches.documentBytes + caches.tokenBytes + 3 * caches.throttleBytes).toBeLessThanOrEqual(128 * 1024 * 1024);
    expect(loadConfig({ COMPILED_QUERY_CACHE_BYTES: "8MB", TOKEN_CACHE_BYTES: "512KB" }).caches).toMatchObject({
      compiledQueryBytes: 8 * 1024 * 1024,
      tokenBytes: 512 * 1024,
    });
  });

  it("parses sizes", () => {
    expect(parseByteSize("65536")).toBe(65536);
    expect(parseByteSize("512KB")).toBe(512 * 1024);
    expect(parseByteSize("64 MiB")).toBe(64 * 1024 * 1024);
    expect(parseByteSize("1gb")).toBe(1024 ** 3);
    expect(parseByteSize("0")).toBeUndefined();
    expect(parseByteSize("12 parsecs")).toBeUndefined();
  });

  it("parses durations", () => {
    expect(parseDurationSeconds("90")).toBe(90);
    expect(parseDurationSeconds("15m")).toBe(900);
    expect(parseDurationSeconds("7d")).toBe(604800);
    expect(parseDurationSeconds("0")).toBeUndefined();
  });
});
