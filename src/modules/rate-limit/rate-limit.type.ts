import { Field, Int, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";

@ObjectType("RateLimit", { simpleResolvers: true, description: "The caller's cost budget, as it stands after this request." })
export class RateLimitType {
  @Field(() => Int, { description: "Points in a window." }) limit!: number;
  @Field(() => Int, { description: "What this request cost: its worst-case nodes / 100, at least 1." }) cost!: number;
  @Field(() => Int, { description: "Points spent in the current window, this request included." }) used!: number;
  @Field(() => Int) remaining!: number;
  @Field(() => DateTimeScalar, { description: "When the window ends and the budget is whole again." }) resetAt!: Date;
}
