import type { Logger } from "pino";
import type { UserRow } from "../modules/users/user.table.js";
import { subscriberRefusal, tokenExpired, type Refusal, type SubscriberIdentity } from "./subscriber-auth.js";

export interface WatchedConnection {
  readonly identity: SubscriberIdentity;
  close(refusal: Refusal): void;
}

export interface ConnectionWatchdog {
  /** Starts watching; the returned function stops it (call it when the connection closes). */
  watch(connection: WatchedConnection): () => void;
  /** Runs one sweep now; the timer calls it every `intervalMs`. */
  sweep(): Promise<void>;
  stop(): void;
}

export interface ConnectionWatchdogOptions {
  findUsers(ids: readonly number[]): Promise<UserRow[]>;
  /** How often every open connection's user is read again; the only way a revocation reaches an idle socket. */
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

// setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days); longer expiries are re-armed in steps.
const maxTimerDelay = 2 ** 31 - 1;
const usersPerStatement = 500;

/**
 * Closes connections whose token has expired (a timer at exp) or been revoked, or whose user was deactivated
 * (one sweep for all connections, reading their users in a few statements rather than one per connection).
 */
export function createConnectionWatchdog(options: ConnectionWatchdogOptions): ConnectionWatchdog {
  const now = options.now ?? Date.now;
  const watched = new Map<WatchedConnection, NodeJS.Timeout | undefined>();
  let interval: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;

  const armExpiry = (connection: WatchedConnection) => {
    const delay = Math.max(0, connection.identity.expiresAt - now());
    const timer = setTimeout(() => {
      if (!watched.has(connection)) return;
      if (now() >= connection.identity.expiresAt) connection.close(tokenExpired);
      else armExpiry(connection);
    }, Math.min(delay, maxTimerDelay));
    timer.unref();
    watched.set(connection, timer);
  };

  const runSweep = async () => {
    const connections = [...watched.keys()];
    const ids = [...new Set(connections.map((connection) => connection.identity.userId))];
    const users = new Map<number, UserRow>();
    for (let start = 0; start < ids.length; start += usersPerStatement) {
      for (const user of await options.findUsers(ids.slice(start, start + usersPerStatement))) users.set(user.id, user);
    }
    const at = now();
    for (const connection of connections) {
      if (!watched.has(connection)) continue;
      const refusal = subscriberRefusal(connection.identity, users.get(connection.identity.userId), at);
      if (refusal) connection.close(refusal);
    }
  };

  const sweep = () =>
    (sweeping ??= runSweep()
      .catch((error: unknown) => options.log.error({ err: error }, "subscription watchdog sweep failed"))
      .finally(() => {
        sweeping = undefined;
      }));

  return {
    watch(connection) {
      armExpiry(connection);
      if (!interval) {
        interval = setInterval(() => void sweep(), options.intervalMs);
        interval.unref();
      }
      return () => {
        clearTimeout(watched.get(connection));
        watched.delete(connection);
        if (watched.size === 0 && interval) {
          clearInterval(interval);
          interval = undefined;
        }
      };
    },
    sweep,
    stop() {
      for (const timer of watched.values()) clearTimeout(timer);
      watched.clear();
      if (interval) clearInterval(interval);
      interval = undefined;
    },
  };
}
