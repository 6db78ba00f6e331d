import { HeaderMap, type ApolloServer } from "@apollo/server";
import fastifyCors from "@fastify/cors";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Readable } from "node:stream";
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { RateLimitedError } from "../shared/errors.js";
import type { Metrics } from "../shared/metrics.js";
import type { UnsentAnswers } from "../shared/unsent-answers.js";
import type { ClientGate } from "./client-gate.js";
import type { InFlight } from "./in-flight.js";
import { registerExplorer } from "./explorer/explorer-routes.js";
import { requestIdFrom } from "./request-id.js";

export interface HttpDeps {
  apollo: ApolloServer<any>;
  metrics: Metrics;
  logger: Logger;
  corsOrigins: "*" | string[];
  /** Serve the self-hosted GraphiQL at /explorer (development only). */
  explorer: boolean;
  /** True once shutdown began: readiness fails and requests on kept-alive connections are turned away. */
  draining(): boolean;
  /** Resolves when the database answers; rejects or resolves false otherwise. */
  ready(): Promise<boolean>;
  context(req: IncomingMessage, requestId: string, log: Logger, client: string): Promise<object>;
  /** Who sent the request, for its fair share: the token's user, else the network address. */
  clientOf(req: IncomingMessage): Promise<string>;
  gate: ClientGate;
  /** Every route's handler is counted here while it runs: a stop waits for them (drain.ts). */
  inFlight: InFlight;
  /** Every GraphQL answer is counted here until the network has taken it. */
  unsent: UnsentAnswers;
  /** Runs one GraphQL request (PostgreSQL: in a lane of the pool of its own, db/request-lanes.ts). */
  inLane<T>(work: () => T): T;
  /** Further routes (the alert hooks), registered beside /graphql. */
  routes?: (app: FastifyInstance) => Promise<void>;
}

declare module "fastify" {
  interface FastifyRequest {
    /** This request's logger: every line carries the request id. */
    requestLog: Logger;
  }
}

const bodyLimit = 1024 * 1024;
const knownRoutes = new Set(["/graphql", "/healthz", "/readyz", "/metrics", "/hooks/alertmanager", "/v2/enqueue"]);
const jsonError = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });
const pathOf = (url: string) => {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
};
const searchOf = (url: string) => {
  const query = url.indexOf("?");
  return query < 0 ? "" : url.slice(query);
};

/**
 * The HTTP layer: Fastify on the given Node server (which also carries the WebSocket upgrades), with Apollo
 * mounted on /graphql. Request ids, access logs, metrics and JSON errors are the same on every route.
 */
export async function createHttpApp(deps: HttpDeps, server: Server): Promise<FastifyInstance> {
  const app = Fastify({
    serverFactory: (handler) => server.on("request", handler),
    bodyLimit,
    // Request ids are ours (sanitized, echoed in x-request-id); so are the logs (Fastify is given no logger).
    genReqId: (req) => requestIdFrom(req.headers["x-request-id"]),
    requestIdHeader: false,
    // Parsed like JSON.parse: variables are coerced by the schema, never merged into objects.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
    // Shutdown is main.ts's: Apollo drains the server, and `draining` turns kept-alive requests away.
    return503OnClosing: false,
    // As Express routed: `/healthz/` and `/HEALTHZ` are /healthz (probes are configured by hand).
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
    // Errors met before any hook runs (a path that cannot be decoded): the same JSON errors and request id.
    frameworkErrors: (error, request, reply) => {
      reply.header("x-request-id", request.id);
      sendError(error, reply, deps.logger.child({ requestId: request.id }));
    },
  });
  app.decorateRequest("requestLog", null as unknown as Logger);

  // Before any route is added: each one's handler is counted while it runs, its client connected or not.
  app.addHook("onRoute", (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      return deps.inFlight.track(() => handler.call(this, request, reply));
    };
  });

  app.addHook("onRequest", (request, reply, done) => {
    request.requestLog = deps.logger.child({ requestId: request.id });
    reply.header("x-request-id", request.id);
    if (deps.draining() && pathOf(request.url) !== "/healthz") {
      reply.header("connection", "close").code(503).send(jsonError("Server is shutting down", "SERVICE_UNAVAILABLE"));
      return;
    }
    done();
  });

  app.addHook("onResponse", (request, reply, done) => {
    const path = pathOf(request.url);
    const route = knownRoutes.has(path) ? path : "other";
    const status = reply.statusCode;
    deps.metrics.httpDuration.observe({ method: request.method, route, status: String(status) }, reply.elapsedTime / 1000);
    request.requestLog.info({ method: request.method, path, status, ms: Math.round(reply.elapsedTime * 10) / 10 }, "request");
    done();
  });

  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send(jsonError("Not found", "NOT_FOUND"));
  });

  // Set before the /graphql context is registered, which inherits it.
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, reply, request.requestLog));

  // JSON bodies only; any other body is read (within the limit) and left out, and Apollo answers for it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const unsupported = unsupportedEncoding(request);
    if (unsupported) {
      done(Object.assign(new Error(unsupported), { statusCode: 415 }), undefined);
      return;
    }
    try {
      done(null, (body as string).length === 0 ? undefined : JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error("Request body is not valid JSON"), { statusCode: 400, code: "INVALID_JSON" }), undefined);
    }
  });
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, _body, done) => done(null, undefined));

  app.get("/healthz", async () => ({ status: "ok" }));

  if (deps.explorer) registerExplorer(app);

  app.get("/readyz", async (_request, reply) => {
    const ready = await deps.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable" });
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.header("content-type", deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // CORS applies to /graphql alone: the plugin's hooks stay inside this context.
  await app.register(async (graphql) => {
    await graphql.register(fastifyCors, {
      origin: deps.corsOrigins === "*" ? "*" : deps.corsOrigins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["content-type", "authorization", "x-request-id", "apollo-require-preflight", "x-apollo-operation-name"],
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
      strictPreflight: false,
    });
    // Every method reaches Apollo, which answers 405 to those it does not serve; OPTIONS is answered by CORS.
    graphql.route({
      method: ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"],
      url: "/",
      handler: async (request, reply) => {
        try {
          const client = await deps.clientOf(request.raw);
          return await deps.gate.run(client, () => deps.inLane(() => executeGraphQL(deps, request, reply, client)));
        } catch (error) {
          if (!(error instanceof RateLimitedError)) throw error;
          return reply
            .code(429)
            .header("retry-after", String(error.retryAfterSeconds))
            .send({ errors: [{ message: error.message, extensions: { code: error.kind, retryAfter: error.retryAfterSeconds } }] });
        }
      },
    });
  }, { prefix: "/graphql" });
  await deps.routes?.(app);

  await app.ready();
  return app;
}

/** Bodies are read as UTF-8 JSON, not inflated: anything else is refused rather than misread. */
function unsupportedEncoding(request: FastifyRequest): string | undefined {
  const charset = /;\s*charset=("?)([^";]+)\1/i.exec(request.headers["content-type"] ?? "")?.[2]?.toLowerCase();
  if (charset && charset !== "utf-8" && charset !== "utf8") return `Unsupported charset: ${charset}`;
  const encoding = request.headers["content-encoding"]?.toLowerCase();
  if (encoding && encoding !== "identity") return `Unsupported content encoding: ${encoding}`;
  return undefined;
}

/**
 * Hands the request to Apollo and its answer back to Fastify. This is Apollo's Fastify integration, except that the
 * query string is taken from the request line alone: the integration builds a URL from the Host header, and a
 * missing or malformed Host made that throw (a 500 for a client's mistake).
 */
async function executeGraphQL(deps: HttpDeps, request: FastifyRequest, reply: FastifyReply, client: string) {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const response = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method.toUpperCase(), headers, search: searchOf(request.url), body: request.body },
    context: () => deps.context(request.raw, request.id, request.requestLog, client),
  });
  for (const [name, value] of response.headers) reply.header(name, value);
  reply.code(response.status ?? 200);
  if (response.body.kind !== "complete") return reply.send(Readable.from(response.body.asyncIterator));
  holdUntilSent(deps.unsent, request, reply, response.body.string);
  return response.body.string;
}

