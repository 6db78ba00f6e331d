import { AsyncLocalStorage } from "node:async_hooks";

/** One request's share of the database pool: statements it may have in flight at once, and those waiting. */
interface Lane {
  free: number;
  waiting: Array<() => void>;
}

const lanes = new AsyncLocalStorage<Lane>();

/**
 * Runs `work` (one request) with at most `width` of its statements in flight on the pool at once. Sibling fields run
 * their statements concurrently on PostgreSQL: 50 aliases of a slow search took every pooled connection, and another
 * user's one-row read waited 4.6 s behind them.
 */
export function inLane<T>(width: number, work: () => T): T {
  return lanes.run({ free: width, waiting: [] }, work);
}

/**
 * Waits for a place in the current request's lane; resolves to its release. Undefined outside any request, and while
 * `poolIsFree()`: a lane matters only when requests compete for connections, and a page whose loaders send five
 * statements at once should not take three round trips on an idle pool.
 */
export function enterLane(poolIsFree: () => boolean): Promise<() => void> | undefined {
  const lane = lanes.getStore();
  if (!lane || poolIsFree()) return undefined;
  const release = () => {
    const next = lane.waiting.shift();
    if (next) next();
    else lane.free += 1;
  };
  if (lane.free > 0) {
    lane.free -= 1;
    return Promise.resolve(once(release));
  }
  return new Promise((resolve) => lane.waiting.push(() => resolve(once(release))));
}

const once = (release: () => void) => {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
};
