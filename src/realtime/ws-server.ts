import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Gauge } from "prom-client";
import { WebSocketServer, type WebSocket } from "ws";
import type { TokenService } from "../auth/tokens.js";
import type { DocumentLimits } from "../graphql/document-limits.js";
import { requestIdFrom } from "../http/request-id.js";
import type { UserRow } from "../modules/users/user.table.js";
import type { GraphQLContext } from "../shared/context.js";
import { classifyError, formatError } from "../shared/error-format.js";
import type { Loaders } from "../shared/loaders.js";
import type { Metrics } from "../shared/metrics.js";
import type { UnsentAnswers } from "../shared/unsent-answers.js";
import type { ByteBudgetCache } from "../shared/byte-budget-cache.js";
import type { Pause, TimeSlicer } from "../shared/time-slicer.js";
import { createConnectionWatchdog, type WatchedConnection } from "./connection-watchdog.js";
import { jsonBytes, jsonLength } from "../graphql/response-size.js";
import { eventWithinResponseSize } from "./oversized-event.js";
import { boundSocketOutput } from "./socket-output.js";
import { createTurns, type TakeTurn } from "./connection-turns.js";
import { createConnectionCount, createSubscriptionCount } from "./per-user-counts.js";
import { subscribePerEvent } from "./per-event-execution.js";
import { authenticateConnection, CloseCode, subscriberRefusal, type Refusal } from "./subscriber-auth.js";
import { requestCost, type CostBudget } from "../graphql/query-cost.js";
import { RateLimitedError } from "../shared/errors.js";
import { requestError, subscriptionDocumentChecker, withCode, type CheckedSubscription, type SubscribePayload } from "./subscription-document.js";

export interface SubscriptionServerOptions {
  httpServer: Server;
  /** Same path as HTTP GraphQL: WebSocket upgrades to any other path are refused. */
  path: string;
  schema: GraphQLSchema;
  tokens: TokenService;
  findUsers(ids: readonly number[]): Promise<UserRow[]>;
  /** Each event's loaders, which call `pause` before each batch. */
  createLoaders(pause?: Pause): Loaders;
  /**
   * The HTTP requests' time slicer: each event is executed in the rotation of its user's client. Without it, a burst
   * of events (an incident resolved with thousands of firing alerts) ran for every subscriber back to back on
   * microtasks, and the event loop served nothing else until all of them were sent.
   */
  slicer?: TimeSlicer;
  limits: DocumentLimits;
  /** The per-client cost budget HTTP requests are charged to: a subscribe is charged to its user's too. */
  budget?: CostBudget;
  logger: Logger;
  metrics?: Metrics;
  production: boolean;
  /** How often open connections re-read their user (deactivation, signOutEverywhere). */
  recheckIntervalMs?: number;
  maxSubscriptionsPerConnection?: number;
  /** Open connections one user may hold (default 100): each costs a socket, a file descriptor and about 30 KB. */
  maxConnectionsPerUser?: number;
  /**
   * Subscriptions one user may hold over all their connections (default 200). Every event is executed once per
   * subscription: 100 connections of 50 made one alert request cost 39 s of CPU.
   */
  maxSubscriptionsPerUser?: number;
  /** Largest message a client may send, like the HTTP body limit. */
  maxPayloadBytes?: number;
  /**
   * MAX_RESPONSE_BYTES, as over HTTP: an event whose data would pass it is sent as QUERY_TOO_COMPLEX with no data.
   * A subscription is checked for nodes when subscribed, but the bytes of an event cannot be known before it runs.
   */
  maxResponseBytes?: number;
  /**
   * Each event's message is counted here until written to the socket; a connection whose message is cut to make
   * room (its client was not reading) is terminated.
   */
  unsent?: UnsentAnswers;
  /** Apollo's store of parsed and validated documents: recurring subscription documents are kept there too. */
  documents?: ByteBudgetCache<DocumentNode>;
}

export interface SubscriptionServer {
  /** Add to ApolloServer's plugins: Apollo's stop() then closes every socket while it drains. */
  plugin: ApolloServerPlugin;
  /** Closes every socket (1001 Going away) and waits until they are closed. Idempotent. */
  dispose(): Promise<void>;
}

interface Subscriber extends WatchedConnection {
  /** True once the socket closed or is closing: no event may be executed for it any more. */
  readonly closed: boolean;
  /** The id of the upgrade request (the caller's x-request-id when it sent one). */
  readonly requestId: string;
  readonly log: Logger;
  /** The socket has closed: stop watching it. */
  detach(): void;
  /** Events of the connection's subscriptions are executed and sent one at a time (connection-turns.ts). */
  readonly takeTurn: TakeTurn;
  /** Drops the connection and what it has not sent, at once: its client is not reading. `why` is logged. */
  cut(why: string): void;
  /** Bytes written to the connection that the network has not taken yet. */
  readonly unsent: number;
  /** Counts a subscribe message in preparation until the returned function is called (see `subscribesInFlight`). */
  preparing(): () => void;
}

