import { registerEnumType } from "type-graphql";

export const IncidentStatus = {
  OPEN: "OPEN",
  INVESTIGATING: "INVESTIGATING",
  RESOLVED: "RESOLVED",
  CLOSED: "CLOSED",
} as const;
export type IncidentStatus = (typeof IncidentStatus)[keyof typeof IncidentStatus];
export const incidentStatusValues = Object.values(IncidentStatus) as [IncidentStatus, ...IncidentStatus[]];

/** The whole lifecycle: every transition not listed here is refused. CLOSED is final. */
export const statusTransitions: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  OPEN: ["INVESTIGATING"],
  INVESTIGATING: ["RESOLVED"],
  RESOLVED: ["INVESTIGATING", "CLOSED"],
  CLOSED: [],
};

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return statusTransitions[from].includes(to);
}

registerEnumType(IncidentStatus, {
  name: "IncidentStatus",
  description: "OPEN -> INVESTIGATING -> RESOLVED -> CLOSED, with RESOLVED -> INVESTIGATING to reopen.",
});
