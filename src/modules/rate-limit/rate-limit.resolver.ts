import { Ctx, Query, Resolver } from "type-graphql";
import { assertCan, Permission } from "../../auth/policy.js";
import type { GraphQLContext } from "../../shared/context.js";
import { RateLimitType } from "./rate-limit.type.js";

@Resolver()
export class RateLimitResolver {
  @Query(() => RateLimitType, { nullable: true, description: "The caller's cost budget; null when none applies (RATE_LIMIT_POINTS)." })
  async rateLimit(@Ctx() ctx: GraphQLContext) {
    assertCan(await ctx.viewer(), Permission.READ);
    return ctx.rateLimit ?? null;
  }
}
