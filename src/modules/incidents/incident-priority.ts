import { registerEnumType } from "type-graphql";

export const Priority = {
  CRITICAL: "CRITICAL",
  HIGH: "HIGH",
  MEDIUM: "MEDIUM",
  LOW: "LOW",
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];
export const priorityValues = Object.values(Priority) as [Priority, ...Priority[]];

/** Urgency as a number, so that ordering by priority is ordering by an indexed integer. */
export const priorityRank: Readonly<Record<Priority, number>> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1 };

registerEnumType(Priority, { name: "Priority" });
