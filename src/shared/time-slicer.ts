/**
 * Cooperative time slicing between requests, in turns of the event loop. A request on SQLite runs without ever
 * waiting for I/O, so one heavy document (50 aliases of nested pages, legal under every limit) could hold the loop
 * for half a second, and every other client would wait that long; and Node runs every ready connection's callback
 * in one pass, so sixteen requests that arrive together would run back to back.
 *
 * Requests ask, when they start (`proceed`), at each stage of Apollo's pipeline and before each batch load (`pause`),
 * whether the current stretch of work has run `sliceMs`. A stretch starts with the first question asked in a pass of
 * the event loop, or when a waiting unit starts. Past the slice, the request waits for a unit of its own: units start
 * one per turn of the loop, taking clients in rotation, so whatever arrived meanwhile is read and served in between.
 * A request that starts while others wait joins the rotation too. A loop that is not busy never makes anyone wait.
 */
export type Pause = () => Promise<void> | undefined;

export interface TimeSlicer {
  /** Undefined when a request of `client` may start now, else a promise of its unit. */
  proceed(client: string): Promise<void> | undefined;
  /**
   * The pause function of one request of `client`. Its promise settles after the request's earlier pauses have, and
   * within the same turn while the current stretch's slice lasts; past it, when a unit of the request's own starts.
   */
  forRequest(client: string): Pause;
}

export function createTimeSlicer(sliceMs = 10, now = () => performance.now()): TimeSlicer {
  const waiting = new Map<string, Array<() => void>>();
  let stretchStartedAt = 0;
  let marked = false;
  let scheduled = false;

  // The first question of a pass starts a stretch and marks the pass; the mark is cleared in the pass's check phase,
  // so the next pass's first question starts a new stretch. Nothing is scheduled while nobody asks.
  const clearMark = () => {
    marked = false;
  };
  const elapsed = () => {
    if (!marked) {
      marked = true;
      stretchStartedAt = now();
      setImmediate(clearMark);
    }
    return now() - stretchStartedAt;
  };

  // One unit per turn: an immediate scheduled during the check phase runs in the next loop iteration, after the
  // poll phase has read whatever other clients sent meanwhile. Map order gives the rotation: a client whose unit
  // starts goes to the back.
  const startNext = () => {
    scheduled = false;
    const next = waiting.entries().next();
    if (next.done) return;
    const [client, queue] = next.value;
    waiting.delete(client);
    const start = queue.shift()!;
    if (queue.length > 0) waiting.set(client, queue);
    stretchStartedAt = now();
    start();
    schedule();
  };
  const schedule = () => {
    if (scheduled || waiting.size === 0) return;
    scheduled = true;
    setImmediate(startNext);
  };
  const unit = (client: string) =>
    new Promise<void>((resolve) => {
      const queue = waiting.get(client);
      if (queue) queue.push(resolve);
      else waiting.set(client, [resolve]);
      schedule();
    });

  return {
    proceed: (client) => (waiting.size === 0 && elapsed() < sliceMs ? undefined : unit(client)),
    forRequest: (client) => {
      // A request's questions are answered in order: each is looked at once the one before has been answered and the
      // continuations waiting on that answer have run (promise reactions run in the order they were registered, and
      // an asker awaits its answer before a sibling asks). Sibling fields (50 aliases of one search) all ask before any
      // of them has run its SQL, so answered at once they all passed, and their statements ran back to back for
      // seconds. The cost is a promise or two per question, a few per request.
      let last: Promise<void> | undefined;
      return () => (last = (last ?? Promise.resolve()).then(() => (elapsed() < sliceMs ? undefined : unit(client))));
    },
  };
}
