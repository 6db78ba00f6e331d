import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from "graphql";
import { SubscriberTooSlowError } from "./bounded-queue.js";
import type { TakeTurn } from "./connection-turns.js";

export interface PerEventHooks<TContext> {
  /** A fresh context for one event, or undefined when the subscriber may no longer receive events. */
  contextForEvent(): Promise<TContext | undefined>;
  /** What an event's result becomes before it is handed on (held to the response size limit, say). */
  bound?(result: ExecutionResult, context: TContext): ExecutionResult;
  /**
   * The connection's turn, taken before an event is executed and kept until the consumer asks for the next event
   * (graphql-ws does once it has sent the result) or the stream ends: a connection then holds one result at a time.
   */
  takeTurn?: TakeTurn;
  /** Counts a result (bounded) until the turn passes, when its message has been written: returns the release. */
  hold?(result: ExecutionResult): () => void;
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
 * `return()` reaches the source at once, even while waiting for the next event. Each result passes through
 * `bound` (the response size limit) and is executed in the connection's turn (`takeTurn`).
 */
export async function subscribePerEvent<TContext>(
  args: ExecutionArgs,
  hooks: PerEventHooks<TContext>,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  let finished = false;
  let pulling = false;
  let endTurn: (() => void) | undefined;
  const passTurn = () => {
    const end = endTurn;
    endTurn = undefined;
    end?.();
  };
  const finish = async () => {
    // While next() runs it owns the turn and passes it when it returns: a subscription completed in the middle of
    // an execution must not let another start before this one's result is let go.
    if (!pulling) passTurn();
    if (finished) return;
    finished = true;
    hooks.ended?.();
    await source.return?.();
  };

  const nextEvent = async (): Promise<IteratorResult<ExecutionResult, undefined>> => {
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
    endTurn = await hooks.takeTurn?.();
    if (finished) return done;
    const contextValue = await hooks.contextForEvent();
    if (contextValue === undefined || finished) {
      await finish();
      return done;
    }
    const execution = Promise.resolve(execute({ ...args, rootValue: event.value, contextValue }));
    hooks.executing?.(execution);
    const executed = await execution;
    const result = hooks.bound ? hooks.bound(executed, contextValue) : executed;
    const release = hooks.hold?.(result);
    if (release) {
      const end = endTurn;
      endTurn = () => {
        release();
        end?.();
      };
    }
    return { value: result, done: false };
  };

  const results: AsyncIterableIterator<ExecutionResult> = {
    async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
      // Asked for the next event, the consumer is done with the previous result: the turn passes on.
      passTurn();
      pulling = true;
      try {
        return await nextEvent();
      } catch (error) {
        // The consumer reports the error and does not come back: let go of the source and of the turn.
        await finish();
        throw error;
      } finally {
        pulling = false;
        if (finished) passTurn();
      }
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
