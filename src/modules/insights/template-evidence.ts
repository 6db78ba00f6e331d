import type { IncidentRow } from "../incidents/incident.table.js";
import type { InsightRepository } from "./insight.repository.js";
import { evidence, evidenceFromHistory, OUTLIER_WINDOW_MS, type HistoryEntry, type TemplateEvidence } from "./outlier.js";
import { titleTemplate } from "./title-template.js";

/**
 * The template evidence of a batch of incidents in one statement: each service's incidents over the 30 days before
 * the batch's incidents of it, masked here (the masking is TypeScript's; no SQL could repeat it exactly).
 */
export async function templateEvidence(
  insights: InsightRepository,
  incidents: readonly Pick<IncidentRow, "serviceId" | "title" | "createdAt">[],
): Promise<TemplateEvidence[]> {
  const windows = new Map<number, { from: number; to: number }>();
  for (const { serviceId, createdAt } of incidents) {
    if (serviceId === null) continue;
    const at = createdAt.getTime();
    const window = windows.get(serviceId);
    if (window) [window.from, window.to] = [Math.min(window.from, at - OUTLIER_WINDOW_MS), Math.max(window.to, at)];
    else windows.set(serviceId, { from: at - OUTLIER_WINDOW_MS, to: at });
  }
  const rows = await insights.serviceHistory(
    [...windows].map(([serviceId, { from, to }]) => ({ serviceId, from: new Date(from), to: new Date(to) })),
  );
  // Titles repeat within a service: each is masked once per batch.
  const masked = new Map<string, string>();
  const template = (title: string) => {
    let text = masked.get(title);
    if (text === undefined) masked.set(title, (text = titleTemplate(title)));
    return text;
  };
  const histories = new Map<number, HistoryEntry[]>();
  for (const row of rows) {
    const entry = { createdAt: row.createdAt, template: template(row.title) };
    const history = histories.get(row.serviceId);
    if (history) history.push(entry);
    else histories.set(row.serviceId, [entry]);
  }
  for (const history of histories.values()) history.sort((a, b) => a.createdAt - b.createdAt);
  return incidents.map(({ serviceId, title, createdAt }) =>
    serviceId === null
      ? evidence(template(title), false, 0, 0)
      : evidenceFromHistory(histories.get(serviceId) ?? [], createdAt.getTime(), template(title)),
  );
}
