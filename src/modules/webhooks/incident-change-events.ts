import type { Work } from "../../db/sql-work.js";
import type { ResolvedAlerts } from "../alerts/alert-ingest.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import type { Label } from "../services/label.rules.js";
import type { WebhookOutbox } from "./webhook-outbox.js";

export interface IncidentChange {
  incident: Omit<IncidentRow, "priorityRank">;
  labels: readonly Label[];
  /** Null: the system made the change. */
  actorId: number | null;
  at: Date;
  /** Firing alerts the change resolved, with their timeline entries. */
  alerts?: ResolvedAlerts;
}

/** The events of one committed incident change (an update, a merge): incident.updated, then each alert it resolved. */
export function* incidentChangeEvents(outbox: WebhookOutbox, change: IncidentChange): Work<void> {
  const { incident, labels, actorId, at } = change;
  const base = { incidentId: incident.id, serviceId: incident.serviceId, actorId, at };
  yield* outbox.record({ ...base, type: "INCIDENT_UPDATED", incident: { row: incident, labels } });
  if (change.alerts) yield* outbox.recordAlerts({ ...base, type: "ALERT_RESOLVED", incident: { row: incident, labels } }, change.alerts);
}
