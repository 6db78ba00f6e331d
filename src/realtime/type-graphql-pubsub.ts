import type { PubSub } from "type-graphql";
import { INCIDENT_EVENTS_TOPIC, type IncidentEventFilter } from "../modules/incidents/incident-event.js";
import type { IncidentEventBus } from "./event-bus.js";

/**
 * What type-graphql's @Subscription({ topics, topicId }) subscribes through. The topic id is the subscriber's
 * filter (see IncidentEventResolver). Without a bus, as when only printing the schema, subscribing fails.
 */
export function typeGraphQLPubSub(bus: IncidentEventBus | undefined): PubSub {
  return {
    publish() {
      throw new Error("Incident events are published through IncidentEventBus, after the transaction commits");
    },
    subscribe(routingKey, filter) {
      if (routingKey !== INCIDENT_EVENTS_TOPIC) throw new Error(`Unknown topic ${routingKey}`);
      if (!bus) throw new Error("No event bus is wired into this schema");
      return bus.subscribe((filter ?? {}) as IncidentEventFilter);
    },
  };
}
