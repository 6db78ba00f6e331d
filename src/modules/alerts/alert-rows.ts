import { getTableColumns } from "drizzle-orm";
import type { Dialect, Row } from "../../db/sql-work.js";
import type { Label } from "../services/label.rules.js";
import { alerts, integrations, type AlertRow, type IntegrationRow } from "./alert.table.js";

// Rows of the shared statements come back as objects keyed by column name; these read them into the row shapes
// the rest of the code uses, whichever backend they came from.

const columnNames = (table: typeof alerts | typeof integrations) =>
  Object.values(getTableColumns(table)).map((column) => column.name);

export const alertColumns = columnNames(alerts).join(", ");
export const integrationColumns = columnNames(integrations).join(", ");

export const alertReader = (d: Dialect) => (row: Row): AlertRow => ({
  id: d.readId(row.id),
  incidentId: row.incident_id === null ? null : d.readId(row.incident_id),
  integrationId: row.integration_id === null ? null : d.readId(row.integration_id),
  serviceId: row.service_id === null ? null : d.readId(row.service_id),
  fingerprint: row.fingerprint as string,
  status: row.status as AlertRow["status"],
  severity: row.severity as AlertRow["severity"],
  summary: row.summary as string,
  source: row.source as string | null,
  labels: row.labels as string,
  annotations: row.annotations as string,
  generatorUrl: row.generator_url as string | null,
  groupKey: row.group_key as string | null,
  startsAt: d.readTime(row.starts_at),
  lastSeenAt: d.readTime(row.last_seen_at),
  resolvedAt: row.resolved_at === null ? null : d.readTime(row.resolved_at),
  eventCount: row.event_count as number,
  receivedAt: d.readTime(row.received_at),
  groupValues: (row.group_values ?? null) as string | null,
  incidentActive: d.readNumber(row.incident_active),
});

export const integrationReader = (d: Dialect) => (row: Row): IntegrationRow => ({
  id: d.readId(row.id),
  serviceId: d.readId(row.service_id),
  name: row.name as string,
  kind: row.kind as IntegrationRow["kind"],
  keyHash: row.key_hash as string,
  keyHint: row.key_hint as string,
  createdAt: d.readTime(row.created_at),
  lastEventAt: row.last_event_at === null ? null : d.readTime(row.last_event_at),
});

/** Labels as stored (a JSON object), sorted by key. */
export function labelList(json: string): Label[] {
  return Object.entries(JSON.parse(json) as Record<string, string>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
}
