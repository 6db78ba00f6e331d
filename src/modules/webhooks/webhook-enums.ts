import { registerEnumType } from "type-graphql";

export const WebhookEventType = {
  INCIDENT_CREATED: "INCIDENT_CREATED",
  INCIDENT_UPDATED: "INCIDENT_UPDATED",
  INCIDENT_LOG_ADDED: "INCIDENT_LOG_ADDED",
  INCIDENT_DELETED: "INCIDENT_DELETED",
  ALERT_FIRING: "ALERT_FIRING",
  ALERT_RESOLVED: "ALERT_RESOLVED",
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];
export const webhookEventTypeValues = Object.values(WebhookEventType) as [WebhookEventType, ...WebhookEventType[]];

/** The `type` of the body on the wire (Standard Webhooks' dotted names). */
export const wireEventType: Record<WebhookEventType, string> = {
  INCIDENT_CREATED: "incident.created",
  INCIDENT_UPDATED: "incident.updated",
  INCIDENT_LOG_ADDED: "incident.log_added",
  INCIDENT_DELETED: "incident.deleted",
  ALERT_FIRING: "alert.firing",
  ALERT_RESOLVED: "alert.resolved",
};

export const WebhookDeliveryStatus = { PENDING: "PENDING", DELIVERED: "DELIVERED", FAILED: "FAILED" } as const;
export type WebhookDeliveryStatus = (typeof WebhookDeliveryStatus)[keyof typeof WebhookDeliveryStatus];
export const webhookDeliveryStatusValues = Object.values(WebhookDeliveryStatus) as [WebhookDeliveryStatus, ...WebhookDeliveryStatus[]];

registerEnumType(WebhookEventType, { name: "WebhookEventType" });
registerEnumType(WebhookDeliveryStatus, { name: "WebhookDeliveryStatus" });
