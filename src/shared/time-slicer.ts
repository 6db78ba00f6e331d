/**
 * Cooperative time slicing between requests, in turns of the event loop. A request on SQLite runs without ever
 * waiting for I/O, so one heavy document (50 aliases of nested pages, legal under every limit) could hold the loop
 * for half a second, and every other client would wait that long.
 *
 * Work is started in units: a request starts in a unit of its own (`turn`), and a request that asks at one of its
 * loading points (`pause`) once its unit has run for `sliceMs` goes back to wait for another. Waiting units start
 * one per turn of the event loop, taking clients in rotation, so that whatever arrived meanwhile is read in
 * between, and one client's many requests take turns with everybody else's rather than ahead of them.
 */
export type Pause = () => Promise<void> | undefined;

export interface TimeSlicer {
  /** Resolves when a unit of `client`'s starts, in a later turn of the event loop. */
  turn(client: string): Promise<void>;
  /** The pause function of one request of `client`: undefined while the current unit's slice lasts. */
  forRequest(client: string): Pause;
}

export function createTimeSlicer(sliceMs = 10, now = () => performance.now()): TimeSlicer {
  const waiting = new Map<string, Array<() => void>>();
  let unitStartedAt = now();
  let scheduled = false;

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
    unitStartedAt = now();
    start();
    schedule();
  };
  const schedule = () => {
    if (scheduled || waiting.size === 0) return;
    scheduled = true;
    setImmediate(startNext);
  };

  const turn = (client: string) =>
    new Promise<void>((resolve) => {
      const queue = waiting.get(client);
      if (queue) queue.push(resolve);
      else waiting.set(client, [resolve]);
      schedule();
    });

  return {
    turn,
    forRequest: (client) => () => (now() - unitStartedAt < sliceMs ? undefined : turn(client)),
  };
}
