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
