import { Field, Float, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { Priority } from "../incidents/incident-priority.js";

@ObjectType("IncidentTemplate", {
  simpleResolvers: true,
  description: "The title with its variable parts (numbers, ids, addresses, host names, quoted strings) replaced by <*>.",
})
export class IncidentTemplateType {
  @Field(() => String) text!: string;
  @Field(() => Int, { description: "Incidents of the same service with the same template in the 30 days before this one." })
  serviceCount30d!: number;
  @Field(() => Float, { description: "serviceCount30d over all the service's incidents in those days; 0 when there were none." })
  serviceShare30d!: number;
  @Field(() => Int, { description: "All the service's incidents in those 30 days: the evidence's denominator." })
  serviceTotal30d!: number;
}

@ObjectType("DurationStats", { simpleResolvers: true, description: "Seconds; null when count is 0. Percentiles are nearest-rank." })
export class DurationStatsType {
  @Field(() => Int) count!: number;
  @Field(() => Float, { nullable: true }) mean!: number | null;
  @Field(() => Float, { nullable: true }) p50!: number | null;
  @Field(() => Float, { nullable: true }) p90!: number | null;
  @Field(() => Float, { nullable: true }) p95!: number | null;
  @Field(() => Float, { nullable: true }) max!: number | null;
}

@ObjectType("IncidentMetricsRow", { description: "Incidents created in one bucket and group; created is never 0." })
export class IncidentMetricsRowType {
  @Field(() => DateTimeScalar, { nullable: true, description: "Null without a bucket." }) bucketStart!: Date | null;
  @Field(() => Priority, { nullable: true }) priority!: Priority | null;
  @Field(() => Int) created!: number;
  @Field(() => Int, { description: "acknowledgedAt set." }) acknowledged!: number;
  @Field(() => Int, { description: "Status RESOLVED or CLOSED." }) resolved!: number;
  @Field(() => Int, { description: "Resolved by the system: every alert resolved and the service resolves automatically." })
  autoResolved!: number;
  @Field(() => DurationStatsType, { description: "acknowledgedAt - createdAt, over incidents with acknowledgedAt." })
  timeToAcknowledge!: DurationStatsType;
  @Field(() => DurationStatsType, { description: "resolvedAt - createdAt, over incidents RESOLVED or CLOSED." })
  timeToResolve!: DurationStatsType;
}
