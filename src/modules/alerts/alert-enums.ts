import { registerEnumType } from "type-graphql";

export const IntegrationKind = { ALERTMANAGER: "ALERTMANAGER", EVENTS_V2: "EVENTS_V2" } as const;
export type IntegrationKind = (typeof IntegrationKind)[keyof typeof IntegrationKind];
export const integrationKindValues = Object.values(IntegrationKind) as [IntegrationKind, ...IntegrationKind[]];

export const AlertStatus = { FIRING: "FIRING", RESOLVED: "RESOLVED" } as const;
export type AlertStatus = (typeof AlertStatus)[keyof typeof AlertStatus];
export const alertStatusValues = Object.values(AlertStatus) as [AlertStatus, ...AlertStatus[]];

export const AlertSeverity = { CRITICAL: "CRITICAL", ERROR: "ERROR", WARNING: "WARNING", INFO: "INFO" } as const;
export type AlertSeverity = (typeof AlertSeverity)[keyof typeof AlertSeverity];
export const alertSeverityValues = Object.values(AlertSeverity) as [AlertSeverity, ...AlertSeverity[]];

registerEnumType(IntegrationKind, { name: "IntegrationKind", description: "The wire format an integration accepts." });
registerEnumType(AlertStatus, { name: "AlertStatus" });
registerEnumType(AlertSeverity, { name: "AlertSeverity" });
