import { Field, ID, InputType, Int, registerEnumType } from "type-graphql";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { LabelInput } from "../services/service.inputs.js";
import { Priority } from "./incident-priority.js";
import { IncidentStatus } from "./incident-status.js";

@InputType("IncidentFilter", { description: "Every given condition must hold." })
export class IncidentFilterInput {
  @Field(() => [IncidentStatus], { nullable: true }) status?: IncidentStatus[] | null;
  @Field(() => [Priority], { nullable: true }) priority?: Priority[] | null;
  @Field(() => ID, { nullable: true }) assigneeId?: string | null;
  @Field(() => ID, { nullable: true }) reporterId?: string | null;
  @Field(() => String, {
    nullable: true,
    description: "Words that must all appear in the title or the description, ignoring case.",
  })
  search?: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) createdAfter?: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) createdBefore?: Date | null;
  @Field(() => [ID], { nullable: true, description: "Any of these services." }) serviceId?: string[] | null;
  @Field(() => [LabelInput], { nullable: true, description: "Every pair must be on the incident." }) labels?: LabelInput[] | null;
}

export const IncidentOrderField = { CREATED_AT: "CREATED_AT", UPDATED_AT: "UPDATED_AT", PRIORITY: "PRIORITY" } as const;
export type IncidentOrderField = (typeof IncidentOrderField)[keyof typeof IncidentOrderField];
registerEnumType(IncidentOrderField, { name: "IncidentOrderField" });

export const OrderDirection = { ASC: "ASC", DESC: "DESC" } as const;
export type OrderDirection = (typeof OrderDirection)[keyof typeof OrderDirection];
registerEnumType(OrderDirection, {
  name: "OrderDirection",
  description: "For PRIORITY, DESC puts CRITICAL first.",
});

@InputType("IncidentOrder")
export class IncidentOrderInput {
  @Field(() => IncidentOrderField) field!: IncidentOrderField;
  @Field(() => OrderDirection) direction!: OrderDirection;
}

@InputType("CreateIncidentInput")
export class CreateIncidentInput {
  @Field(() => String, { description: "Trimmed; 1 to 200 characters." }) title!: string;
  @Field(() => String, { nullable: true, defaultValue: "", description: "At most 10,000 characters." })
  description?: string | null;
  @Field(() => Priority, { nullable: true, defaultValue: Priority.MEDIUM }) priority?: Priority | null;
  @Field(() => ID, { nullable: true, description: "An active RESPONDER or ADMIN." }) assigneeId?: string | null;
  @Field(() => ID, { nullable: true }) serviceId?: string | null;
  @Field(() => [LabelInput], { nullable: true, description: "At most 20, keys unique." }) labels?: LabelInput[] | null;
}

@InputType("UpdateIncidentInput", { description: "A partial update: omitted fields stay as they are." })
export class UpdateIncidentInput {
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => IncidentStatus, { nullable: true }) status?: IncidentStatus | null;
  @Field(() => Priority, { nullable: true }) priority?: Priority | null;
  @Field(() => ID, { nullable: true, description: "Omitted: unchanged; null: unassign." }) assigneeId?: string | null;
  @Field(() => ID, { nullable: true, description: "Omitted: unchanged; null: detach from its service." }) serviceId?: string | null;
  @Field(() => [LabelInput], { nullable: true, description: "Replaces the whole set." }) labels?: LabelInput[] | null;
  @Field(() => Int, { nullable: true, description: "When given and not the current version: CONFLICT, nothing changes." })
  expectedVersion?: number | null;
}
