import { describe, expect, it } from "vitest";
import { IncidentStatus, canTransition, incidentStatusValues, statusTransitions } from "../../src/modules/incidents/incident-status.js";

const allowed = new Set(["OPEN->INVESTIGATING", "INVESTIGATING->RESOLVED", "RESOLVED->INVESTIGATING", "RESOLVED->CLOSED"]);
const pairs = incidentStatusValues.flatMap((from) => incidentStatusValues.map((to) => [from, to] as const));

describe("the status state machine", () => {
  it.each(pairs.filter(([from, to]) => allowed.has(`${from}->${to}`)))("allows %s -> %s", (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each(pairs.filter(([from, to]) => !allowed.has(`${from}->${to}`)))("rejects %s -> %s", (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it("makes CLOSED final", () => {
    expect(statusTransitions[IncidentStatus.CLOSED]).toEqual([]);
  });
});
