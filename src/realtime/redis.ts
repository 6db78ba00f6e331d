import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * The Redis shared by every instance of a deployment (REDIS_URL): one connection for commands and PUBLISH,
 * one in subscriber mode for incident events. Every key and channel starts with `prefix` (REDIS_PREFIX).
 */
export interface RedisConnection {
  /** For commands (login throttle, PING) and PUBLISH. */
  readonly commands: Redis;
  readonly prefix: string;
  /**
   * An EventTarget spanning every process on this Redis, for createEventBus. Each topic is one channel, so events
   * of a topic arrive in the order they were published (one publishing connection, one subscribing connection).
   */
  eventTarget<Target extends EventTarget>(): Target;
  /** PING answered within `timeoutMs`, and the subscriber connection is up. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Closes both connections. Idempotent. */
  close(): Promise<void>;
}

export interface RedisOptions {
  url: string;
  prefix: string;
  logger: Logger;
}

export function connectRedis({ url, prefix, logger }: RedisOptions): RedisConnection {
  const log = logger.child({ component: "redis" });
  const open = (role: string) => {
    const client = new Redis(url, {
      connectionName: `incident-api-${role}`,
      // A command waits for a lost connection this many reconnections at most, then fails (a login then fails
      // with INTERNAL_SERVER_ERROR rather than hanging); the subscriber re-subscribes by itself on reconnect.
      maxRetriesPerRequest: 2,
      connectTimeout: 5_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Without a listener an 'error' event would crash the process; ioredis reconnects by itself.
    let lastReport = 0;
    client.on("error", (error: Error) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      log.warn({ err: error, role }, "redis connection error");
    });
    return client;
  };
  const commands = open("commands");
  const subscriber = open("subscriber");

  // The library's dispatchEvent does not wait for PUBLISH; a failure there must be logged, not left unhandled.
  const publisher = {
    publish: (channel: string, message: string) =>
      commands.publish(channel, message).catch((error: unknown) => {
        log.error({ err: error, channel }, "incident event not published to redis");
        return 0;
      }),
  } as unknown as Redis;
  const target = createRedisEventTarget<CustomEvent>({ publishClient: publisher, subscribeClient: subscriber });

  // Namespaces the channels: the bus's topic "INCIDENT_EVENTS:12" travels as "<prefix>INCIDENT_EVENTS:12".
  const prefixed: EventTarget = {
    addEventListener: (type, listener, options) => target.addEventListener(prefix + type, listener as never, options),
    removeEventListener: (type, listener, options) => target.removeEventListener(prefix + type, listener as never, options),
    dispatchEvent: (event) => target.dispatchEvent(new CustomEvent(prefix + event.type, { detail: (event as CustomEvent).detail })),
  };

  let closing: Promise<void> | undefined;
  return {
    commands,
    prefix,
    eventTarget: <Target extends EventTarget>() => prefixed as Target,
    async ready(timeoutMs = 1_000) {
      if (subscriber.status !== "ready") return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        const answer = await Promise.race([
          commands.ping(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("redis PING timed out")), timeoutMs);
          }),
        ]);
        return answer === "PONG";
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => (closing ??= Promise.all([commands, subscriber].map(closeClient)).then(() => undefined)),
  };
}

/** QUIT when connected (a second at most), then disconnect: a client still trying to reconnect would wait forever. */
async function closeClient(client: Redis): Promise<void> {
  if (client.status === "ready") {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1_000);
      }),
    ]);
    clearTimeout(timer);
  }
  client.disconnect();
}