/**
 * Counts the answer until it has been handed to the kernel (the response's `close`) or its connection is gone. A
 * response pipelined behind another has no socket of its own yet, and one whose connection was cut while it
 * executed is already closed: the request's socket covers both.
 */
function holdUntilSent(unsent: UnsentAnswers, request: FastifyRequest, reply: FastifyReply, body: string) {
  const socket = request.raw.socket;
  if (socket.destroyed) return;
  const cut = () => {
    if (socket.destroyed) return;
    request.requestLog.warn("connection cut: its client was not reading its answers, and unsent answers passed their limit");
    // The answers pipelined behind it go with it: let go of them now, not at the socket's close, a turn later, while
    // the ledger would still count them and cut another connection for room they no longer take.
    for (const each of pendingOnSocket.get(socket) ?? []) each();
    socket.destroy();
  };
  // What is still to send: this answer's bytes not yet taken, with its socket's buffer once it has the socket.
  const release = unsent.hold(utf8Bytes(body), cut, () => reply.raw.writableLength);
  const forget = releaseWithSocket(socket, release);
  reply.raw.once("close", () => {
    forget();
    release();
  });
}

/**
 * An answer's bytes, for the ledger: below 1 MB its length in UTF-16 units (exact for the ASCII that nearly every
 * answer is; a third of its UTF-8 bytes at worst), above it exactly, where the bound matters and a scan costs little
 * next to the answer's own making.
 */
const utf8Bytes = (body: string) => (body.length < 1024 * 1024 ? body.length : Buffer.byteLength(body));

/** Releases still pending when a socket closes, with one listener per socket however many answers it pipelines. */
const pendingOnSocket = new WeakMap<Socket, Set<() => void>>();

function releaseWithSocket(socket: Socket, release: () => void): () => void {
  let pending = pendingOnSocket.get(socket);
  if (!pending) {
    const releases = new Set<() => void>();
    pendingOnSocket.set(socket, (pending = releases));
    socket.once("close", () => {
      pendingOnSocket.delete(socket);
      for (const each of releases) each();
    });
  }
  pending.add(release);
  return () => void pending.delete(release);
}

function sendError(error: FastifyError, reply: FastifyReply, log: Logger | null) {
  const status = typeof error?.statusCode === "number" ? error.statusCode : 500;
  if (status === 413) return reply.code(413).send(jsonError("Request body is larger than 1 MB", "PAYLOAD_TOO_LARGE"));
  if (error?.code === "INVALID_JSON") return reply.code(400).send(jsonError("Request body is not valid JSON", "BAD_REQUEST"));
  if (status >= 400 && status < 500) return reply.code(status).send(jsonError("Bad request", "BAD_REQUEST"));
  log?.error({ err: error }, "unhandled HTTP error");
  return reply.code(500).send(jsonError("Internal server error", "INTERNAL_SERVER_ERROR"));
}
