/**
 * Bytes of answers (HTTP bodies, subscription events) handed to a socket that the network has not yet taken.
 *
 * A client that stops reading keeps its answers in the process: Node buffers whatever the kernel will not accept.
 * Each answer is held to MAX_RESPONSE_BYTES, but a client may open any number of connections and pipeline several
 * requests on each: thirty paused connections with four 6.5 MB answers each held a gigabyte. This bounds the sum.
 * Past it, connections are cut, which frees their buffers at once. Which ones: each held answer's unsent bytes are
 * looked at every quarter of a second, and an answer whose unsent bytes did not go down since the last look is
 * stalled; stalled ones go first, then those with the most still unsent, and of those the most recent, so that a
 * flood of stalled connections is cut before an earlier reader whose answer is on its way.
 */
export interface UnsentAnswers {
  /**
   * Counts `bytes` until the returned function is called (the answer reached the kernel, or its connection closed).
   * `unsent` tells how many bytes of its connection are still waiting to be sent; `cut` drops the connection.
   */
  hold(bytes: number, cut: () => void, unsent: () => number): () => void;
  /** The bytes counted now. */
  readonly bytes: number;
}

interface Held {
  readonly bytes: number;
  readonly cut: () => void;
  readonly unsent: () => number;
  /** Order of holding: among equals, the latest held is cut first. */
  readonly order: number;
  /** Unsent bytes at the last look; undefined before the first. */
  seen?: number;
}

/** How many of the longest-held answers are compared when none is known to be stalled: a bounded cost per cut. */
const candidates = 32;
/** How often held answers are looked at, and how many at most in one look (and stalled ones compared in a cut). */
const lookEveryMs = 250;
const lookedAtOnce = 1024;

/** `onCut` is told of every answer cut short (a counter). */
export function createUnsentAnswers(limitBytes: number, onCut: () => void = () => {}): UnsentAnswers {
  // A Map iterates in insertion order: its first entries are the answers held longest.
  const held = new Map<object, Held>();
  // Those whose unsent bytes did not go down between two looks, wherever they are in `held`.
  const stalled = new Set<object>();
  let bytes = 0;
  let order = 0;
  let looking: NodeJS.Timeout | undefined;

  const look = () => {
    if (held.size === 0) {
      clearInterval(looking);
      looking = undefined;
      return;
    }
    let count = 0;
    for (const [key, entry] of held) {
      const unsent = entry.unsent();
      if (entry.seen !== undefined && unsent > 0 && unsent >= entry.seen) stalled.add(key);
      else stalled.delete(key);
      entry.seen = unsent;
      if (++count === lookedAtOnce) break;
    }
  };

  const drop = (key: object): Held | undefined => {
    const entry = held.get(key);
    if (!entry) return undefined;
    held.delete(key);
    stalled.delete(key);
    bytes -= entry.bytes;
    return entry;
  };

  /** The one with the most unsent of `keys` (at most `limit` of them), the latest held on a tie. */
  const mostUnsent = (keys: Iterable<object>, limit: number): object | undefined => {
    let chosen: object | undefined;
    let most = -1;
    let latest = -1;
    let count = 0;
    for (const key of keys) {
      const entry = held.get(key)!;
      const unsent = entry.unsent();
      if (unsent > most || (unsent === most && entry.order > latest)) [chosen, most, latest] = [key, unsent, entry.order];
      if (++count === limit) break;
    }
    return chosen;
  };

  const makeRoom = (wanted: number) => {
    while (held.size > 0 && bytes + wanted > limitBytes) {
      const key = (stalled.size > 0 ? mostUnsent(stalled, lookedAtOnce) : undefined) ?? mostUnsent(held.keys(), candidates)!;
      const entry = drop(key)!;
      onCut();
      entry.cut();
    }
  };

  return {
    hold(answerBytes, cut, unsent) {
      makeRoom(answerBytes);
      const key = {};
      held.set(key, { bytes: answerBytes, cut, unsent, order: order++ });
      bytes += answerBytes;
      if (!looking) {
        looking = setInterval(look, lookEveryMs);
        looking.unref();
      }
      return () => void drop(key);
    },
    get bytes() {
      return bytes;
    },
  };
}
