/**
 * Cooperative time slicing between requests. A request on SQLite runs without ever waiting for I/O, so one
 * heavy document (50 aliases of nested pages, legal under every limit) can hold the event loop for half a
 * second, and every other client waits that long. A request that has run for `sliceMs` since it last resumed
 * waits, at its next loading point, for a turn of the event loop of its own: the waiting requests resume one per
 * turn, taking clients in rotation, and a short request (one that never runs a whole slice) never waits at all.
 */
export type Pause = () => Promise<void> | undefined;

export interface TimeSlicer {
  /** The pause function of one request of `client`: undefined while its slice lasts, else a turn to wait for. */
  forRequest(client: string): Pause;
}

export function createTimeSlicer(sliceMs = 10, now = () => performance.now()): TimeSlicer {
  const waiting = new Map<string, Array<() => void>>();
  let scheduled = false;

  // One waiter per turn: an immediate scheduled during the check phase runs in the next loop iteration, after the
  // poll phase has read whatever other clients sent meanwhile. Map order gives the rotation: a client whose waiter
  // resumes goes to the back.
  const tick = () => {
    scheduled = false;
    const next = waiting.entries().next();
    if (next.done) return;
    const [client, queue] = next.value;
    waiting.delete(client);
    const resume = queue.shift()!;
    if (queue.length > 0) waiting.set(client, queue);
    resume();
    schedule();
  };
  const schedule = () => {
    if (scheduled || waiting.size === 0) return;
    scheduled = true;
    setImmediate(tick);
  };

  return {
    forRequest(client) {
      let resumedAt = now();
      return () => {
        if (now() - resumedAt < sliceMs) return undefined;
        return new Promise<void>((resolve) => {
          const queue = waiting.get(client);
          const resume = () => {
            resumedAt = now();
            resolve();
          };
          if (queue) queue.push(resume);
          else waiting.set(client, [resume]);
          schedule();
        });
      };
    },
  };
}
