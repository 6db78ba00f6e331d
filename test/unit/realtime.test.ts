import { GraphQLBoolean, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from "graphql";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IncidentEventMessage } from "../../src/modules/incidents/incident-event.js";
import type { UserRow } from "../../src/modules/users/user.table.js";
import { BoundedQueue, SubscriberTooSlowError } from "../../src/realtime/bounded-queue.js";
import { createConnectionWatchdog, type WatchedConnection } from "../../src/realtime/connection-watchdog.js";
import { createEventBus, type IncidentEventBus } from "../../src/realtime/event-bus.js";
import { createTurns } from "../../src/realtime/connection-turns.js";
import { subscribePerEvent } from "../../src/realtime/per-event-execution.js";
import type { Refusal } from "../../src/realtime/subscriber-auth.js";

const note = (incidentId: number, logId: number): IncidentEventMessage => ({ kind: "LOG_ADDED", incidentId, logId, actorId: 1 });

describe("BoundedQueue", () => {
  it("hands values over in order and ends a pending next() on return()", async () => {
    const onEnd = vi.fn();
    const queue = new BoundedQueue<number>(3, onEnd);
    queue.push(1);
    queue.push(2);
    expect(await queue.next()).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    const pending = queue.next();
    await queue.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(onEnd).toHaveBeenCalledOnce();
  });

  it("drops what it holds and fails its consumer once it would exceed its limit", async () => {
    const onEnd = vi.fn();
    const queue = new BoundedQueue<number>(3, onEnd);
    for (let i = 0; i < 4; i++) queue.push(i);
    expect(queue.size).toBe(0);
    expect(onEnd).toHaveBeenCalledOnce();
    await expect(queue.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    queue.push(5);
    expect(queue.size).toBe(0);
  });

  it("counts one publication of many values once against its limit, and still fails a consumer that falls behind", async () => {
    const queue = new BoundedQueue<number>(2, () => {}, 10_000);
    const burst = Array.from({ length: 5_000 }, (_, i) => i);
    queue.pushAll(burst);
    queue.push(5_000);
    const seen: number[] = [];
    for (let i = 0; i <= 5_000; i++) seen.push((await queue.next()).value!);
    expect(seen).toEqual([...burst, 5_000]);
    // Idle consumer: the first value goes straight to it, the rest of the publication waits as one.
    const pending = queue.next();
    queue.pushAll([1, 2, 3]);
    expect(await pending).toEqual({ value: 1, done: false });
    queue.pushAll([4, 5]);
    expect(queue.size).toBe(2);
    queue.pushAll([6]);
    await expect(queue.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
  });

  it("fails a consumer whose waiting values would pass maxValues, however few the publications", async () => {
    const onEnd = vi.fn();
    const queue = new BoundedQueue<number>(10, onEnd, 5);
    queue.pushAll([1, 2, 3]);
    queue.pushAll([4, 5]);
    expect((await queue.next()).value).toBe(1);
    queue.pushAll([6]); // 5 waiting: at the bound, not past it
    expect(onEnd).not.toHaveBeenCalled();
    queue.pushAll([7]);
    expect(onEnd).toHaveBeenCalledOnce();
    await expect(queue.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
  });

  it("takes one publication larger than maxValues when nothing else waits: one large change is not a slow consumer", async () => {
    const onEnd = vi.fn();
    const queue = new BoundedQueue<number>(10, onEnd, 5);
    queue.pushAll([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(onEnd).not.toHaveBeenCalled();
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) seen.push((await queue.next()).value!);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    queue.pushAll([9, 10, 11, 12, 13, 14]);
    queue.pushAll([15]); // now waiting behind more than maxValues
    expect(onEnd).toHaveBeenCalledOnce();
  });

  it("keeps order across its internal compaction", async () => {
    const queue = new BoundedQueue<number>(5_000);
    const seen: number[] = [];
    for (let i = 0; i < 4_000; i++) queue.push(i);
    for (let i = 0; i < 3_000; i++) seen.push((await queue.next()).value!);
    for (let i = 4_000; i < 6_000; i++) queue.push(i);
    while (queue.size > 0) seen.push((await queue.next()).value!);
    expect(seen).toEqual(Array.from({ length: 6_000 }, (_, i) => i));
  });
});

describe("the in-memory event bus", () => {
  it("routes by incident and stops delivering to a subscriber that returned", async () => {
    const bus = createEventBus();
    const all = bus.subscribe({});
    const seven = bus.subscribe({ incidentId: 7 });
    bus.publish(note(3, 1));
    bus.publish(note(7, 2));
    expect((await all.next()).value?.logId).toBe(1);
    expect((await all.next()).value?.logId).toBe(2);
    expect((await seven.next()).value?.logId).toBe(2);
    await seven.return?.();
    bus.publish(note(7, 3));
    expect(await seven.next()).toEqual({ value: undefined, done: true });
    expect((await all.next()).value?.logId).toBe(3);
  });

  it("routes one publication of many events to every incident's subscribers whole, and to each incident's its own, in order", async () => {
    const bus = createEventBus({ queueLimit: 1, maxQueuedEvents: 3_000 });
    const all = bus.subscribe({});
    const seven = bus.subscribe({ incidentId: 7 });
    const events = Array.from({ length: 3_000 }, (_, i) => note(i % 3 === 0 ? 7 : 3, i));
    bus.publishAll(events);
    for (const event of events) expect((await all.next()).value).toEqual(event);
    for (const event of events.filter((e) => e.incidentId === 7)) expect((await seven.next()).value).toEqual(event);
  });

  it("takes any number of subscribers of one topic without a leak warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const bus = createEventBus();
      const subscribers = Array.from({ length: 50 }, () => bus.subscribe({}));
      bus.publish(note(1, 1));
      for (const subscriber of subscribers) expect((await subscriber.next()).value?.logId).toBe(1);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("fails only the subscriber that fell behind", async () => {
    const bus = createEventBus({ queueLimit: 2 });
    const slow = bus.subscribe({});
    const fast = bus.subscribe({});
    for (let logId = 1; logId <= 3; logId++) {
      bus.publish(note(1, logId));
      expect((await fast.next()).value?.logId).toBe(logId);
    }
    await expect(slow.next()).rejects.toThrow("Subscriber too slow: more than 2 publications waiting");
  });
});

describe("subscribePerEvent", () => {
  const schemaOver = (bus: IncidentEventBus) =>
    new GraphQLSchema({
      query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLBoolean } } }),
      subscription: new GraphQLObjectType({
        name: "Subscription",
        fields: {
          event: {
            type: GraphQLString,
            subscribe: () => bus.subscribe({}),
            resolve: (event: IncidentEventMessage, _args, context: { id: number }) => `${event.logId}@${context.id}`,
          },
        },
      }),
    });

  it("executes every event with a context of its own, in order", async () => {
    const bus = createEventBus();
    let contexts = 0;
    const stream = (await subscribePerEvent(
      { schema: schemaOver(bus), document: parse("subscription { event }") },
      { contextForEvent: async () => ({ id: ++contexts }), tooSlow: () => {} },
    )) as AsyncIterableIterator<ExecutionResult>;
    bus.publish(note(1, 10));
    bus.publish(note(1, 11));
    expect((await stream.next()).value).toEqual({ data: { event: "10@1" } });
    expect((await stream.next()).value).toEqual({ data: { event: "11@2" } });
    const waiting = stream.next();
    await stream.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  it("ends the stream and reports a subscriber whose queue overflowed", async () => {
    const bus = createEventBus({ queueLimit: 2 });
    const tooSlow = vi.fn();
    const ended = vi.fn();
    const stream = (await subscribePerEvent(
      { schema: schemaOver(bus), document: parse("subscription { event }") },
      { contextForEvent: async () => ({ id: 1 }), tooSlow, ended },
    )) as AsyncIterableIterator<ExecutionResult>;
    for (let logId = 1; logId <= 3; logId++) bus.publish(note(1, logId));
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(tooSlow).toHaveBeenCalledWith(expect.any(SubscriberTooSlowError));
    expect(ended).toHaveBeenCalledOnce();
  });

  it("delivers nothing once the subscriber may no longer receive events", async () => {
    const bus = createEventBus();
    const stream = (await subscribePerEvent(
      { schema: schemaOver(bus), document: parse("subscription { event }") },
      { contextForEvent: async () => undefined, tooSlow: () => {} },
    )) as AsyncIterableIterator<ExecutionResult>;
    bus.publish(note(1, 1));
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
  it("executes the events of one connection's streams one at a time: a result is let go before the next executes", async () => {
    const bus = createEventBus();
    const takeTurn = createTurns();
    const executed: string[] = [];
    const open = async (name: string, contextForEvent: () => Promise<{ id: number }>) =>
      (await subscribePerEvent(
        { schema: schemaOver(bus), document: parse("subscription { event }") },
        { contextForEvent: async () => (executed.push(name), contextForEvent()), tooSlow: () => {}, takeTurn },
      )) as AsyncIterableIterator<ExecutionResult>;
    const a = await open("a", async () => ({ id: 1 }));
    const b = await open("b", async () => ({ id: 2 }));
    const failing = await open("failing", async () => {
      throw new Error("database gone");
    });
    bus.publish(note(1, 10));
    expect((await a.next()).value).toEqual({ data: { event: "10@1" } });
    // `a` holds its result (graphql-ws is sending it): `b` waits for the turn.
    const bNext = b.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(executed).toEqual(["a"]);
    // Asking for its next event, `a` lets go of its result and of the turn.
    const aNext = a.next();
    expect((await bNext).value).toEqual({ data: { event: "10@2" } });
    expect(executed).toEqual(["a", "b"]);
    // A stream that fails passes the turn on too.
    const failed = failing.next();
    await b.return!();
    await expect(failed).rejects.toThrow("database gone");
    bus.publish(note(1, 11));
    expect((await aNext).value).toEqual({ data: { event: "11@1" } });
    await a.return!();
  });

  it("hands each result to `bound` with the context it was executed with", async () => {
    const bus = createEventBus();
    const stream = (await subscribePerEvent(
      { schema: schemaOver(bus), document: parse("subscription { event }") },
      { contextForEvent: async () => ({ id: 7 }), tooSlow: () => {}, bound: (result, context) => ({ ...result, extensions: { context: context.id } }) },
    )) as AsyncIterableIterator<ExecutionResult>;
    bus.publish(note(1, 1));
    expect((await stream.next()).value).toEqual({ data: { event: "1@7" }, extensions: { context: 7 } });
  });
});

describe("the connection watchdog", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const user = (changes: Partial<UserRow> = {}): UserRow => ({
    id: 1,
    email: "a@x.io",
    name: "A",
    passwordHash: "",
    role: "VIEWER",
    active: true,
    tokenVersion: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...changes,
  });

  const connection = (expiresAt: number) => {
    const closes: Refusal[] = [];
    const watched: WatchedConnection = { identity: { userId: 1, tokenVersion: 0, expiresAt }, close: (refusal) => closes.push(refusal) };
    return { watched, closes };
  };

  it("closes a connection when its token expires, between sweeps", async () => {
    vi.useFakeTimers();
    const watchdog = createConnectionWatchdog({ findUsers: async () => [user()], intervalMs: 60_000, log: pino({ level: "silent" }) });
    const { watched, closes } = connection(Date.now() + 1_500);
    watchdog.watch(watched);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(closes).toEqual([{ code: 4401, reason: "Unauthorized: token expired" }]);
    watchdog.stop();
  });

  it("closes connections whose user was deactivated or whose tokens were revoked, reading users in one call", async () => {
    let current = user();
    const findUsers = vi.fn(async () => [current]);
    const watchdog = createConnectionWatchdog({ findUsers, intervalMs: 60_000, log: pino({ level: "silent" }) });
    const first = connection(Date.now() + 3_600_000);
    const second = connection(Date.now() + 3_600_000);
    watchdog.watch(first.watched);
    const unwatch = watchdog.watch(second.watched);
    await watchdog.sweep();
    expect(first.closes).toEqual([]);
    expect(findUsers).toHaveBeenCalledWith([1]);

    current = user({ tokenVersion: 1 });
    unwatch();
    await watchdog.sweep();
    expect(first.closes).toEqual([{ code: 4401, reason: "Unauthorized: token revoked" }]);
    expect(second.closes).toEqual([]);
    watchdog.stop();
  });
});
