import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { configFailure as failure } from "../support/config-failure.js";

describe("Redis configuration", () => {
  it("is off by default, with the default key prefix", () => {
    expect(loadConfig({})).toMatchObject({ redisUrl: undefined, redisPrefix: "incident-api:" });
    expect(loadConfig({ REDIS_URL: "" }).redisUrl).toBeUndefined();
  });

  it("accepts redis:// and rediss:// URLs and a prefix", () => {
    expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redisUrl).toBe("redis://127.0.0.1:6379");
    expect(loadConfig({ REDIS_URL: "rediss://user:secret@cache.internal:6380/2" }).redisUrl).toBe("rediss://user:secret@cache.internal:6380/2");
    expect(loadConfig({ REDIS_PREFIX: "staging:incidents:" }).redisPrefix).toBe("staging:incidents:");
  });

  it("names the variable when a value is bad", () => {
    for (const url of ["127.0.0.1:6379", "http://127.0.0.1:6379", "redis://"]) {
      expect(failure({ REDIS_URL: url }).variable).toBe("REDIS_URL");
    }
    for (const prefix of ["has space", "x".repeat(65), "new\nline"]) {
      expect(failure({ REDIS_PREFIX: prefix }).variable).toBe("REDIS_PREFIX");
    }
  });
});
