import { Field, ID, Int, ObjectType } from "type-graphql";
import { connectionType } from "../../shared/connection.types.js";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";

@ObjectType("AlertGrouping", { simpleResolvers: true })
export class AlertGroupingType {
  @Field(() => [String], { description: "Label keys whose values must match for alerts to share an incident." }) labels!: string[];
  @Field(() => Int, { description: "0: no time-window grouping." }) windowSeconds!: number;
}

@ObjectType("Label", { simpleResolvers: true })
export class LabelType {
  @Field(() => String) key!: string;
  @Field(() => String) value!: string;
}

@ObjectType("Service", { simpleResolvers: true, description: "The thing that broke: it owns integrations and groups incidents." })
export class ServiceType {
  @Field(() => ID) id!: number;
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
  @Field(() => Boolean, { description: "Resolve an incident when its last firing alert resolves." }) autoResolve!: boolean;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

export const ServiceConnectionType = connectionType("Service", ServiceType);
