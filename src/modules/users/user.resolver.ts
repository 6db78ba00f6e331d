import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { GraphQLContext } from "../../shared/context.js";
import { parseId } from "../../shared/ids.js";
import { assertCan, Permission } from "../../auth/policy.js";
import { Role } from "./user-role.js";
import { SignUpInput, UpdateUserInput } from "./user.inputs.js";
import type { UserService } from "./user.service.js";
import { AuthPayloadType, UserConnectionType, UserType } from "./user.type.js";

@Resolver(() => UserType)
export class UserResolver {
  constructor(private readonly service: UserService) {}

  @Query(() => UserType, { description: "The caller." })
  async me(@Ctx() ctx: GraphQLContext) {
    return ctx.viewer();
  }

  @Query(() => UserType, { nullable: true })
  async user(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    assertCan(await ctx.viewer(), Permission.READ);
    const userId = parseId(id);
    return userId === undefined ? null : ctx.loaders.userById.load(userId);
  }

  @Query(() => UserConnectionType)
  async users(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("role", () => Role, { nullable: true }) role: Role | null,
  ) {
    return this.service.page(await ctx.viewer(), { first, after, role });
  }

  @Mutation(() => AuthPayloadType)
  async signUp(@Arg("input", () => SignUpInput) input: SignUpInput) {
    return this.service.signUp(input);
  }

  @Mutation(() => AuthPayloadType, { description: "Wrong email and wrong password fail alike, with UNAUTHENTICATED." })
  async login(
    @Arg("email", () => String) email: string,
    @Arg("password", () => String) password: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.service.login(email, password, ctx.clientAddress);
  }

  @Mutation(() => Boolean, { description: "Every token issued to the caller so far stops working." })
  async signOutEverywhere(@Ctx() ctx: GraphQLContext) {
    return this.service.signOutEverywhere(await ctx.viewer());
  }

  @Mutation(() => UserType)
  async updateUser(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateUserInput) input: UpdateUserInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const user = await this.service.update(await ctx.viewer(), id, input);
    ctx.loaders.replaceUser(user);
    return user;
  }
}
