/** Raised to the consumer of a queue it could not keep up with; the transport turns it into a close. */
export class SubscriberTooSlowError extends Error {
  constructor(readonly limit: number) {
    super(`Subscriber too slow: more than ${limit} events waiting`);
    this.name = "SubscriberTooSlowError";
  }
}

/**
 * A push-to-pull bridge with a hard size limit: the producer never waits and never grows memory past `limit`
 * values. When it would, the queue drops everything it holds and the consumer's next `next()` rejects with
 * SubscriberTooSlowError. Unlike an async generator, `return()` ends a pending `next()` at once, so a consumer
 * that goes away while idle releases its queue immediately.
 */
export class BoundedQueue<T> implements AsyncIterableIterator<T> {
  private buffer: T[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<T, undefined>) => void) | undefined;
  private failure: SubscriberTooSlowError | undefined;
  private ended = false;

  constructor(
    readonly limit: number,
    /** Called once when the queue ends, for whatever reason: to detach it from its source. */
    private readonly onEnd: () => void = () => {},
  ) {}

  get size(): number {
    return this.buffer.length - this.head;
  }

  get done(): boolean {
    return this.ended;
  }

  push(value: T): void {
    if (this.ended) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value, done: false });
      return;
    }
    if (this.size >= this.limit) {
      this.failure = new SubscriberTooSlowError(this.limit);
      this.end();
      return;
    }
    this.buffer.push(value);
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.size > 0) {
      const value = this.buffer[this.head]!;
      this.head += 1;
      // Compact now and then rather than shift() every time: shift is linear in the queue length.
      if (this.head >= 1024 && this.head * 2 >= this.buffer.length) {
        this.buffer = this.buffer.slice(this.head);
        this.head = 0;
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
    this.buffer = [];
    this.head = 0;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    this.onEnd();
  }
}
