import { RateLimitedError } from "../shared/errors.js";
import type { TimeSlicer } from "../shared/time-slicer.js";

export interface ClientGate {
  /** Runs `task` when `client` has a free slot; RATE_LIMITED when its queue is full too. */
  run<T>(client: string, task: () => Promise<T>): Promise<T>;
}

interface Lane {
  running: number;
  waiting: Array<() => void>;
}

/**
 * A fair share of the event loop per client: at most `concurrent` requests of one client execute at once, the
 * next `queued` wait their turn, and any more are refused. One client's flood then occupies a few slots of the
 * event loop, whatever its number of connections, and another client's request waits behind those few only.
 * A client's lane exists only while it has requests, so the map holds active clients and nothing else.
 *
 * Node runs every ready connection's callback in one pass, and a request can run start to end inside its callback
 * without yielding (its SQL is synchronous on SQLite): sixteen of them in one pass would hold the loop for all
 * sixteen. So a request with a slot starts only when the time slicer lets it: at once on a loop that is not busy,
 * else in a turn of its own.
 */
export function createClientGate(concurrent: number, queued: number, slicer: Pick<TimeSlicer, "proceed">): ClientGate {
  const lanes = new Map<string, Lane>();

  const release = (client: string, lane: Lane) => {
    const next = lane.waiting.shift();
    if (next) return next();
    lane.running -= 1;
    if (lane.running === 0) lanes.delete(client);
  };

  return {
    async run(client, task) {
      let lane = lanes.get(client);
      if (!lane) lanes.set(client, (lane = { running: 0, waiting: [] }));
      if (lane.running >= concurrent) {
        if (lane.waiting.length >= queued) throw new RateLimitedError(1, "Too many requests at once from this client; try again shortly");
        // The slot is handed over by release(): `running` stays as it is.
        await new Promise<void>((resolve) => lane.waiting.push(resolve));
      } else {
        lane.running += 1;
      }
      await slicer.proceed(client);
      try {
        return await task();
      } finally {
        release(client, lane);
      }
    },
  };
}
