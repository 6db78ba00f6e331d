/** Raised to the consumer of a queue it could not keep up with; the transport turns it into a close. */
export class SubscriberTooSlowError extends Error {
  constructor(
    readonly limit: number,
    what = "publications",
  ) {
    super(`Subscriber too slow: more than ${limit} ${what} waiting`);
    this.name = "SubscriberTooSlowError";
  }
}

/** One publication still to hand over: its values (shared by every queue it went to, never copied) and where we are. */
interface Pending<T> {
  values: readonly T[];
  index: number;
}

/**
 * A push-to-pull bridge with a hard size limit: the producer never waits, and the queue never holds more than
 * `limit` publications. A publication is what one `pushAll` gives, e.g. every event of one committed request:
 * a burst that a single request publishes at once counts once, so that a consumer that keeps up is never taken for a
 * slow one because the producer handed it a thousand values before it could run; one that falls behind by more than
 * `limit` publications is. The values of a publication are held by reference (the same array for every subscriber),
 * so memory stays within `limit` publications of the producer's own batches. When the limit would be passed, the
 * queue drops everything it holds and the consumer's next `next()` rejects with SubscriberTooSlowError. Unlike an
 * async generator, `return()` ends a pending `next()` at once, so a consumer that goes away while idle releases its
 * queue immediately.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private pending: Pending<T>[] = [];
  private head = 0;
  /** Values waiting, over all pending publications: what `maxValues` bounds. */
  private values = 0;
  private waiting: ((result: IteratorResult<T, undefined>) => void) | undefined;
  private failure: SubscriberTooSlowError | undefined;
  private ended = false;

  constructor(
    readonly limit: number,
    /** Called once when the queue ends, for whatever reason: to detach it from its source. */
    private readonly onEnd: () => void = () => {},
    /**
     * Values waiting at most, whatever the publications: a consumer that falls behind on a few huge publications holds
     * at most this many values alive (references; the values themselves are shared with the other queues).
     */
    readonly maxValues: number = limit * 100,
  ) {}

  /** Publications waiting (partly handed over included): what `limit` bounds. */
  get size(): number {
    return this.pending.length - this.head;
  }

  get done(): boolean {
    return this.ended;
  }

  push(value: T): void {
    this.pushAll([value]);
  }

  /** One publication of several values, handed over in order; counts as one against `limit`. */
  pushAll(values: readonly T[]): void {
    if (this.ended || values.length === 0) return;
    let index = 0;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: values[0]!, done: false });
      index = 1;
      if (index === values.length) return;
    }
    const tooMany = this.size >= this.limit;
    // A publication larger than the cap is taken by a queue with nothing else waiting: its array is shared by every
    // subscriber, and a subscriber keeping up with everything else is not slow (resolving an incident of 100,000
    // firing alerts publishes that many events at once).
    if (tooMany || (this.values > 0 && this.values + values.length - index > this.maxValues)) {
      this.failure = tooMany ? new SubscriberTooSlowError(this.limit) : new SubscriberTooSlowError(this.maxValues, "events");
      this.end();
      return;
    }
    this.pending.push({ values, index });
    this.values += values.length - index;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.size > 0) {
      const first = this.pending[this.head]!;
      const value = first.values[first.index]!;
      first.index += 1;
      this.values -= 1;
      if (first.index === first.values.length) {
        this.pending[this.head] = undefined as unknown as Pending<T>; // let the publication go
        this.head += 1;
        // Compact now and then rather than shift() every time: shift is linear in the queue length.
        if (this.head >= 1024 && this.head * 2 >= this.pending.length) {
          this.pending = this.pending.slice(this.head);
          this.head = 0;
        }
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.head = 0;
    this.values = 0;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    this.onEnd();
  }
}
