import { registerEnumType } from "type-graphql";

export const IncidentEventKind = {
  CREATED: "CREATED",
  UPDATED: "UPDATED",
  LOG_ADDED: "LOG_ADDED",
  DELETED: "DELETED",
  /** An alert fired, repeated, resolved or was acknowledged on the incident. */
  ALERT: "ALERT",
} as const;
export type IncidentEventKind = (typeof IncidentEventKind)[keyof typeof IncidentEventKind];

registerEnumType(IncidentEventKind, {
  name: "IncidentEventKind",
  description: "What a committed mutation did: one event per successful createIncident, updateIncident, addIncidentLog or deleteIncident, and one per alert change.",
});
