import { OutlierClass } from "./insight-enums.js";

export const OUTLIER_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;
export const FREQUENT_SHARE = 0.2;
export const RARE_SHARE = 0.05;

/** An incident's template, with the evidence its outlier class is read from. */
export interface TemplateEvidence {
  text: string;
  /** Incidents of the same service with the same template in the 30 days before this one was created. */
  serviceCount30d: number;
  /** That count over all the service's incidents in those days; 0 when there were none. */
  serviceShare30d: number;
  /** All the service's incidents in those days. */
  serviceTotal30d: number;
  outlier: OutlierClass | null;
}

/** Section 10's thresholds; null without a service, without history, or between RARE and FREQUENT. */
export function outlierClass(hasService: boolean, count: number, total: number): OutlierClass | null {
  if (!hasService || total === 0) return null;
  if (count === 0) return OutlierClass.ANOMALY;
  const share = count / total;
  if (share >= FREQUENT_SHARE) return OutlierClass.FREQUENT;
  if (share <= RARE_SHARE) return OutlierClass.RARE;
  return null;
}

export function evidence(text: string, hasService: boolean, count: number, total: number): TemplateEvidence {
  return {
    text,
    serviceCount30d: count,
    serviceShare30d: total === 0 ? 0 : count / total,
    serviceTotal30d: total,
    outlier: outlierClass(hasService, count, total),
  };
}

/** One earlier incident of a service: when it was created and its template. */
export interface HistoryEntry {
  createdAt: number;
  template: string;
}

/** The first index whose createdAt is >= `at`, in entries sorted by createdAt. */
function lowerBound(entries: readonly HistoryEntry[], at: number): number {
  let [low, high] = [0, entries.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle]!.createdAt < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The evidence for an incident created at `createdAt` with `template`, from its service's incidents sorted by
 * createdAt (which must cover the 30 days before it): the window is [createdAt - 30 days, createdAt).
 */
export function evidenceFromHistory(history: readonly HistoryEntry[], createdAt: number, template: string): TemplateEvidence {
  const start = lowerBound(history, createdAt - OUTLIER_WINDOW_MS);
  const end = lowerBound(history, createdAt);
  let count = 0;
  for (let i = start; i < end; i++) if (history[i]!.template === template) count++;
  return evidence(template, true, count, end - start);
}
