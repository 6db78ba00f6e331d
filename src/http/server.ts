import type { ApolloServer } from "@apollo/server";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express, { type ErrorRequestHandler, type Express, type Request } from "express";
import type { Logger } from "pino";
import type { Metrics } from "../shared/metrics.js";
import { requestIdFrom } from "./request-id.js";

export interface HttpDeps {
  apollo: ApolloServer<any>;
  metrics: Metrics;
  logger: Logger;
  corsOrigins: "*" | string[];
  /** True once shutdown began: readiness fails and requests on kept-alive connections are turned away. */
  draining(): boolean;
  /** Resolves when the database answers; rejects or resolves false otherwise. */
  ready(): Promise<boolean>;
  context(req: Request, requestId: string, log: Logger): Promise<object>;
}

declare module "express-serve-static-core" {
  interface Locals {
    requestId: string;
    log: Logger;
  }
}

const knownRoutes = new Set(["/graphql", "/healthz", "/readyz", "/metrics"]);
const jsonError = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use((req, res, next) => {
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    const log = deps.logger.child({ requestId });
    res.locals.requestId = requestId;
    res.locals.log = log;
    res.setHeader("x-request-id", requestId);
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = req.originalUrl.split("?")[0] ?? "";
      const route = knownRoutes.has(path) ? path : "other";
      deps.metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      log.info({ method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10 }, "request");
    });
    next();
  });

  app.use((req, res, next) => {
    if (!deps.draining() || req.path === "/healthz") return next();
    res.setHeader("connection", "close");
    res.status(503).json(jsonError("Server is shutting down", "SERVICE_UNAVAILABLE"));
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/readyz", async (_req, res) => {
    const ready = await deps.ready().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable" });
  });

  app.get("/metrics", async (_req, res) => {
    res.setHeader("content-type", deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });

  app.use(
    "/graphql",
    cors({
      origin: deps.corsOrigins === "*" ? "*" : deps.corsOrigins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["content-type", "authorization", "x-request-id", "apollo-require-preflight", "x-apollo-operation-name"],
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
    }),
    express.json({ limit: "1mb", strict: false }),
    (req, _res, next) => {
      // Apollo's integration insists that a body parser ran; GET and non-JSON requests have no body.
      req.body ??= undefined;
      next();
    },
    expressMiddleware(deps.apollo, {
      context: ({ req, res }) => deps.context(req, res.locals.requestId, res.locals.log),
    }),
  );

  app.use((_req, res) => {
    res.status(404).json(jsonError("Not found", "NOT_FOUND"));
  });

  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === "number" ? error.status : 500;
    if (status === 413) return void res.status(413).json(jsonError("Request body is larger than 1 MB", "PAYLOAD_TOO_LARGE"));
    if (error?.type === "entity.parse.failed") {
      return void res.status(400).json(jsonError("Request body is not valid JSON", "BAD_REQUEST"));
    }
    if (status >= 400 && status < 500) return void res.status(status).json(jsonError("Bad request", "BAD_REQUEST"));
    res.locals.log?.error({ err: error }, "unhandled HTTP error");
    res.status(500).json(jsonError("Internal server error", "INTERNAL_SERVER_ERROR"));
  };
  app.use(onError);
  return app;
}
