import { BadUserInputError } from "../../shared/errors.js";
import { labelKeyPattern } from "./label.rules.js";

export const maxServiceNameLength = 100;
export const maxServiceDescriptionLength = 10_000;
export const maxGroupingLabels = 10;
export const maxGroupingWindowSeconds = 86_400;

export interface AlertGrouping {
  labels: string[];
  windowSeconds: number;
}

export function normalizeServiceName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > maxServiceNameLength) {
    throw new BadUserInputError(`Name must be 1 to ${maxServiceNameLength} characters`, "name");
  }
  return trimmed;
}

/** Uniqueness ignores case: the stored key is the name folded to lower case. */
export const serviceNameKey = (name: string) => name.toLowerCase();

export function checkServiceDescription(description: string): string {
  if (description.length > maxServiceDescriptionLength) {
    throw new BadUserInputError(`Description must be at most ${maxServiceDescriptionLength} characters`, "description");
  }
  return description;
}

export function checkAlertGrouping(grouping: AlertGrouping): AlertGrouping {
  const { labels, windowSeconds } = grouping;
  if (!Number.isInteger(windowSeconds) || windowSeconds < 0 || windowSeconds > maxGroupingWindowSeconds) {
    throw new BadUserInputError(`windowSeconds must be 0 to ${maxGroupingWindowSeconds}`, "alertGrouping");
  }
  if (labels.length > maxGroupingLabels) throw new BadUserInputError(`At most ${maxGroupingLabels} grouping labels`, "alertGrouping");
  for (const key of labels) {
    if (!labelKeyPattern.test(key)) throw new BadUserInputError(`Label key "${key.slice(0, 64)}" must match ${labelKeyPattern.source}`, "alertGrouping");
  }
  return { labels: [...new Set(labels)], windowSeconds };
}
