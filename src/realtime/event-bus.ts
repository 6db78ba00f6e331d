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
  subscribe(filter: IncidentEventFilter): AsyncIterableIterator<IncidentEventMessage>;
}

type Topics = { [INCIDENT_EVENTS_TOPIC]: [IncidentEventMessage] | [number, IncidentEventMessage] };

export interface EventBusOptions {
  /** Events a subscriber may fall behind by before it is dropped. */
  queueLimit?: number;
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

export function createEventBus(options: EventBusOptions = {}): IncidentEventBus {
  const queueLimit = options.queueLimit ?? defaultQueueLimit;
  const target = options.eventTarget ?? (new EventTarget() as PubSubEventTarget<Topics>);
  const pubSub = createPubSub<Topics>({ eventTarget: target });
  return {
    publish(event) {
      // Once for the subscribers of every incident and once for those of this one: routing, not filtering.
      pubSub.publish(INCIDENT_EVENTS_TOPIC, event);
      pubSub.publish(INCIDENT_EVENTS_TOPIC, event.incidentId, event);
    },
    subscribe(filter) {
      // Not pubSub.subscribe(): its Repeater buffers without bound and throws inside dispatchEvent past 1,024
      // pending values. A listener that pushes into our own queue keeps publishing synchronous and memory bounded.
      const topic = topicOf(filter);
      const listener = (event: Event) => queue.push((event as CustomEvent<IncidentEventMessage>).detail);
      const queue: BoundedQueue<IncidentEventMessage> = new BoundedQueue(queueLimit, () =>
        target.removeEventListener(topic, listener),
      );
      target.addEventListener(topic, listener);
      return queue;
    },
  };
}
