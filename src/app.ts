import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createLoginThrottle } from "./auth/login-throttle.js";
import { createPasswordHasher } from "./auth/password.js";
import { createTokenService, type TokenClaims } from "./auth/tokens.js";
import { viewerResolver } from "./auth/viewer.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/open-database.js";
import { inLane } from "./db/request-lanes.js";
import { bearerToken } from "./http/bearer.js";
import { documentLimitRules } from "./graphql/document-limits.js";
import { createDocumentCache, documentStore } from "./graphql/document-store.js";
import { firstErrorOnlyPlugin } from "./graphql/first-error-only.js";
import { createCompiledQueryCache, jitExecution } from "./graphql/jit-executor.js";
import { queryCostPlugin } from "./graphql/query-cost.js";
import { timeSlicingPlugin } from "./graphql/time-slicing-plugin.js";
import { subscriptionsOverHttpPlugin } from "./graphql/subscriptions-over-http.js";
import { unstorableInputPlugin } from "./graphql/unstorable-input.js";
import { createClientGate } from "./http/client-gate.js";
import { createTimedServer } from "./http/connection-timeouts.js";
import { createFairShareLimit } from "./shared/concurrency-limit.js";
import { httpDrainPlugin } from "./http/drain.js";
import { createInFlight } from "./http/in-flight.js";
import { withExplorerLink } from "./http/explorer/landing-page-link.js";
import { createHttpApp } from "./http/server.js";
import { IncidentService } from "./modules/incidents/incident.service.js";
import { InsightService } from "./modules/insights/insight.service.js";
import { alertHooks } from "./modules/alerts/alert-hooks.js";
import { AlertIntakeService } from "./modules/alerts/alert-intake.service.js";
import { AlertService } from "./modules/alerts/alert.service.js";
import { ingestRateLimit } from "./modules/alerts/ingest-rate-limit.js";
import { IntegrationService } from "./modules/alerts/integration.service.js";
import { ServiceService } from "./modules/services/service.service.js";
import { IntelligenceService } from "./modules/intelligence/intelligence.service.js";
import { UserService } from "./modules/users/user.service.js";
import { createEventBus } from "./realtime/event-bus.js";
import { incidentEventPublisher } from "./realtime/incident-event-publisher.js";
import { startSubscriptionServer } from "./realtime/ws-server.js";
import { buildAppSchema } from "./schema/build-schema.js";
import type { GraphQLContext } from "./shared/context.js";
import { createCursorCodec } from "./shared/cursor.js";
import { classifyError, formatError } from "./shared/error-format.js";
import { createLoaders } from "./shared/loaders.js";
import { createTimeSlicer } from "./shared/time-slicer.js";
import { createLogger } from "./shared/logger.js";
import { createMetrics, type Metrics } from "./shared/metrics.js";
import { createRedisWindowCounter } from "./shared/redis-window-counter.js";
import { createMemoryWindowCounter, type WindowCounter } from "./shared/window-counter.js";
import { createWebhookDispatcher } from "./modules/webhooks/webhook-dispatcher.js";
import { createWebhookSender } from "./modules/webhooks/webhook-sender.js";
import { WebhookService } from "./modules/webhooks/webhook.service.js";
import { afterEachEvent } from "./modules/webhooks/after-each-event.js";

/**
 * Unsent answers, at most, in MAX_RESPONSE_BYTES: eight answers at the limit (192 MB by default) in flight to readers
 * that are slow to take them, before the slowest are cut.
 */
const unsentAnswersPerResponse = 8;

/** Alert requests waiting for an ingest slot, at most; each holds its parsed body (up to 1 MB of JSON) meanwhile. */
const ingestQueue = 16;
/** Of those, one integration's at most: half, so that a flood from one key leaves room for the others' requests. */
const ingestQueuePerIntegration = 8;

/**
 * One slot is kept from any single integration (when there are two or more): another service's request starts at
 * once instead of waiting for a flood's large transaction to end (5 s at worst in the review's run without it).
 */
const ingestSlots = (total: number) =>
  createFairShareLimit({
    total,
    perKey: Math.max(1, total - 1),
    queuedPerKey: ingestQueuePerIntegration,
    queuedTotal: ingestQueue,
  });

export interface RunningApp {
  url: string;
  port: number;
  metrics: Metrics;
  httpServer: Server;
  /** Stops accepting requests, lets those in flight finish, then closes the database. */
  close(): Promise<void>;
}

function observabilityPlugin(metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const classified = classifyError(error);
            if (classified.kind === "internal") contextValue.log?.error({ err: classified.error }, "internal error");
          }
        },
        async willSendResponse({ operation, response }) {
          const failed = response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ operation: operation?.operation ?? "unknown", outcome: failed ? "error" : "ok" });
        },
      };
    },
  };
}

