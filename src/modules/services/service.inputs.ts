import { Field, InputType, Int } from "type-graphql";

@InputType("LabelInput")
export class LabelInput {
  @Field(() => String, { description: "Matches ^[a-z_][a-z0-9_.\\-/]{0,62}$." }) key!: string;
  @Field(() => String, { description: "At most 200 characters." }) value!: string;
}

@InputType("AlertGroupingInput")
export class AlertGroupingInput {
  @Field(() => [String], { description: "At most 10 label keys." }) labels!: string[];
  @Field(() => Int, { description: "0 to 86,400." }) windowSeconds!: number;
}

@InputType("CreateServiceInput")
export class CreateServiceInput {
  @Field(() => String, { description: "Trimmed; 1 to 100 characters; unique ignoring case." }) name!: string;
  @Field(() => String, { nullable: true, defaultValue: "" }) description?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) autoResolve?: boolean | null;
  @Field(() => AlertGroupingInput, { nullable: true }) alertGrouping?: AlertGroupingInput | null;
}

@InputType("UpdateServiceInput", { description: "A partial update: omitted fields stay as they are." })
export class UpdateServiceInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Boolean, { nullable: true }) autoResolve?: boolean | null;
  @Field(() => AlertGroupingInput, { nullable: true }) alertGrouping?: AlertGroupingInput | null;
}
