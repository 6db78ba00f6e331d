/** Waits for a turn; resolves to the function that ends it (calling it again does nothing). */
export type TakeTurn = () => Promise<() => void>;

/**
 * Turns taken one at a time, in the order asked for. A connection's subscriptions take one per event, from its
 * execution until its message has been written to the socket, so that the connection holds one event's result and
 * message at a time, whatever number of its subscriptions an event concerns.
 */
export function createTurns(): TakeTurn {
  const waiting: Array<() => void> = [];
  let taken = false;

  const pass = () => {
    const next = waiting.shift();
    if (next) next();
    else taken = false;
  };

  const ender = () => {
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      pass();
    };
  };

  return () => {
    if (!taken) {
      taken = true;
      return Promise.resolve(ender());
    }
    // The turn is handed over by pass(): `taken` stays true.
    return new Promise((resolve) => waiting.push(() => resolve(ender())));
  };
}
