/**
 * A least-recently-used cache bounded by an estimate of the heap its entries hold, not by their number: one
 * entry may weigh a thousand times another (a compiled 16 KB query against a compiled `{ me { id } }`).
 *
 * With `admitOnRecurrence`, a key is stored only once it has been offered twice within the window. Real clients
 * send the same few documents again and again; a flood of one-off keys then never displaces them, and costs only
 * the doorkeeper's record of having seen each key, itself bounded by a share of the budget.
 */
export interface ByteBudgetCacheOptions {
  /** The most the entries may weigh together, keys included. */
  maxBytes: number;
  /** Heavier entries are not stored at all; defaults to a quarter of the budget. */
  maxEntryBytes?: number;
  admitOnRecurrence?: { windowMs: number; now?: () => number };
}

export interface ByteBudgetCache<V> {
  get(key: string): V | undefined;
  /** Stores `value`, weighing `bytes` plus its key, evicting the least recently used; false when it was not stored. */
  set(key: string, value: V, bytes: number): boolean;
  delete(key: string): void;
  /**
   * Whether an entry of `key` weighing `bytes` would be stored now; records the offer for the doorkeeper, so ask
   * once per use. Lets a caller skip building a value (compiling a query) that the cache would not keep.
   */
  admits(key: string, bytes: number): boolean;
  clear(): void;
  readonly bytes: number;
  readonly size: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
}

/** What a string key costs on the heap: two bytes a character (the worst case) and the entry's own overhead. */
export const keyBytes = (key: string) => 2 * key.length + 64;

interface Entry<V> {
  value: V;
  bytes: number;
}

/** Keys offered once, by the time they were first offered; evicted oldest first, within `maxBytes`. */
function doorkeeper(maxBytes: number, windowMs: number, now: () => number) {
  const seen = new Map<string, number>();
  let bytes = 0;
  const drop = (key: string) => {
    if (seen.delete(key)) bytes -= keyBytes(key);
  };
  return {
    /** True when `key` was offered before within the window (and forgets it: it is about to be stored). */
    recurs(key: string): boolean {
      const first = seen.get(key);
      if (first !== undefined && now() - first <= windowMs) {
        drop(key);
        return true;
      }
      drop(key);
      const cost = keyBytes(key);
      if (cost > maxBytes) return false;
      while (bytes + cost > maxBytes) drop(seen.keys().next().value!);
      seen.set(key, now());
      bytes += cost;
      return false;
    },
    clear() {
      seen.clear();
      bytes = 0;
    },
  };
}

export function createByteBudgetCache<V>(options: ByteBudgetCacheOptions): ByteBudgetCache<V> {
  const entries = new Map<string, Entry<V>>();
  const maxEntryBytes = Math.min(options.maxEntryBytes ?? options.maxBytes / 4, options.maxBytes);
  let total = 0;
  const recurrence = options.admitOnRecurrence;
  // A sixteenth of the budget remembers one-off keys: at 64 bytes plus a hash-sized key, thousands of them.
  const door = recurrence && doorkeeper(options.maxBytes / 16, recurrence.windowMs, recurrence.now ?? Date.now);

  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    total -= entry.bytes;
  };

  const fits = (key: string, bytes: number) => bytes + keyBytes(key) <= maxEntryBytes;

  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      // Re-inserted, so that the map's order stays least recently used first.
      entries.delete(key);
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, bytes) {
      remove(key);
      if (!fits(key, bytes)) return false;
      const weight = bytes + keyBytes(key);
      while (total + weight > options.maxBytes) remove(entries.keys().next().value!);
      entries.set(key, { value, bytes: weight });
      total += weight;
      return true;
    },
    delete: remove,
    admits(key, bytes) {
      if (!fits(key, bytes)) return false;
      return door ? door.recurs(key) : true;
    },
    clear() {
      entries.clear();
      door?.clear();
      total = 0;
    },
    get bytes() {
      return total;
    },
    get size() {
      return entries.size;
    },
    maxBytes: options.maxBytes,
    maxEntryBytes,
  };
}
