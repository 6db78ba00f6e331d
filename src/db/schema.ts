// Every table of the SQLite backend, for drizzle-kit and for the connection.
export { users } from "../modules/users/user.table.js";
export { incidents } from "../modules/incidents/incident.table.js";
export { incidentLogs } from "../modules/incidents/incident-log.table.js";
export { incidentLabels } from "../modules/incidents/incident-label.table.js";
export { services } from "../modules/services/service.table.js";
export { alerts, integrations } from "../modules/alerts/alert.table.js";
export { webhookDeliveries, webhookEndpoints, webhookSnapshots } from "../modules/webhooks/webhook.table.js";
