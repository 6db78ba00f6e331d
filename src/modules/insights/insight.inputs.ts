import { Field, InputType } from "type-graphql";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { IncidentFilterInput } from "../incidents/incident.inputs.js";
import { MetricsGroupBy, TimeBucket } from "./insight-enums.js";

@InputType("IncidentMetricsInput")
export class IncidentMetricsInput {
  @Field(() => DateTimeScalar, { description: "Incidents created in [from, to); at most 366 days." }) from!: Date;
  @Field(() => DateTimeScalar) to!: Date;
  @Field(() => IncidentFilterInput, { nullable: true }) filter?: IncidentFilterInput | null;
  @Field(() => [MetricsGroupBy], { nullable: true, defaultValue: [] }) groupBy?: MetricsGroupBy[] | null;
  @Field(() => TimeBucket, { nullable: true, description: "Omitted: one bucket for the whole range." }) bucket?: TimeBucket | null;
  @Field(() => String, { nullable: true, defaultValue: "UTC", description: "IANA name; buckets start at local midnight, weeks on Monday." })
  timeZone?: string | null;
}
