import type { Logger } from "pino";
import type { IncidentEventMessage } from "../modules/incidents/incident-event.js";
import type { IncidentEvents } from "../modules/incidents/incident.service.js";
import type { IncidentEventBus } from "./event-bus.js";

/**
 * Turns the service's after-commit callbacks into bus messages. The mutation has already committed when these
 * run, so a failure to publish is logged and swallowed: the caller must still get its result.
 */
/** Changes made by the system (alert ingestion): no actor. */
export interface SystemIncidentEvents {
  /** What `run` publishes goes out as one publication, when it returns (see IncidentEvents.batch). */
  batch(run: () => void): void;
  createdById(incidentId: number): void;
  updatedById(incidentId: number): void;
  alert(incidentId: number, alertId: number, logId: number | null, actor: null): void;
}

export function incidentEventPublisher(bus: IncidentEventBus, log: Logger): IncidentEvents & SystemIncidentEvents {
  /** The events of the batch being collected, if any. */
  let batch: IncidentEventMessage[] | undefined;
  const send = (events: readonly IncidentEventMessage[]) => {
    try {
      bus.publishAll(events);
    } catch (error) {
      log.error({ err: error, events: events.length, first: events[0] }, "incident events not published");
    }
  };
  const publish = (event: IncidentEventMessage) => {
    if (batch) batch.push(event);
    else send([event]);
  };
  return {
    batch(run) {
      // Synchronous: nothing else publishes between the start and the end of `run`. A nested batch joins the outer one.
      if (batch) return run();
      batch = [];
      try {
        run();
      } finally {
        const events = batch;
        batch = undefined;
        send(events);
      }
    },
    created: (incident, actor) => publish({ kind: "CREATED", incidentId: incident.id, logId: null, actorId: actor.id }),
    updated: (incident, actor) => publish({ kind: "UPDATED", incidentId: incident.id, logId: null, actorId: actor.id }),
    logAdded: (log, actor) => publish({ kind: "LOG_ADDED", incidentId: log.incidentId, logId: log.id, actorId: actor.id }),
    alert: (incidentId, alertId, logId, actor) => publish({ kind: "ALERT", incidentId, logId, actorId: actor?.id ?? null, alertId }),
    createdById: (incidentId) => publish({ kind: "CREATED", incidentId, logId: null, actorId: null }),
    updatedById: (incidentId) => publish({ kind: "UPDATED", incidentId, logId: null, actorId: null }),
    deleted: (incidentId, actor) => publish({ kind: "DELETED", incidentId, logId: null, actorId: actor.id }),
  };
}
