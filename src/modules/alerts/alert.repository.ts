import { rerunWhenUndone } from "../../db/pg-errors.js";
import type { SqlBackend } from "../../db/sql-backend.js";
import { all, one } from "../../db/sql-work.js";
import { groupBy } from "../../shared/group-by.js";
import type { AlertStatus, IntegrationKind } from "./alert-enums.js";
import { ingestAlerts, type IncomingAlert, type IngestResult, type IngestTarget } from "./alert-ingest.js";
import { alertReader, integrationReader } from "./alert-rows.js";
import { alertStatements } from "./alert-statements.js";
import type { AlertRow, IntegrationRow } from "./alert.table.js";
import type { WebhookOutbox } from "../webhooks/webhook-outbox.js";

export interface AuthenticatedIntegration {
  kind: IntegrationKind;
  target: IngestTarget;
}

export interface NewIntegration {
  serviceId: number;
  name: string;
  kind: IntegrationKind;
  keyHash: string;
  keyHint: string;
}

export interface AlertRepository {
  /** The integration whose key hashes to `keyHash`, with its service's alert settings. */
  authenticate(keyHash: string): Promise<AuthenticatedIntegration | undefined>;
  /** One transaction: every alert stored, or none. */
  ingest(target: IngestTarget, alerts: readonly IncomingAlert[], now: Date): Promise<IngestResult>;
  findByIds(ids: readonly number[]): Promise<AlertRow[]>;
  /** The first `first + 1` alerts after `afterId` of each incident, oldest first, in one statement. */
  pages(incidentIds: readonly number[], first: number, afterId: number | undefined, statuses?: readonly AlertStatus[]): Promise<Map<number, AlertRow[]>>;
  counts(incidentIds: readonly number[], statuses?: readonly AlertStatus[]): Promise<Map<number, number>>;
  integrationsByIds(ids: readonly number[]): Promise<IntegrationRow[]>;
  integrationsOfServices(serviceIds: readonly number[]): Promise<Map<number, IntegrationRow[]>>;
  /** Undefined when the service does not exist. */
  createIntegration(integration: NewIntegration): Promise<IntegrationRow | undefined>;
  rotateKey(id: number, keyHash: string, keyHint: string): Promise<IntegrationRow | undefined>;
  deleteIntegration(id: number): Promise<boolean>;
}

const byFingerprint = (a: IncomingAlert, b: IncomingAlert) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);

/** Alerts and integrations, written once for both backends. */
export function createAlertRepository(backend: SqlBackend, outbox?: WebhookOutbox): AlertRepository {
  const d = backend.dialect;
  const q = alertStatements(d);
  const readAlert = alertReader(d);
  const readIntegration = integrationReader(d);
  const statusParams = (statuses: readonly AlertStatus[] | undefined) => (statuses ? [d.list(statuses)] : []);

  return {
    async authenticate(keyHash) {
      const row = await backend.read(() => one(q.authenticate, [keyHash]));
      if (!row) return undefined;
      return {
        kind: row.kind as IntegrationKind,
        target: {
          integrationId: d.readId(row.id),
          serviceId: d.readId(row.service_id),
          keyHash: row.key_hash as string,
          autoResolve: d.readBool(row.auto_resolve),
          grouping: { labels: JSON.parse(row.grouping_labels as string) as string[], windowSeconds: row.grouping_window_seconds as number },
        },
      };
    },

    async ingest(target, alerts, now) {
      // Rows are locked in one order (by fingerprint) by every request, so that two requests never wait on each other.
      const ordered = [...alerts].sort(byFingerprint);
      // PostgreSQL may pick one of two transactions that wait on each other and abort it: that one is run again.
      return rerunWhenUndone(() => backend.transaction(() => ingestAlerts(q, d, target, ordered, now, outbox)));
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      return (await backend.read(() => all(q.alertsByIds, [d.list(ids)]))).map(readAlert);
    },

    async pages(incidentIds, first, afterId, statuses) {
      if (incidentIds.length === 0) return new Map();
      const params = [d.list(incidentIds), afterId ?? 0, ...statusParams(statuses), first + 1];
      const rows = (await backend.read(() => all(q.alertPages(statuses !== undefined), params))).map(readAlert);
      const pages = groupBy(rows, (row) => row.incidentId!);
      for (const page of pages.values()) page.sort((a, b) => a.id - b.id);
      return pages;
    },

    async counts(incidentIds, statuses) {
      if (incidentIds.length === 0) return new Map();
      const rows = await backend.read(() => all(q.alertCounts(statuses !== undefined), [d.list(incidentIds), ...statusParams(statuses)]));
      return new Map(rows.map((row) => [d.readId(row.incident_id), d.readNumber(row.n)]));
    },

    async integrationsByIds(ids) {
      if (ids.length === 0) return [];
      return (await backend.read(() => all(q.integrationsByIds, [d.list(ids)]))).map(readIntegration);
    },

    async integrationsOfServices(serviceIds) {
      if (serviceIds.length === 0) return new Map();
      const rows = (await backend.read(() => all(q.integrationsOfServices, [d.list(serviceIds)]))).map(readIntegration);
      return groupBy(rows, (row) => row.serviceId);
    },

    async createIntegration({ serviceId, name, kind, keyHash, keyHint }) {
      const row = await backend.transaction(function* () {
        if (!(yield* one(q.serviceExists, [serviceId]))) return undefined;
        return yield* one(q.insertIntegration, [serviceId, name, kind, keyHash, keyHint, d.time(new Date())]);
      });
      return row && readIntegration(row);
    },

    async rotateKey(id, keyHash, keyHint) {
      const row = await backend.transaction(() => one(q.rotateIntegration, [keyHash, keyHint, id]));
      return row && readIntegration(row);
    },

    async deleteIntegration(id) {
      return (await backend.transaction(() => one(q.deleteIntegration, [id]))) !== undefined;
    },
  };
}
