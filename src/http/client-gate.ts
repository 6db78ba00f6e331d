import { createKeyedConcurrencyLimit } from "../shared/concurrency-limit.js";
import type { TimeSlicer } from "../shared/time-slicer.js";

export interface ClientGate {
  /** Runs `task` when `client` has a free slot; RATE_LIMITED when its queue is full too. */
  run<T>(client: string, task: () => Promise<T>): Promise<T>;
}

/**
 * A fair share of the event loop per client: at most `concurrent` requests of one client execute at once, the
 * next `queued` wait their turn, and any more are refused. One client's flood then occupies a few slots of the
 * event loop, whatever its number of connections, and another client's request waits behind those few only.
 *
 * Node runs every ready connection's callback in one pass, and a request can run start to end inside its callback
 * without yielding (its SQL is synchronous on SQLite): sixteen of them in one pass would hold the loop for all
 * sixteen. So a request with a slot starts only when the time slicer lets it: at once on a loop that is not busy,
 * else in a turn of its own.
 */
export function createClientGate(concurrent: number, queued: number, slicer: Pick<TimeSlicer, "proceed">): ClientGate {
  const lanes = createKeyedConcurrencyLimit(concurrent, queued, "Too many requests at once from this client; try again shortly");
  return {
    run: (client, task) =>
      lanes.run(client, async () => {
        await slicer.proceed(client);
        return task();
      }),
  };
}
