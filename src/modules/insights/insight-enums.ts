import { registerEnumType } from "type-graphql";

/** PagerDuty's outlier incident classes, from a template's share of its service's last 30 days. */
export const OutlierClass = {
  /** The template is at least 20% of the service's incidents. */
  FREQUENT: "FREQUENT",
  /** The template is at most 5% of them. */
  RARE: "RARE",
  /** The service had incidents, none with this template. */
  ANOMALY: "ANOMALY",
} as const;
export type OutlierClass = (typeof OutlierClass)[keyof typeof OutlierClass];

export const MetricsGroupBy = { SERVICE: "SERVICE", PRIORITY: "PRIORITY", ASSIGNEE: "ASSIGNEE" } as const;
export type MetricsGroupBy = (typeof MetricsGroupBy)[keyof typeof MetricsGroupBy];

export const TimeBucket = { DAY: "DAY", WEEK: "WEEK", MONTH: "MONTH" } as const;
export type TimeBucket = (typeof TimeBucket)[keyof typeof TimeBucket];

registerEnumType(OutlierClass, {
  name: "OutlierClass",
  description: "How usual an incident's template is for its service over the 30 days before it.",
});
registerEnumType(MetricsGroupBy, { name: "MetricsGroupBy" });
registerEnumType(TimeBucket, { name: "TimeBucket", description: "Buckets start at local midnight; weeks on Monday." });
