/**
 * Bytes of answers (HTTP bodies, subscription events) handed to a socket that the network has not yet taken.
 *
 * A client that stops reading keeps its answers in the process: Node buffers whatever the kernel will not accept.
 * Each answer is held to MAX_RESPONSE_BYTES, but a client may open any number of connections and pipeline several
 * requests on each: thirty paused connections with four 6.5 MB answers each held a gigabyte. This bounds the sum.
 * Past it, connections are cut, which frees their buffers at once. Which ones: each held answer's unsent bytes are
 * looked at every quarter of a second, and the looks in a row that found them not gone down are counted. Those that
 * went longest without progress go first, then those with the most still unsent, and of those the most recent. A
 * count, not a yes or no: a look that comes late, after the process was busy for a while, finds a reading client's
 * bytes where they were too (its socket's writes complete after timers run), and it must still go after a flood of
 * connections that have read nothing for several looks.
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
  /** Looks in a row that found its unsent bytes not gone down. */
  stalls: number;
}

/** How often held answers are looked at, and how many at most in one look or one choice of a cut: a bounded cost. */
const lookEveryMs = 250;
const lookedAtOnce = 1024;

function goesBefore(a: Held, aUnsent: number, b: Held, bUnsent: number): boolean {
  if (a.stalls !== b.stalls) return a.stalls > b.stalls;
  if (aUnsent !== bUnsent) return aUnsent > bUnsent;
  return a.order > b.order;
}

/** `onCut` is told of every answer cut short (a counter). */
export function createUnsentAnswers(limitBytes: number, onCut: () => void = () => {}): UnsentAnswers {
  // A Map iterates in insertion order: its first entries are the answers held longest.
  const held = new Map<object, Held>();
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
    for (const entry of held.values()) {
      const unsent = entry.unsent();
      entry.stalls = entry.seen !== undefined && unsent > 0 && unsent >= entry.seen ? entry.stalls + 1 : 0;
      entry.seen = unsent;
      if (++count === lookedAtOnce) break;
    }
  };

  const drop = (key: object): Held | undefined => {
    const entry = held.get(key);
    if (!entry) return undefined;
    held.delete(key);
    bytes -= entry.bytes;
    return entry;
  };

  /** The next to cut: the longest without progress, then the most unsent, then the latest held. */
  const nextToCut = (): object => {
    let chosen: object | undefined;
    let first: Held | undefined;
    let firstUnsent = 0;
    let count = 0;
    for (const [key, entry] of held) {
      const unsent = entry.unsent();
      if (!first || goesBefore(entry, unsent, first, firstUnsent)) [chosen, first, firstUnsent] = [key, entry, unsent];
      if (++count === lookedAtOnce) break;
    }
    return chosen!;
  };

  const makeRoom = (wanted: number) => {
    while (held.size > 0 && bytes + wanted > limitBytes) {
      const entry = drop(nextToCut())!;
      onCut();
      entry.cut();
    }
  };

  return {
    hold(answerBytes, cut, unsent) {
      makeRoom(answerBytes);
      const key = {};
      held.set(key, { bytes: answerBytes, cut, unsent, order: order++, stalls: 0 });
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
