/**
 * Bytes of answers (HTTP bodies, subscription events) handed to a socket that the network has not yet taken.
 *
 * A client that stops reading keeps its answers in the process: Node buffers whatever the kernel will not accept.
 * Each answer is held to MAX_RESPONSE_BYTES, but a client may open any number of connections and pipeline several
 * requests on each: twenty paused connections with four 6.5 MB answers each held 700 MB. This bounds the sum.
 * Past it, the connections that have held an answer longest (the slowest readers) are cut, which frees their
 * buffers at once, so that a reader that keeps up is never refused an answer on account of one that does not.
 */
export interface UnsentAnswers {
  /**
   * Counts `bytes` until the returned function is called (the answer reached the kernel, or its connection closed).
   * When the sum would pass the limit, the oldest holders' `cut` is called, oldest first, until it fits.
   */
  hold(bytes: number, cut: () => void): () => void;
  /** The bytes counted now. */
  readonly bytes: number;
}

interface Held {
  readonly bytes: number;
  readonly cut: () => void;
}

/** `onCut` is told of every answer cut short (a counter). */
export function createUnsentAnswers(limitBytes: number, onCut: () => void = () => {}): UnsentAnswers {
  // A Map iterates in insertion order: its first entry is the answer held longest.
  const held = new Map<object, Held>();
  let bytes = 0;

  const drop = (key: object): Held | undefined => {
    const entry = held.get(key);
    if (!entry) return undefined;
    held.delete(key);
    bytes -= entry.bytes;
    return entry;
  };

  const makeRoom = (wanted: number) => {
    for (const key of held.keys()) {
      if (bytes + wanted <= limitBytes) return;
      const entry = drop(key)!;
      onCut();
      entry.cut();
    }
  };

  return {
    hold(answerBytes, cut) {
      makeRoom(answerBytes);
      const key = {};
      held.set(key, { bytes: answerBytes, cut });
      bytes += answerBytes;
      return () => void drop(key);
    },
    get bytes() {
      return bytes;
    },
  };
}
