import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../../shared/context.js";
import { UserType } from "../users/user.type.js";
import type { UserRow } from "../users/user.table.js";
import type { IncidentLogRow } from "./incident-log.table.js";
import { IncidentStatus, statusTransitions } from "./incident-status.js";
import type { IncidentService } from "./incident.service.js";
import type { IncidentRow } from "./incident.table.js";
import {
  CreateIncidentInput,
  IncidentFilterInput,
  IncidentOrderInput,
  UpdateIncidentInput,
} from "./incident.inputs.js";
import {
  IncidentConnectionType,
  IncidentLogConnectionType,
  IncidentLogType,
  IncidentType,
} from "./incident.type.js";

@Resolver(() => IncidentType)
export class IncidentResolver {
  constructor(private readonly service: IncidentService) {}

  @Query(() => IncidentType, { nullable: true, description: "Null when no incident has this id." })
  async incident(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.service.get(await ctx.viewer(), id);
  }

  @Query(() => IncidentConnectionType)
  async incidents(
    @Ctx() ctx: GraphQLContext,
    @Arg("filter", () => IncidentFilterInput, { nullable: true }) filter: IncidentFilterInput | null,
    @Arg("orderBy", () => IncidentOrderInput, { nullable: true, description: "Default: CREATED_AT DESC." })
    orderBy: IncidentOrderInput | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ) {
    return this.service.page(await ctx.viewer(), { filter, orderBy, first, after });
  }

  @Mutation(() => IncidentType)
  async createIncident(@Arg("input", () => CreateIncidentInput) input: CreateIncidentInput, @Ctx() ctx: GraphQLContext) {
    return this.service.create(await ctx.viewer(), input, ctx.loaders);
  }

  @Mutation(() => IncidentType)
  async updateIncident(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateIncidentInput) input: UpdateIncidentInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.service.update(await ctx.viewer(), id, input, ctx.loaders);
  }

  @Mutation(() => IncidentLogType, { description: "Adds a NOTE to the timeline; allowed on closed incidents too." })
  async addIncidentLog(
    @Arg("incidentId", () => ID) incidentId: string,
    @Arg("message", () => String) message: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.service.addNote(await ctx.viewer(), incidentId, message);
  }

  @Mutation(() => ID, { description: "Removes the incident and its whole timeline. Admins only." })
  async deleteIncident(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.service.delete(await ctx.viewer(), id);
  }

  @FieldResolver(() => UserType)
  reporter(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.userById.load(incident.reporterId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  assignee(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return incident.assigneeId === null ? null : ctx.loaders.userById.load(incident.assigneeId);
  }

  @FieldResolver(() => [IncidentStatus], { description: "The statuses this incident may move to next." })
  allowedTransitions(@Root() incident: IncidentRow) {
    return statusTransitions[incident.status];
  }

  @FieldResolver(() => IncidentLogConnectionType, { description: "The timeline, oldest first." })
  logs(
    @Root() incident: IncidentRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ) {
    return this.service.logs(incident, { first, after }, ctx.loaders);
  }
}

@Resolver(() => IncidentLogType)
export class IncidentLogResolver {
  constructor(private readonly service: IncidentService) {}

  @FieldResolver(() => IncidentType)
  async incident(@Root() log: IncidentLogRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.incidentById.load(log.incidentId);
  }

  @FieldResolver(() => UserType, { nullable: true, description: "Null for entries written by the system." })
  author(@Root() log: IncidentLogRow, @Ctx() ctx: GraphQLContext) {
    return log.authorId === null ? null : ctx.loaders.userById.load(log.authorId);
  }
}

@Resolver(() => UserType)
export class UserIncidentsResolver {
  constructor(private readonly service: IncidentService) {}

  @FieldResolver(() => IncidentConnectionType, { description: "Incidents assigned to this user, newest first." })
  assignedIncidents(
    @Root() user: UserRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("status", () => [IncidentStatus], { nullable: true }) status: IncidentStatus[] | null,
  ) {
    return this.service.assignedTo(user, { first, after, status }, ctx.loaders);
  }
}
