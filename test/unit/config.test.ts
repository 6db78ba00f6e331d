import { describe, expect, it } from "vitest";
import { loadConfig, parseDurationSeconds } from "../../src/config.js";
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

  it("parses durations", () => {
    expect(parseDurationSeconds("90")).toBe(90);
    expect(parseDurationSeconds("15m")).toBe(900);
    expect(parseDurationSeconds("7d")).toBe(604800);
    expect(parseDurationSeconds("0")).toBeUndefined();
  });
});
