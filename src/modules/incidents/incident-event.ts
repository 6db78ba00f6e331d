import type { IncidentEventKind } from "./incident-event-kind.js";

/**
 * What travels on the event bus: ids only, JSON-safe, so that a bus spanning processes (Redis) can carry it.
 * Subscribers load the rows through their own loaders when they deliver the event.
 */
export interface IncidentEventMessage {
  kind: IncidentEventKind;
  incidentId: number;
  /** Set for LOG_ADDED, and for ALERT when the change wrote a timeline entry. */
  logId: number | null;
  /** Null for changes made by the system (alerts). */
  actorId: number | null;
  /** Set for ALERT. */
  alertId?: number;
}

/** Which events a subscriber wants: all of them, or those of one incident. */
export interface IncidentEventFilter {
  incidentId?: number;
}

/** The one topic incident events are published on; a filter narrows it to one incident. */
export const INCIDENT_EVENTS_TOPIC = "INCIDENT_EVENTS";
