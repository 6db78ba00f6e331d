import type { IncidentRow } from "../incidents/incident.table.js";
import type { HistoryWindow, TemplateWindow } from "./insight-statements.js";
import type { InsightRepository } from "./insight.repository.js";
import { evidence, OUTLIER_WINDOW_MS, type TemplateEvidence } from "./outlier.js";
import { titleTemplate } from "./title-template.js";

/** Templates kept in one transaction at most: a first look at a busy service's month keeps thousands. */
const keptPerTransaction = 2_000;

/**
 * The template evidence of a batch of incidents. Each incident's template is kept (incident_templates) the first
 * time it falls in a window, masked here (the masking is TypeScript's; no SQL could repeat it exactly); the counts
 * then come from indexes, one statement for the batch, whatever the service's history.
 */
export async function templateEvidence(
  insights: InsightRepository,
  incidents: readonly Pick<IncidentRow, "serviceId" | "title" | "createdAt">[],
): Promise<TemplateEvidence[]> {
  const template = memoized(titleTemplate);
  await keepMissingTemplates(insights, serviceWindows(incidents), template);
  const windows: TemplateWindow[] = [];
  const positions = incidents.map(({ serviceId, title, createdAt }) => {
    if (serviceId === null) return -1;
    const at = createdAt.getTime();
    windows.push({ serviceId, template: template(title), from: new Date(at - OUTLIER_WINDOW_MS), to: createdAt });
    return windows.length - 1;
  });
  const counts = await insights.templateCounts(windows);
  return incidents.map(({ serviceId, title }, index) => {
    if (serviceId === null) return evidence(template(title), false, 0, 0);
    const { same, total } = counts[positions[index]!]!;
    return evidence(template(title), true, same, total);
  });
}

/** Each service's window: the 30 days before the earliest of the batch's incidents of it, up to the latest. */
function serviceWindows(incidents: readonly Pick<IncidentRow, "serviceId" | "createdAt">[]): HistoryWindow[] {
  const windows = new Map<number, { from: number; to: number }>();
  for (const { serviceId, createdAt } of incidents) {
    if (serviceId === null) continue;
    const at = createdAt.getTime();
    const window = windows.get(serviceId);
    if (window) [window.from, window.to] = [Math.min(window.from, at - OUTLIER_WINDOW_MS), Math.max(window.to, at)];
    else windows.set(serviceId, { from: at - OUTLIER_WINDOW_MS, to: at });
  }
  return [...windows].map(([serviceId, { from, to }]) => ({ serviceId, from: new Date(from), to: new Date(to) }));
}

/** Masks and keeps the templates the windows lack; a window whose incidents all have theirs costs two counts. */
async function keepMissingTemplates(insights: InsightRepository, windows: readonly HistoryWindow[], template: (title: string) => string) {
  const complete = await insights.templatesComplete(windows);
  const incomplete = windows.filter((_, index) => !complete[index]);
  if (incomplete.length === 0) return;
  const missing = await insights.untemplated(incomplete);
  for (let start = 0; start < missing.length; start += keptPerTransaction) {
    const chunk = missing.slice(start, start + keptPerTransaction);
    await insights.keepTemplates(chunk.map((incident) => ({ ...incident, template: template(incident.title) })));
  }
}

/** Titles repeat within a service: each is masked once per batch. */
function memoized(mask: (title: string) => string): (title: string) => string {
  const masked = new Map<string, string>();
  return (title) => {
    let text = masked.get(title);
    if (text === undefined) masked.set(title, (text = mask(title)));
    return text;
  };
}
