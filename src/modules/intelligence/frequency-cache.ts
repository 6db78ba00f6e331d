/**
 * Document counts of common terms and label pairs, kept for a while. Counting reads a term's whole posting list: at
 * 100,000 incidents a word on a fifth of them costs a millisecond or two, and similar() looks up 24 words, most of
 * them common ones. Such a count changes slowly and weighs little (a rarity is a logarithm: a count 1% off moves it
 * by 0.01), so it is reused until the collection has grown by 1% or `maxAgeMs` has passed (an edited or deleted
 * incident does not grow it). The caller keeps only common counts: small ones decide what is distinctive.
 */
export interface FrequencyCacheOptions {
  maxAgeMs: number;
  /** The oldest entries go first past this many. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  count: number;
  /** The collection's size when counted. */
  documents: number;
  at: number;
}

export class FrequencyCache {
  private readonly entries = new Map<string, Entry>();
  /** The largest collection size seen so far: an entry counted at under 99% of it is stale. */
  private documents = 0;

  constructor(private readonly options: FrequencyCacheOptions) {}

  /** The kept count of `key`, if it is still fresh. */
  get(key: string): number | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at > this.options.maxAgeMs || this.documents > entry.documents * 1.01) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.count;
  }

  /** Notes the collection's current size (which makes older counts stale as it grows). */
  observe(documents: number): void {
    this.documents = Math.max(this.documents, documents);
  }

  set(key: string, count: number): void {
    this.entries.delete(key);
    this.entries.set(key, { count, documents: this.documents, at: this.now() });
    if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
