import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { connectionType } from "../../shared/connection.types.js";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { AlertSeverity, AlertStatus, IntegrationKind } from "./alert-enums.js";

@ObjectType("Integration", { simpleResolvers: true, description: "Where a monitoring system sends alerts for a service." })
export class IntegrationType {
  @Field(() => ID) id!: number;
  @Field(() => String) name!: string;
  @Field(() => IntegrationKind) kind!: IntegrationKind;
  @Field(() => String, { description: "The last 4 characters of the key." }) keyHint!: string;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true }) lastEventAt!: Date | null;
}

@ObjectType("IntegrationKey", { simpleResolvers: true, description: "The only place a key is ever shown." })
export class IntegrationKeyType {
  @Field(() => IntegrationType) integration!: IntegrationType;
  @Field(() => String) key!: string;
}

@InputType("CreateIntegrationInput")
export class CreateIntegrationInput {
  @Field(() => ID) serviceId!: string;
  @Field(() => String, { description: "Trimmed; 1 to 100 characters." }) name!: string;
  @Field(() => IntegrationKind) kind!: IntegrationKind;
}

@ObjectType("Alert", { simpleResolvers: true })
export class AlertType {
  @Field(() => ID) id!: number;
  @Field(() => String, { description: "Alertmanager's fingerprint, or the Events v2 dedup_key." }) fingerprint!: string;
  @Field(() => AlertStatus) status!: AlertStatus;
  @Field(() => AlertSeverity) severity!: AlertSeverity;
  @Field(() => String) summary!: string;
  @Field(() => String, { nullable: true }) source!: string | null;
  @Field(() => String, { nullable: true }) generatorUrl!: string | null;
  @Field(() => DateTimeScalar) startsAt!: Date;
  @Field(() => DateTimeScalar) lastSeenAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true }) resolvedAt!: Date | null;
  @Field(() => Int, { description: "Notifications received for this alert, the first included." }) eventCount!: number;
}

export const AlertConnectionType = connectionType("Alert", AlertType);
