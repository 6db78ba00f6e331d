import { Field, ID, Int, ObjectType } from "type-graphql";
import { connectionType } from "../../shared/connection.types.js";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { LogKind } from "./incident-log-kind.js";
import { Priority } from "./incident-priority.js";
import { IncidentStatus } from "./incident-status.js";

@ObjectType("Incident", { simpleResolvers: true })
export class IncidentType {
  @Field(() => ID) id!: number;
  @Field(() => String) title!: string;
  @Field(() => String) description!: string;
  @Field(() => IncidentStatus) status!: IncidentStatus;
  @Field(() => Priority) priority!: Priority;
  @Field(() => Int, { description: "1 when created, +1 on every successful change." }) version!: number;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar) updatedAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: "First entry into INVESTIGATING." })
  acknowledgedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true, description: "Last entry into RESOLVED." })
  resolvedAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) closedAt!: Date | null;
}

@ObjectType("IncidentLog", { simpleResolvers: true })
export class IncidentLogType {
  @Field(() => ID) id!: number;
  @Field(() => LogKind) kind!: LogKind;
  @Field(() => String) message!: string;
  @Field(() => IncidentStatus, { nullable: true }) fromStatus!: IncidentStatus | null;
  @Field(() => IncidentStatus, { nullable: true }) toStatus!: IncidentStatus | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

export const IncidentConnectionType = connectionType("Incident", IncidentType);
export const IncidentLogConnectionType = connectionType("IncidentLog", IncidentLogType);
