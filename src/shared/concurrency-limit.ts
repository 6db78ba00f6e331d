import { RateLimitedError } from "./errors.js";

export interface KeyedConcurrencyLimit {
  /** Runs `task` when `key` has a free slot; RATE_LIMITED when its queue is full too. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export interface FairShareOptions {
  /** Tasks running at once, all keys together. */
  total: number;
  /** Tasks of one key running at once. */
  perKey: number;
  /** Tasks of one key waiting, at most. */
  queuedPerKey: number;
  /** Tasks waiting, all keys together. */
  queuedTotal: number;
  /** The RATE_LIMITED message. */
  refusal?: string;
}

interface Waiter {
  start: () => void;
  refuse: (error: RateLimitedError) => void;
}

interface Lane {
  running: number;
  waiting: Waiter[];
  /** When a task of this key last started (a count of starts); 0 for a key never served. */
  servedAt: number;
}

/**
 * Slots shared fairly between keys. A free slot is taken at once; when there is none, the task waits in its key's
 * queue, and a slot that frees goes to the waiting key that runs the fewest tasks (the longest unserved among equals).
 * So one key's flood holds every slot only while no one else waits, and another key's request waits for the next
 * slot to free, never behind the flood's queue.
 *
 * Waiting tasks are bounded per key and in total (each holds its request's body). When the total is full, a newcomer
 * takes the place of the newest waiter of the key with the longest queue, if that queue is longer than the
 * newcomer's would be: the flood is refused, not the quiet key. Refusals are RATE_LIMITED, retry after a second.
 * A key's lane exists only while it has tasks, so the map holds active keys and nothing else.
 */
export function createFairShareLimit(options: FairShareOptions): KeyedConcurrencyLimit {
  const { total, perKey, queuedPerKey, queuedTotal, refusal } = options;
  const lanes = new Map<string, Lane>();
  let running = 0;
  let waiting = 0;
  let starts = 0;

  const laneOf = (key: string) => {
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = { running: 0, waiting: [], servedAt: 0 }));
    return lane;
  };

  const forget = (key: string, lane: Lane) => {
    if (lane.running === 0 && lane.waiting.length === 0) lanes.delete(key);
  };

  /** The waiting key that may run and runs the fewest, served longest ago among equals (round-robin). */
  const nextKey = (): string | undefined => {
    let best: string | undefined;
    let bestLane: Lane | undefined;
    for (const [key, lane] of lanes) {
      if (lane.waiting.length === 0 || lane.running >= perKey) continue;
      if (!bestLane || lane.running < bestLane.running || (lane.running === bestLane.running && lane.servedAt < bestLane.servedAt)) {
        [best, bestLane] = [key, lane];
      }
    }
    return best;
  };

  const take = (lane: Lane) => {
    lane.running += 1;
    running += 1;
    lane.servedAt = ++starts;
  };

  const startNext = (key: string) => {
    const lane = lanes.get(key)!;
    const waiter = lane.waiting.shift()!;
    waiting -= 1;
    take(lane);
    waiter.start();
  };

  const release = (key: string, lane: Lane) => {
    const wasFull = running >= total;
    lane.running -= 1;
    running -= 1;
    if (wasFull) {
      const next = nextKey();
      if (next !== undefined) startNext(next);
    } else if (lane.waiting.length > 0) {
      // Only the total was not the bound: no other key was waiting for this slot.
      startNext(key);
    }
    forget(key, lane);
  };

  /** Room in a full queue for `lane`: the newest waiter of the longest queue, if longer than `lane`'s would be. */
  const makeRoom = (lane: Lane) => {
    let longest: Lane | undefined;
    for (const other of lanes.values()) if (!longest || other.waiting.length > longest.waiting.length) longest = other;
    if (!longest || longest.waiting.length <= lane.waiting.length + 1) return false;
    longest.waiting.pop()!.refuse(new RateLimitedError(1, refusal));
    waiting -= 1;
    return true;
  };

  const admit = (key: string, lane: Lane) => {
    // With a slot free, no waiter could take it (release() hands each slot on): starting at once jumps no queue.
    if (running < total && lane.running < perKey) {
      take(lane);
      return undefined;
    }
    if (lane.waiting.length >= queuedPerKey || (waiting >= queuedTotal && !makeRoom(lane))) {
      forget(key, lane);
      throw new RateLimitedError(1, refusal);
    }
    waiting += 1;
    // The slot is counted by startNext() before the waiter resumes.
    return new Promise<void>((start, refuse) => lane.waiting.push({ start, refuse }));
  };

  return {
    async run(key, task) {
      const lane = laneOf(key);
      const turn = admit(key, lane);
      if (turn) {
        try {
          await turn;
        } catch (error) {
          forget(key, lane);
          throw error;
        }
      }
      try {
        return await task();
      } finally {
        release(key, lane);
      }
    },
  };
}

/**
 * Per key, at most `concurrent` tasks at once and the next `queued` waiting their turn; past that, callers are told
 * to retry (RATE_LIMITED) instead of piling up. No bound across keys.
 */
export function createKeyedConcurrencyLimit(concurrent: number, queued: number, refusal?: string): KeyedConcurrencyLimit {
  return createFairShareLimit({ total: Infinity, perKey: concurrent, queuedPerKey: queued, queuedTotal: Infinity, refusal });
}

/** One lane: used for password hashing, whose memory cost is per running hash. */
export function createConcurrencyLimit(concurrency: number, queue: number): ConcurrencyLimit {
  const limit = createKeyedConcurrencyLimit(concurrency, queue);
  return { run: (task) => limit.run("", task) };
}
