import { registerEnumType } from "type-graphql";

export const LogKind = {
  NOTE: "NOTE",
  STATUS_CHANGE: "STATUS_CHANGE",
  PRIORITY_CHANGE: "PRIORITY_CHANGE",
  ASSIGNMENT: "ASSIGNMENT",
  EDIT: "EDIT",
  /** An alert attached to or resolved on the incident (written by the system). */
  ALERT: "ALERT",
  /** Duplicates merged into the incident, or the incident merged into another (written with the merge). */
  MERGE: "MERGE",
} as const;
export type LogKind = (typeof LogKind)[keyof typeof LogKind];
export const logKindValues = Object.values(LogKind) as [LogKind, ...LogKind[]];

registerEnumType(LogKind, { name: "LogKind" });
