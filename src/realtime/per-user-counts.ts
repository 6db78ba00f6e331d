import type { WebSocket } from "ws";

/** Counts per user, each given back once. */
function countsPerUser(max: number) {
  const counts = new Map<number, number>();
  return {
    /** Counts one for `userId`; undefined (nothing counted) when it already holds `max`. */
    take(userId: number): (() => void) | undefined {
      const count = counts.get(userId) ?? 0;
      if (count >= max) return undefined;
      counts.set(userId, count + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = counts.get(userId)! - 1;
        if (left === 0) counts.delete(userId);
        else counts.set(userId, left);
      };
    },
  };
}

/**
 * Open connections per user. Without a bound, one signed-up user could open connections until the process ran out
 * of file descriptors (20,000 here, 31 KB each), and then no one could connect or open a file.
 */
export function createConnectionCount(max: number) {
  const counts = countsPerUser(max);
  return {
    max,
    /** Counts the socket until it closes; false (nothing counted) when its user already holds `max`. */
    open(userId: number, socket: WebSocket): boolean {
      const release = counts.take(userId);
      if (!release) return false;
      socket.once("close", release);
      return true;
    },
  };
}

/** Subscriptions per user: `take` counts one, or answers undefined when the user holds `max`. */
export function createSubscriptionCount(max: number) {
  return { max, take: countsPerUser(max).take };
}