/** The context of a subscription operation: what each event's own context is derived from. */
interface OperationContext extends GraphQLContext {
  subscriber: Subscriber;
  /** Gives back the subscription's place in its user's count; idempotent. */
  release(): void;
}

type ConnectionExtra = { subscriber: Subscriber };

/**
 * Subscribe messages of one connection in preparation at once, at most; past it the socket is not read until one is
 * done. A client sending subscribe and complete in a loop (50,000 pairs) held the loop for 4 s and took 400 MB.
 */
const subscribesInFlight = 4;

/**
 * graphql-ws answers a ping with a pong that repeats its payload, at once and whoever sent it (before
 * connection_init too): a client that sent 1 MB pings and read nothing took the server from 151 MB to 1.2 GB with one
 * socket. Pings are for liveness: a payload past this is refused (4400). Pongs left unread are bounded with the other
 * replies (socket-output.ts).
 */
export const maxPingPayloadBytes = 1024;

const eventsCut = "subscription connection cut: its client was not reading its events, and unsent answers passed their limit";

/**
 * GraphQL subscriptions over the graphql-ws protocol, on the HTTP server's port and path. A connection must
 * authenticate in connection_init; it is closed (4401) when its token expires or is revoked or its user is
 * deactivated, and (1013) when it falls too far behind its events.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { schema, logger } = options;
  const maxSubscriptions = options.maxSubscriptionsPerConnection ?? 50;
  const connections = createConnectionCount(options.maxConnectionsPerUser ?? 100);
  const userSubscriptions = createSubscriptionCount(options.maxSubscriptionsPerUser ?? 200);
  const maxResponseBytes = options.maxResponseBytes ?? Number.POSITIVE_INFINITY;
  const checkDocument = subscriptionDocumentChecker(schema, options.limits, options.production, options.documents);
  const watchdog = createConnectionWatchdog({
    findUsers: options.findUsers,
    intervalMs: options.recheckIntervalMs ?? 3_000,
    log: logger,
  });
  // Not bound to the HTTP server (`noServer`): a listen error stays the HTTP server's to report, instead of
  // being re-emitted here, where graphql-ws would print it as an internal WebSocket error.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 1024 * 1024 });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? "/", "http://localhost").pathname !== options.path) {
      socket.destroy();
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (client) => wsServer.emit("connection", client, request));
  };
  options.httpServer.on("upgrade", onUpgrade);
  // The subscriber of each authenticated connection, for cuts that start from the socket.
  const subscribers = new WeakMap<WebSocket, Subscriber>();
  boundSocketOutput(wsServer, {
    unsent: options.unsent,
    cut(socket, why) {
      const subscriber = subscribers.get(socket);
      if (subscriber) return subscriber.cut(why);
      logger.warn({ transport: "ws" }, why);
      socket.terminate();
    },
  });

  // The upgrade response carries a request id like every HTTP response; the connection's log lines carry it too.
  const connectionIds = new WeakMap<IncomingMessage, string>();
  wsServer.on("headers", (headers, request) => {
    const requestId = requestIdFrom(request.headers["x-request-id"]);
    connectionIds.set(request, requestId);
    headers.push(`x-request-id: ${requestId}`);
  });

  const subscriberFor = (
    socket: WebSocket,
    requestId: string,
    log: Logger,
    identity: WatchedConnection["identity"],
  ): Subscriber => {
    let closed = false;
    let unwatch = () => {};
    let inFlight = 0;
    const subscriber: Subscriber = {
      identity,
      requestId,
      log,
      takeTurn: createTurns(),
      get closed() {
        return closed;
      },
      get unsent() {
        return socket.bufferedAmount;
      },
      close(refusal: Refusal) {
        if (closed) return;
        subscriber.detach();
        log.info({ code: refusal.code, reason: refusal.reason }, "subscription connection closed");
        socket.close(refusal.code, refusal.reason);
      },
      detach() {
        closed = true;
        unwatch();
      },
      preparing() {
        inFlight += 1;
        if (inFlight === subscribesInFlight) socket.pause();
        let done = false;
        return () => {
          if (done) return;
          done = true;
          inFlight -= 1;
          if (inFlight === subscribesInFlight - 1) socket.resume();
        };
      },
      cut(why) {
        // close() would queue its frame behind the unsent message and wait for a reader that never comes.
        subscriber.detach();
        log.warn(why);
        socket.terminate();
      },
    };
    subscribers.set(socket, subscriber);
    unwatch = watchdog.watch(subscriber);
    return subscriber;
  };

  // Event executions under way; dispose() waits for them, so that none reads a database already closed.
  const executions = new Set<Promise<unknown>>();
  const track = (execution: Promise<unknown>) => {
    executions.add(execution);
    const forget = () => executions.delete(execution);
    execution.then(forget, forget);
  };

  /** Each event (and each operation) gets fresh loaders; the subscriber is re-checked with them first. */
  const contextFor = async (subscriber: Subscriber, requestId: string, log: Logger): Promise<GraphQLContext | undefined> => {
    if (subscriber.closed) return undefined;
    const pause = options.slicer?.forRequest(`user:${subscriber.identity.userId}`);
    await pause?.();
    if (subscriber.closed) return undefined;
    const loaders = options.createLoaders(pause);
    const user = await loaders.userById.load(subscriber.identity.userId);
    const refusal = subscriberRefusal(subscriber.identity, user, Date.now());
    if (refusal) {
      subscriber.close(refusal);
      return undefined;
    }
    // A byte budget of its own, as an HTTP request has: fields that build large values (alert labels) are charged
    // to it while they resolve, and stop at the limit rather than build a result of hundreds of megabytes.
    return { requestId, log, loaders, pause, viewer: async () => user!, responseBytes: { used: 0, max: maxResponseBytes } };
  };

  const formatErrors = (errors: readonly GraphQLError[], log: Logger) =>
    errors.map((error) => {
      const classified = classifyError(error);
      if (classified.kind === "internal") log.error({ err: classified.error }, "internal error");
      return formatError(error.toJSON(), error);
    });

  const count = (outcome: "ok" | "error") => options.metrics?.graphqlOperations.inc({ operation: "subscription", outcome });
  const active =
    options.metrics &&
    new Gauge({
      name: "graphql_subscriptions_active",
      help: "Subscriptions currently listening for events",
      registers: [options.metrics.registry],
    });

  /** The subscribe's cost, charged to its user's budget (shared with HTTP); the refusal when it is spent. */
  const charge = async (subscriber: Subscriber, nodes: number): Promise<GraphQLError | undefined> => {
    const budget = options.budget;
    if (!budget) return undefined;
    const spent = await budget.spent.add(`user:${subscriber.identity.userId}`, requestCost(nodes));
    if (spent.count <= budget.points) return undefined;
    const retryAfter = Math.max(1, Math.ceil((spent.resetAt - Date.now()) / 1000));
    const error = new RateLimitedError(retryAfter, "Rate limit exceeded: this subscription costs more points than are left in the window");
    return new GraphQLError(error.message, { originalError: error });
  };

  const prepare = async (
    subscriber: Subscriber,
    id: string,
    payload: SubscribePayload,
    activeSubscriptions: number,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    if (activeSubscriptions > maxSubscriptions) {
      return [requestError(`At most ${maxSubscriptions} subscriptions may be open on one connection`, "BAD_REQUEST")];
    }
    const checked = checkDocument(payload);
    if (Array.isArray(checked)) return checked;
    const { document, nodes } = checked as CheckedSubscription;
    const overBudget = await charge(subscriber, nodes);
    if (overBudget) return [overBudget];
    // Every operation on a connection shares the upgrade request's id, which its log lines already carry.
    const requestId = subscriber.requestId;
    const log = subscriber.log.child({ subscriptionId: id });
    const context = await contextFor(subscriber, requestId, log);
    if (!context) return [requestError("Authentication required", "UNAUTHENTICATED")];
    // Taken last, with nothing awaited between the count and the taking: concurrent subscribes cannot overshoot.
    const release = userSubscriptions.take(subscriber.identity.userId);
    if (!release) return [requestError(`At most ${userSubscriptions.max} subscriptions may be open per user`, "BAD_REQUEST")];
    const contextValue: OperationContext = { ...context, subscriber, release };
    return { schema, document: document as DocumentNode, operationName: payload.operationName, variableValues: payload.variables, contextValue };
  };

  const cleanup = useServer<Record<string, unknown>, ConnectionExtra>(
    {
      schema,
      isProd: options.production,
      async onConnect(ctx) {
        const socket = ctx.extra.socket;
        const result = await authenticateConnection(
          options.tokens,
          async (userId) => (await options.findUsers([userId]))[0],
          ctx.connectionParams,
        );
        if ("refusal" in result) {
          // Closing first gives the client our code and reason rather than graphql-ws's bare 4403 "Forbidden".
          socket.close(result.refusal.code, result.refusal.reason);
          return false;
        }
        if (socket.readyState !== socket.OPEN) return false; // gone while its user was read
        if (!connections.open(result.user.id, socket)) {
          socket.close(CloseCode.TooManyConnections, `Too many connections: at most ${connections.max} per user`);
          return false;
        }
        const requestId = connectionIds.get(ctx.extra.request) ?? randomUUID();
        const log = logger.child({ requestId, userId: result.user.id, transport: "ws" });
        ctx.extra.subscriber = subscriberFor(socket, requestId, log, result.identity);
        return true;
      },
      onClose(ctx) {
        ctx.extra.subscriber?.detach();
      },
      // Awaited before graphql-ws sends the pong, which it skips for a socket no longer open.
      onPing(ctx, payload) {
        // Measured without recursion and only up to the limit: a payload nested 150,000 deep overflowed the stack.
        if (payload === undefined || jsonBytes(payload, maxPingPayloadBytes) <= maxPingPayloadBytes) return;
        // graphql-ws serialises the pong before it finds the socket closed: emptied, the payload is not walked
        // again (150,000 levels of nesting overflowed the stack there, logged as an internal error).
        if (Array.isArray(payload)) payload.length = 0;
        else for (const key of Object.keys(payload)) delete payload[key];
        ctx.extra.subscriber?.detach();
        ctx.extra.socket.close(CloseCode.BadRequest, `Ping payload too large: at most ${maxPingPayloadBytes} bytes`);
      },
      async onSubscribe(ctx, id, payload) {
        const subscriber = ctx.extra.subscriber;
        if (!subscriber) return [requestError("Authentication required", "UNAUTHENTICATED")];
        const done = subscriber.preparing();
        let prepared: ExecutionArgs | readonly GraphQLError[];
        try {
          // A subscribe takes its turn with other clients' requests, as an HTTP request does at the gate.
          await options.slicer?.proceed(`user:${subscriber.identity.userId}`);
          prepared = await prepare(subscriber, id, payload, Object.keys(ctx.subscriptions).length);
        } finally {
          done();
        }
        const failed = Array.isArray(prepared);
        count(failed ? "error" : "ok");
        return failed ? prepared : (prepared as ExecutionArgs);
      },
      subscribe(args) {
        const { subscriber, requestId, log, release } = args.contextValue as OperationContext;
        return subscribePerEvent(args, {
          contextForEvent: () => contextFor(subscriber, requestId, log),
          // Past the limit, the event keeps its kind and incident id, and its objects are null with QUERY_TOO_COMPLEX
          // errors, worded as over HTTP. The subscription stays open: a field error in one event's execution does
          // not end a GraphQL stream, and the next events (a smaller incident, a DELETED) may well fit.
          bound: (result, context) => eventWithinResponseSize(result, maxResponseBytes, context),
          takeTurn: subscriber.takeTurn,
          hold: options.unsent && ((result) => options.unsent!.hold(jsonLength(result), () => subscriber.cut(eventsCut), () => subscriber.unsent)),
          tooSlow: (error) => subscriber.close({ code: CloseCode.TooSlow, reason: error.message }),
          executing: track,
          ended: () => {
            release();
            active?.dec();
          },
        }).then((result) => {
          if (!(Symbol.asyncIterator in result)) {
            release();
            return requestErrorsOf(result);
          }
          active?.inc(); // counted once it listens: a client may rely on events published from now on
          return result;
        }, (error: unknown) => {
          release();
          throw error;
        });
      },
      onNext(ctx, _id, _payload, args, result) {
        if (!result.errors) return undefined;
        const log = (args.contextValue as OperationContext | undefined)?.log ?? ctx.extra.subscriber?.log ?? logger;
        return { ...result, errors: formatErrors(result.errors, log) };
      },
      onError(ctx, _id, _payload, errors) {
        return formatErrors(errors, ctx.extra.subscriber?.log ?? logger);
      },
    },
    wsServer,
  );

  let disposing: Promise<void> | undefined;
  const dispose = () =>
    (disposing ??= (async () => {
      watchdog.stop();
      options.httpServer.off("upgrade", onUpgrade);
      await cleanup.dispose();
      await Promise.allSettled(executions);
    })());

  return {
    dispose,
    plugin: {
      async serverWillStart() {
        return {
          async drainServer() {
            await dispose();
          },
        };
      },
    },
  };
}

/**
 * A subscription that fails before its first event (bad variables, say) yields one result with errors. Those
 * without a path are about the request, as over HTTP, where Apollo reports them as BAD_USER_INPUT.
 */
function requestErrorsOf(result: ExecutionResult): ExecutionResult {
  if (!result.errors) return result;
  return { ...result, errors: result.errors.map((error) => (error.path ? error : withCode(error, "BAD_USER_INPUT"))) };
}
