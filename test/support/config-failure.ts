import { ConfigError, loadConfig } from "../../src/config.js";

/** The ConfigError that `env` causes; fails the test when the environment is accepted. */
export function configFailure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}
