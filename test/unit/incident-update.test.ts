import { describe, expect, it } from "vitest";
import { planIncidentUpdate } from "../../src/modules/incidents/incident-update.js";
import type { IncidentRow } from "../../src/modules/incidents/incident.table.js";
import { BadUserInputError, InvalidStatusTransitionError } from "../../src/shared/errors.js";

const created = new Date("2026-01-01T00:00:00.000Z");
const now = new Date("2026-01-02T00:00:00.000Z");

function incident(overrides: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id: 1,
    title: "Checkout is down",
    description: "",
    status: "OPEN",
    priority: "HIGH",
    priorityRank: 3,
    reporterId: 1,
    assigneeId: null,
    version: 1,
    createdAt: created,
    updatedAt: created,
    acknowledgedAt: null,
    resolvedAt: null,
    closedAt: null,
    serviceId: null,
    mergedIntoId: null,
    resolvedBySystem: false,
    ...overrides,
  };
}

describe("planning an incident update", () => {
  it("changes nothing and writes nothing when every value is the current one", () => {
    const plan = planIncidentUpdate(incident(), { title: "Checkout is down", status: "OPEN", priority: "HIGH", assignee: null }, now);
    expect(plan).toEqual({ changes: {}, entries: [] });
  });

  it("writes one entry per kind of change", () => {
    const plan = planIncidentUpdate(
      incident(),
      { title: "Checkout down", description: "500s", status: "INVESTIGATING", priority: "CRITICAL", assignee: { id: 2, name: "Bo" } },
      now,
    );
    expect(plan.entries.map((entry) => entry.kind)).toEqual(["EDIT", "STATUS_CHANGE", "PRIORITY_CHANGE", "ASSIGNMENT"]);
    expect(plan.entries[1]).toMatchObject({ fromStatus: "OPEN", toStatus: "INVESTIGATING" });
    expect(plan.changes).toMatchObject({ title: "Checkout down", assigneeId: 2, acknowledgedAt: now, updatedAt: now });
  });

  it("sets acknowledgedAt only on the first entry into INVESTIGATING", () => {
    const first = new Date("2026-01-01T01:00:00.000Z");
    const plan = planIncidentUpdate(incident({ status: "RESOLVED", acknowledgedAt: first }), { status: "INVESTIGATING" }, now);
    expect(plan.changes.acknowledgedAt).toBeUndefined();
  });

  it("sets resolvedAt on every entry into RESOLVED and closedAt on close", () => {
    expect(planIncidentUpdate(incident({ status: "INVESTIGATING" }), { status: "RESOLVED" }, now).changes.resolvedAt).toBe(now);
    expect(planIncidentUpdate(incident({ status: "RESOLVED" }), { status: "CLOSED" }, now).changes.closedAt).toBe(now);
  });

  it("rejects OPEN -> RESOLVED with the allowed targets", () => {
    const attempt = () => planIncidentUpdate(incident(), { status: "RESOLVED" }, now);
    expect(attempt).toThrow(InvalidStatusTransitionError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ from: "OPEN", to: "RESOLVED", allowed: ["INVESTIGATING"] });
    }
  });

  it("refuses any real change to a closed incident", () => {
    expect(() => planIncidentUpdate(incident({ status: "CLOSED" }), { priority: "LOW" }, now)).toThrow(BadUserInputError);
    expect(() => planIncidentUpdate(incident({ status: "CLOSED" }), { status: "INVESTIGATING" }, now)).toThrow(
      InvalidStatusTransitionError,
    );
  });

  it("unassigns with null and records it", () => {
    const plan = planIncidentUpdate(incident({ assigneeId: 2 }), { assignee: null }, now);
    expect(plan.changes.assigneeId).toBeNull();
    expect(plan.entries).toEqual([{ kind: "ASSIGNMENT", message: "Unassigned" }]);
  });

  it("writes one EDIT entry for a change of service and labels, none for the same label set", () => {
    const labels = [{ key: "env", value: "prod" }];
    const plan = planIncidentUpdate(incident({ serviceId: 1 }), { service: { id: 2, name: "Checkout" }, labels }, now, []);
    expect(plan.changes.serviceId).toBe(2);
    expect(plan.labels).toEqual(labels);
    expect(plan.entries).toEqual([{ kind: "EDIT", message: "Service set to Checkout; Labels set to env=prod" }]);
    const same = planIncidentUpdate(incident({ serviceId: 2 }), { service: { id: 2, name: "Checkout" }, labels }, now, labels);
    expect(same.entries).toEqual([]);
    expect(same.labels).toBeUndefined();
  });

  it("refuses a service or label change on a closed incident", () => {
    expect(() => planIncidentUpdate(incident({ status: "CLOSED" }), { service: null }, now)).not.toThrow(); // no change: already none
    expect(() => planIncidentUpdate(incident({ status: "CLOSED" }), { labels: [{ key: "a", value: "b" }] }, now, [])).toThrow(BadUserInputError);
  });

  it("makes a person's resolution theirs: an earlier resolution by the system no longer counts", () => {
    const reopened = incident({ status: "INVESTIGATING", resolvedBySystem: true });
    expect(planIncidentUpdate(reopened, { status: "RESOLVED" }, now).changes.resolvedBySystem).toBe(false);
    expect(planIncidentUpdate(reopened, { priority: "LOW" }, now).changes).not.toHaveProperty("resolvedBySystem");
  });
});
