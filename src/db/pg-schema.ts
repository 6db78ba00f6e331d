// Every table of the PostgreSQL backend, for drizzle-kit (drizzle.pg.config.ts) and for the connection.
import type { IncidentLogRow } from "../modules/incidents/incident-log.table.js";
import type { PgIncidentLogRow } from "../modules/incidents/incident-log.pg-table.js";
import type { IncidentRow } from "../modules/incidents/incident.table.js";
import type { PgIncidentRow } from "../modules/incidents/incident.pg-table.js";
import type { AlertRow, IntegrationRow } from "../modules/alerts/alert.table.js";
import type { PgAlertRow, PgIntegrationRow } from "../modules/alerts/alert.pg-table.js";
import type { ServiceRow } from "../modules/services/service.table.js";
import type { services as pgServices } from "../modules/services/service.pg-table.js";
import type { UserRow } from "../modules/users/user.table.js";
import type { WebhookDeliveryRow, WebhookEndpointRow } from "../modules/webhooks/webhook.table.js";
import type { PgWebhookDeliveryRow, PgWebhookEndpointRow } from "../modules/webhooks/webhook.pg-table.js";
import type { PgUserRow } from "../modules/users/user.pg-table.js";

export { users } from "../modules/users/user.pg-table.js";
export { incidents } from "../modules/incidents/incident.pg-table.js";
export { incidentLogs } from "../modules/incidents/incident-log.pg-table.js";
export { generatedSecrets } from "../auth/secret.pg-table.js";
export { incidentLabels } from "../modules/incidents/incident-label.pg-table.js";
export { services } from "../modules/services/service.pg-table.js";
export { alerts, integrations } from "../modules/alerts/alert.pg-table.js";
export { webhookDeliveries, webhookEndpoints, webhookSnapshots } from "../modules/webhooks/webhook.pg-table.js";

// The services work with the SQLite row types; both backends must read rows of exactly the same shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShapes: [Same<PgUserRow, UserRow>, Same<PgIncidentRow, IncidentRow>, Same<PgIncidentLogRow, IncidentLogRow>] = [true, true, true];
void sameShapes;
const sameNewShapes: [Same<typeof pgServices.$inferSelect, ServiceRow>, Same<PgIntegrationRow, IntegrationRow>, Same<PgAlertRow, AlertRow>] = [
  true,
  true,
  true,
];
void sameNewShapes;
const sameWebhookShapes: [Same<PgWebhookEndpointRow, WebhookEndpointRow>, Same<PgWebhookDeliveryRow, WebhookDeliveryRow>] = [true, true];
void sameWebhookShapes;