/** The composition root: database -> repositories -> services -> schema -> HTTP. */
export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningApp> {
  const metrics = createMetrics();
  // SQLite or PostgreSQL, from DATABASE_URL; nothing below knows which.
  const database = await openDatabase(config, metrics, logger);
  // REDIS_URL: events, login failures and spent points are shared by every instance through it; otherwise all
  // stay in this process. Loaded only when configured: without REDIS_URL the server does not carry ioredis.
  const redis = config.redisUrl
    ? (await import("./realtime/redis.js")).connectRedis({ url: config.redisUrl, prefix: config.redisPrefix, logger })
    : undefined;
  const windowCounter = (name: string, windowSeconds: number): WindowCounter => {
    if (redis) return createRedisWindowCounter({ redis: redis.commands, keyPrefix: `${redis.prefix}${name}:`, windowMs: windowSeconds * 1000 });
    const counter = createMemoryWindowCounter({ windowMs: windowSeconds * 1000, maxBytes: config.caches.throttleBytes });
    metrics.watchCache(name, counter.cache);
    return counter;
  };
  const loginThrottle = (kind: "email" | "address", maxFailures: number) =>
    createLoginThrottle({ failures: windowCounter(`login:${kind}`, config.limits.loginWindowSeconds), maxFailures });
  try {
    const secret = config.jwtSecret ?? (await database.developmentJwtSecret());
    const tokens = createTokenService(secret, config.jwtTtlSeconds, config.caches.tokenBytes);
    metrics.watchCache("tokens", tokens.cache);
    const { compiledQueryBytes, documentBytes, recurrenceWindowMs } = config.caches;
    const compiledQueries = createCompiledQueryCache({ maxBytes: compiledQueryBytes, recurrenceWindowMs });
    const documents = createDocumentCache(documentBytes, recurrenceWindowMs);
    metrics.watchCache("compiled_queries", compiledQueries);
    metrics.watchCache("documents", documents);
    const cursors = createCursorCodec(secret);
    const { users, incidents, services, alerts, intelligence, insights, webhooks } = database;
    const loaderSources = { users, incidents, services, alerts, insights, webhooks };
    const userService = new UserService({
      users,
      hasher: createPasswordHasher(),
      tokens,
      cursors,
      throttle: loginThrottle("email", config.limits.loginFailures),
      addressThrottle: loginThrottle("address", config.limits.loginFailuresPerAddress),
      allowSignup: config.allowSignup,
    });
    const events = createEventBus({ eventTarget: redis?.eventTarget() });
    // Webhooks: the outbox rows are written by the repositories in each change's transaction; the dispatcher
    // sends them, and is woken after each commit that wrote one (and polls, for those other instances wrote).
    const dispatcher = createWebhookDispatcher({
      repository: database.backgroundWebhooks,
      sender: createWebhookSender({ production: config.production, timeoutMs: config.webhooks.timeoutMs }),
      schedule: config.webhooks.retrySchedule,
      timeoutMs: config.webhooks.timeoutMs,
      retentionMs: config.webhooks.retentionMs,
      metrics,
      logger,
    });
    metrics.watchWebhookBacklog(() => database.backgroundWebhooks.oldestPending());
    const publisher = afterEachEvent(incidentEventPublisher(events, logger), () => {
      if (database.outbox.takeWritten()) dispatcher.nudge();
    });
    const incidentService = new IncidentService({ incidents, cursors, events: publisher });
    const insightService = new InsightService({ insights, incidents, incidentService, events: publisher });
    const integrationService = new IntegrationService(alerts);
    const schema = await buildAppSchema({
      users: userService,
      incidents: incidentService,
      services: new ServiceService({ services, cursors }),
      integrations: integrationService,
      alerts: new AlertService(cursors),
      intelligence: new IntelligenceService({ intelligence, criteria: (filter) => incidentService.criteria(filter) }),
      insights: insightService,
      webhooks: new WebhookService({ webhooks: database.webhooks, cursors, production: config.production, nudge: dispatcher.nudge }),
      events,
    });
    // Alert hooks: each integration's requests a minute, shared by every instance through Redis when there is one.
    const intake = new AlertIntakeService({
      integrations: integrationService,
      alerts,
      rateLimit: ingestRateLimit(windowCounter("ingest", 60), config.limits.ingestPerMinute),
      // Half the pool at most: the other half stays for everyone else's requests. Fair between integrations.
      slots: ingestSlots(Math.max(1, Math.floor(config.dbPoolSize / 2))),
      events: publisher,
      metrics,
      logger,
    });

    const httpServer = createTimedServer(config.http);
    const handlers = createInFlight();
    // One budget per client for both transports: a subscribe costs what the same selection costs over HTTP.
    const budget = config.rateLimit && { spent: windowCounter("points", config.rateLimit.windowSeconds), points: config.rateLimit.points };
    // Shared by HTTP requests and subscription events: one rotation of clients on one event loop.
    const slicer = createTimeSlicer();
    // Answers are held to MAX_RESPONSE_BYTES each; this bounds the sum that clients which stop reading leave behind.
    const unsent = metrics.unsentAnswers(unsentAnswersPerResponse * config.limits.responseBytes);
    const subscriptions = startSubscriptionServer({
      httpServer,
      path: "/graphql",
      schema,
      tokens,
      findUsers: (ids) => users.findByIds(ids),
      createLoaders: (pause) => createLoaders({ ...loaderSources, pause }),
      slicer,
      limits: config.limits,
      maxResponseBytes: config.limits.responseBytes,
      unsent,
      documents,
      budget,
      logger,
      metrics,
      production: config.production,
    });
    // The schema, executed by graphql-jit for queries that recur, by graphql-js for the rest.
    const jit = jitExecution(schema, compiledQueries, config.limits.responseBytes);
    const apollo = new ApolloServer<GraphQLContext>({
      gateway: jit.gateway,
      documentStore: documentStore(documents),
      introspection: !config.production,
      includeStacktraceInErrorResponses: false,
      // main.ts owns the signals: it stops everything in order, database last.
      stopOnTerminationSignals: false,
      hideSchemaDetailsFromClientErrors: config.production,
      allowBatchedHttpRequests: false,
      // Automatic persisted queries are not offered: no cache for clients to fill, one less input to validate.
      persistedQueries: false,
      parseOptions: { maxTokens: config.limits.tokens },
      validationRules: documentLimitRules(config.limits),
      // A request with an Authorization header cannot be sent cross-site without a CORS preflight.
      csrfPrevention: { requestHeaders: ["x-apollo-operation-name", "apollo-require-preflight", "authorization"] },
      formatError,
      plugins: [
        // First: Apollo asks each plugin in turn for a response to the operation, and only this one gives any. Every
        // plugin has seen the operation by then (didResolveOperation), whatever the order.
        jit.plugin,
        ApolloServerPluginCacheControlDisabled(),
        httpDrainPlugin(httpServer, handlers),
        // Closes the WebSocket connections while Apollo drains HTTP, before close() closes the database.
        subscriptions.plugin,
        config.production
          ? ApolloServerPluginLandingPageDisabled()
          : withExplorerLink(ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })),
        queryCostPlugin(config.limits.nodes, budget),
        ...(config.production ? [firstErrorOnlyPlugin()] : []),
        timeSlicingPlugin(),
        subscriptionsOverHttpPlugin(),
        unstorableInputPlugin(),
        observabilityPlugin(metrics),
      ],
    });
    await apollo.start();

    // The request's token, verified once: the per-client gate reads it first, the viewer later.
    const verified = new WeakMap<IncomingMessage, Promise<TokenClaims | undefined>>();
    const claimsOf = (req: IncomingMessage) => {
      let claims = verified.get(req);
      if (!claims) {
        const token = bearerToken(req.headers.authorization);
        claims = token ? tokens.verify(token) : Promise.resolve(undefined);
        verified.set(req, claims);
      }
      return claims;
    };
    let closing: Promise<void> | undefined;
    let draining = false;
    await createHttpApp({
      draining: () => draining,
      apollo,
      metrics,
      logger,
      corsOrigins: config.corsOrigins,
      inFlight: handlers,
      gate: createClientGate(config.fairness.concurrent, config.fairness.queued, slicer),
      unsent,
      // A quarter of the pool per request: one document's sibling fields cannot take every connection.
      inLane: database.kind === "postgres" ? (work) => inLane(Math.max(1, Math.floor(config.dbPoolSize / 4)), work) : (work) => work(),
      clientOf: async (req) => {
        const claims = await claimsOf(req);
        return claims ? `user:${claims.userId}` : `address:${req.socket.remoteAddress ?? "unknown"}`;
      },
      explorer: !config.production,
      routes: alertHooks(intake),
      ready: async () => (await database.ready()) && (redis ? await redis.ready() : true),
      context: async (req, requestId, log, client): Promise<GraphQLContext> => {
        const pause = slicer.forRequest(client);
        const loaders = createLoaders({ ...loaderSources, pause });
        return {
          pause,
          requestId,
          log,
          loaders,
          clientAddress: req.socket.remoteAddress,
          client,
          viewer: viewerResolver(bearerToken(req.headers.authorization) !== undefined, () => claimsOf(req), loaders),
        };
      },
    }, httpServer);
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
    dispatcher.start();
    const { port } = httpServer.address() as AddressInfo;
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;

    return {
      url: `http://${host}:${port}/graphql`,
      port,
      metrics,
      httpServer,
      close: () =>
        (closing ??= (async () => {
          draining = true;
          // Stops accepting connections, lets requests in flight finish, then the database closes last. Webhook
          // attempts in flight finish meanwhile, or go back to the outbox untried.
          await Promise.all([apollo.stop(), dispatcher.stop()]);
          await subscriptions.dispose(); // already done by the plugin when Apollo drained; idempotent
          await redis?.close();
          await database.close();
        })()),
    };
  } catch (error) {
    await redis?.close();
    await database.close();
    throw error;
  }
}
