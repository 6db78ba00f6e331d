import { setMaxListeners } from "node:events";
import { createPubSub, type PubSubEventTarget } from "@graphql-yoga/subscription";
import {
  INCIDENT_EVENTS_TOPIC,
  type IncidentEventFilter,
  type IncidentEventMessage,
} from "../modules/incidents/incident-event.js";
import { BoundedQueue } from "./bounded-queue.js";

/**
 * The seam between writers and subscribers. Writers publish after their transaction commits; each subscriber
 * gets its own bounded queue, whose iterator rejects with SubscriberTooSlowError when it overflows.
 */
export interface IncidentEventBus {
  publish(event: IncidentEventMessage): void;
  /**
   * The events of one committed change (e.g. one alert request), in order, as one publication: each subscriber's
   * queue counts it once against its limit, however many events it holds.
   */
  publishAll(events: readonly IncidentEventMessage[]): void;
  subscribe(filter: IncidentEventFilter): AsyncIterableIterator<IncidentEventMessage>;
}

/** A message is one event, or one publication of several (in order); a listener takes either. */
type Message = IncidentEventMessage | readonly IncidentEventMessage[];
type Topics = { [INCIDENT_EVENTS_TOPIC]: [Message] | [number, Message] };

export interface EventBusOptions {
  /** Publications (a single event, or all of one `publishAll`) a subscriber may fall behind by before it is dropped. */
  queueLimit?: number;
  /** Events a subscriber's queue holds at most, however few the publications (default: 100 x queueLimit). */
  maxQueuedEvents?: number;
  /**
   * Where events travel. The default is in-process; a distributed EventTarget (e.g. @graphql-yoga/redis-event-target)
   * makes the same bus span several server processes, which is why messages carry ids only.
   */
  eventTarget?: PubSubEventTarget<Topics>;
}

export const defaultQueueLimit = 1_000;

/** Mirrors createPubSub's naming: a routing id is appended to the topic. */
const topicOf = (filter: IncidentEventFilter) =>
  filter.incidentId === undefined ? INCIDENT_EVENTS_TOPIC : `${INCIDENT_EVENTS_TOPIC}:${filter.incidentId}`;

/**
 * Every subscription listens on one topic of it: without this, the eleventh subscriber printed "Possible
 * EventTarget memory leak detected" to the server's stderr.
 */
function inProcessTarget(): PubSubEventTarget<Topics> {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target as PubSubEventTarget<Topics>;
}

export function createEventBus(options: EventBusOptions = {}): IncidentEventBus {
  const queueLimit = options.queueLimit ?? defaultQueueLimit;
  const target = options.eventTarget ?? inProcessTarget();
  const pubSub = createPubSub<Topics>({ eventTarget: target });
  return {
    publish(event) {
      // Once for the subscribers of every incident and once for those of this one: routing, not filtering.
      pubSub.publish(INCIDENT_EVENTS_TOPIC, event);
      pubSub.publish(INCIDENT_EVENTS_TOPIC, event.incidentId, event);
    },
    publishAll(events) {
      if (events.length === 0) return;
      if (events.length === 1) return this.publish(events[0]!);
      // The same routing: all of them to every incident's subscribers, each incident's own (in order) to its own.
      pubSub.publish(INCIDENT_EVENTS_TOPIC, events);
      const byIncident = new Map<number, IncidentEventMessage[]>();
      for (const event of events) {
        const list = byIncident.get(event.incidentId);
        if (list) list.push(event);
        else byIncident.set(event.incidentId, [event]);
      }
      for (const [incidentId, list] of byIncident) pubSub.publish(INCIDENT_EVENTS_TOPIC, incidentId, list.length === 1 ? list[0]! : list);
    },
    subscribe(filter) {
      // Not pubSub.subscribe(): its Repeater buffers without bound and throws inside dispatchEvent past 1,024
      // pending values. A listener that pushes into our own queue keeps publishing synchronous and memory bounded.
      const topic = topicOf(filter);
      const listener = (event: Event) => {
        const detail = (event as CustomEvent<Message>).detail;
        if (Array.isArray(detail)) queue.pushAll(detail as readonly IncidentEventMessage[]);
        else queue.push(detail as IncidentEventMessage);
      };
      const queue: BoundedQueue<IncidentEventMessage> = new BoundedQueue(
        queueLimit,
        () => target.removeEventListener(topic, listener),
        options.maxQueuedEvents ?? queueLimit * 100,
      );
      target.addEventListener(topic, listener);
      return queue;
    },
  };
}
