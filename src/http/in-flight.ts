/** The route handlers running now: a stop waits for them before the database closes. */
export interface InFlight {
  /** Runs `work`, counted until it settles. */
  track<T>(work: () => T | Promise<T>): Promise<T>;
  /** Resolves once no handler runs (at once if none does). */
  idle(): Promise<void>;
}

/**
 * A handler outlives its connection: a client that hangs up leaves its request running (queued behind its other
 * requests, or executing). The connections alone therefore do not say when the last request is done, and a stop that
 * closed the database once they had all closed cut such requests off midway.
 */
export function createInFlight(): InFlight {
  let running = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    running -= 1;
    if (running > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };
  return {
    async track(work) {
      running += 1;
      try {
        return await work();
      } finally {
        settle();
      }
    },
    idle: () => (running === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
  };
}
