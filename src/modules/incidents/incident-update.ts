import { BadUserInputError, InvalidStatusTransitionError } from "../../shared/errors.js";
import { sameLabels, type Label } from "../services/label.rules.js";
import { LogKind } from "./incident-log-kind.js";
import type { Priority } from "./incident-priority.js";
import { IncidentStatus, canTransition, statusTransitions } from "./incident-status.js";
import type { IncidentRow } from "./incident.table.js";

/** A validated partial update: a key that is absent stays as it is. */
export interface IncidentPatch {
  title?: string;
  description?: string;
  status?: IncidentStatus;
  priority?: Priority;
  /** `null` unassigns. */
  assignee?: { id: number; name: string } | null;
  /** `null` detaches. */
  service?: { id: number; name: string } | null;
  /** Replaces the whole set; sorted by key. */
  labels?: Label[];
}

export interface TimelineEntry {
  kind: LogKind;
  message: string;
  fromStatus?: IncidentStatus;
  toStatus?: IncidentStatus;
}

/** The row a timeline entry is stored as, written by the caller at `at`. */
export function timelineRow(incidentId: number, authorId: number | null, entry: TimelineEntry, at: Date) {
  return {
    incidentId,
    authorId,
    kind: entry.kind,
    message: entry.message,
    fromStatus: entry.fromStatus ?? null,
    toStatus: entry.toStatus ?? null,
    createdAt: at,
  };
}

export type IncidentChanges = Partial<
  Pick<
    IncidentRow,
    "title" | "description" | "status" | "priority" | "assigneeId" | "serviceId" | "updatedAt" | "acknowledgedAt" | "resolvedAt" | "closedAt" | "resolvedBySystem"
  >
>;

export interface IncidentUpdatePlan {
  changes: IncidentChanges;
  entries: TimelineEntry[];
  /** The new label set, when it changes. */
  labels?: Label[];
}

/** Whether the plan moves the incident to where its firing alerts resolve with it. */
export const resolvesAlerts = (plan: IncidentUpdatePlan) => plan.changes.status === "RESOLVED" || plan.changes.status === "CLOSED";

/**
 * Decides what an update really changes and which timeline entries it writes; pure, so the repository can run
 * it inside the transaction against the row it has just locked. Fields set to their current value are no-ops.
 */
export function planIncidentUpdate(current: IncidentRow, patch: IncidentPatch, now: Date, currentLabels: readonly Label[] = []): IncidentUpdatePlan {
  const changes: IncidentChanges = {};
  const entries: TimelineEntry[] = [];
  const serviceChanged = patch.service !== undefined && (patch.service?.id ?? null) !== current.serviceId;
  const labelsChanged = patch.labels !== undefined && !sameLabels(patch.labels, currentLabels);

  const titleChanged = patch.title !== undefined && patch.title !== current.title;
  const descriptionChanged = patch.description !== undefined && patch.description !== current.description;
  const statusChanged = patch.status !== undefined && patch.status !== current.status;
  const priorityChanged = patch.priority !== undefined && patch.priority !== current.priority;
  const assigneeChanged = patch.assignee !== undefined && (patch.assignee?.id ?? null) !== current.assigneeId;
  if (!(titleChanged || descriptionChanged || statusChanged || priorityChanged || assigneeChanged || serviceChanged || labelsChanged)) {
    return { changes, entries };
  }

  if (statusChanged) {
    const to = patch.status!;
    if (!canTransition(current.status, to)) {
      throw new InvalidStatusTransitionError(current.status, to, statusTransitions[current.status]);
    }
  } else if (current.status === IncidentStatus.CLOSED) {
    throw new BadUserInputError("A closed incident cannot be changed; notes can still be added");
  }

  // One EDIT entry for everything edited at once: text, service, labels.
  const edits: string[] = [];
  if (titleChanged || descriptionChanged) {
    if (titleChanged) changes.title = patch.title!;
    if (descriptionChanged) changes.description = patch.description!;
    const what = titleChanged && descriptionChanged ? "Title and description" : titleChanged ? "Title" : "Description";
    edits.push(`${what} edited`);
  }
  if (serviceChanged) {
    changes.serviceId = patch.service?.id ?? null;
    edits.push(patch.service ? `Service set to ${patch.service.name}` : "Service removed");
  }
  if (labelsChanged) {
    const text = patch.labels!.map((label) => `${label.key}=${label.value}`).join(", ");
    edits.push(text ? `Labels set to ${text}` : "Labels removed");
  }
  if (edits.length > 0) entries.push({ kind: LogKind.EDIT, message: edits.join("; ") });
  if (statusChanged) {
    const to = patch.status!;
    changes.status = to;
    if (to === IncidentStatus.INVESTIGATING && current.acknowledgedAt === null) changes.acknowledgedAt = now;
    if (to === IncidentStatus.RESOLVED) {
      changes.resolvedAt = now;
      changes.resolvedBySystem = false;
    }
    if (to === IncidentStatus.CLOSED) changes.closedAt = now;
    entries.push({
      kind: LogKind.STATUS_CHANGE,
      message: `Status changed from ${current.status} to ${to}`,
      fromStatus: current.status,
      toStatus: to,
    });
  }
  if (priorityChanged) {
    changes.priority = patch.priority!;
    entries.push({ kind: LogKind.PRIORITY_CHANGE, message: `Priority changed from ${current.priority} to ${patch.priority}` });
  }
  if (assigneeChanged) {
    changes.assigneeId = patch.assignee?.id ?? null;
    entries.push({ kind: LogKind.ASSIGNMENT, message: patch.assignee ? `Assigned to ${patch.assignee.name}` : "Unassigned" });
  }
  changes.updatedAt = now;
  return labelsChanged ? { changes, entries, labels: patch.labels! } : { changes, entries };
}
