import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from "graphql";
import { SubscriberTooSlowError } from "./bounded-queue.js";

export interface PerEventHooks<TContext> {
  /** A fresh context for one event, or undefined when the subscriber may no longer receive events. */
  contextForEvent(): Promise<TContext | undefined>;
  /** The source queue overflowed: the subscriber has fallen too far behind. */
  tooSlow(error: SubscriberTooSlowError): void;
  /** Sees every event's execution, so that a shutdown can wait for those under way before closing the database. */
  executing?(execution: Promise<unknown>): void;
  /** The stream has ended and let go of its source, for whatever reason. Called once. */
  ended?(): void;
}

const done: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * graphql-js's subscribe() runs every event with the context of the subscription operation, so DataLoader
 * caches would live (and go stale) for the whole subscription. This does the same work, but executes each event
 * with a context of its own. Events are pulled one at a time, so they are delivered in the order published;
 * `return()` reaches the source at once, even while waiting for the next event.
 */
export async function subscribePerEvent<TContext>(
  args: ExecutionArgs,
  hooks: PerEventHooks<TContext>,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    hooks.ended?.();
    await source.return?.();
  };

  const results: AsyncIterableIterator<ExecutionResult> = {
    async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
      if (finished) return done;
      let event: IteratorResult<unknown>;
      try {
        event = await source.next();
      } catch (error) {
        await finish();
        if (!(error instanceof SubscriberTooSlowError)) throw error;
        hooks.tooSlow(error);
        return done;
      }
      if (event.done || finished) {
        await finish();
        return done;
      }
      const contextValue = await hooks.contextForEvent();
      if (contextValue === undefined || finished) {
        await finish();
        return done;
      }
      const execution = Promise.resolve(execute({ ...args, rootValue: event.value, contextValue }));
      hooks.executing?.(execution);
      return { value: await execution, done: false };
    },
    async return() {
      await finish();
      return done;
    },
    async throw(error: unknown) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]: () => results,
  };
  return results;
}
