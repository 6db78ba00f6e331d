import "./shared/v8-flags.js";
import "reflect-metadata";
import { existsSync } from "node:fs";
import { startApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./shared/logger.js";

if (existsSync(".env")) process.loadEnvFile(".env");

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`Invalid configuration: ${error.message}\n`);
  process.exit(1);
}

const listenErrors: Record<string, string> = {
  EADDRINUSE: "PORT: already in use",
  EACCES: "PORT: not allowed for this user",
  EADDRNOTAVAIL: "HOST: not an address of this machine",
  ENOTFOUND: "HOST: not a known host name",
  EAI_AGAIN: "HOST: could not be resolved",
};

const logger = createLogger(config.logLevel);
try {
  const app = await startApp(config, logger);
  logger.info({ url: app.url, env: config.env }, "Incident API ready");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code && listenErrors[code]) {
    // A bad HOST or PORT is a configuration error: one line, like the others.
    process.stderr.write(`Invalid configuration: ${listenErrors[code]} (${config.host}:${config.port}, ${code})\n`);
  } else {
    logger.fatal({ err: error }, "start-up failed");
  }
  process.exit(1);
}
