import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { fieldsSelected } from "../../graphql/selected-fields.js";
import { incidentPageReads, logColumnsSelected } from "./incident-projection.js";
import type { GraphQLContext } from "../../shared/context.js";
import type { DirectResolvers } from "../../schema/direct-resolvers.js";
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
  async incident(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo) {
    const viewer = await ctx.viewer();
    if (!readsPeople(info)) return this.service.get(viewer, id);
    // The reporter and assignee come with the incident, in its statement: they then resolve without one of their own.
    const found = await this.service.getWithPeople(viewer, id);
    if (!found) return null;
    for (const person of found.people) ctx.loaders.rememberUser(person);
    return found.incident;
  }

  @Query(() => IncidentConnectionType)
  async incidents(
    @Ctx() ctx: GraphQLContext,
    @Arg("filter", () => IncidentFilterInput, { nullable: true }) filter: IncidentFilterInput | null,
    @Arg("orderBy", () => IncidentOrderInput, { nullable: true, description: "Default: CREATED_AT DESC." })
    orderBy: IncidentOrderInput | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Info() info: GraphQLResolveInfo,
  ) {
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.service.page(viewer, { filter, orderBy, first, after }, ctx.loaders, incidentPageReads(info));
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

  @FieldResolver(() => UserType, { nullable: true, description: "Null for incidents opened by an alert." })
  reporter(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return incidentFields.reporter(incident, {}, ctx);
  }

  @FieldResolver(() => UserType, { nullable: true })
  assignee(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return incidentFields.assignee(incident, {}, ctx);
  }

  @FieldResolver(() => [IncidentStatus], { description: "The statuses this incident may move to next." })
  allowedTransitions(@Root() incident: IncidentRow) {
    return incidentFields.allowedTransitions(incident);
  }

  @FieldResolver(() => IncidentLogConnectionType, { description: "The timeline, oldest first." })
  logs(
    @Root() incident: IncidentRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Info() info: GraphQLResolveInfo,
  ) {
    return incidentLogsField(this.service)(incident, { first, after }, ctx, info);
  }
}

@Resolver(() => IncidentLogType)
export class IncidentLogResolver {
  @FieldResolver(() => IncidentType)
  incident(@Root() log: IncidentLogRow, @Ctx() ctx: GraphQLContext) {
    return incidentLogFields.incident(log, {}, ctx);
  }

  @FieldResolver(() => UserType, { nullable: true, description: "Null for entries written by the system." })
  author(@Root() log: IncidentLogRow, @Ctx() ctx: GraphQLContext) {
    return incidentLogFields.author(log, {}, ctx);
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
    return assignedIncidentsField(this.service)(user, { first, after, status }, ctx);
  }
}

// The nested fields, as plain graphql-js resolvers. The classes above declare them and delegate here;
// `incidentDirectResolvers` installs them straight into the schema, since these run once per row of a page
// and type-graphql's per-call wrapping (a copy of the row, parameter arrays) dominated their cost.

type PageArgs = { first?: number | null; after?: string | null };

/** Whether a selection on an incident reads its reporter or assignee (when it cannot tell: yes). */
const readsPeople = (info: GraphQLResolveInfo) => {
  const fields = fieldsSelected(info);
  return !fields || fields.has("reporter") || fields.has("assignee");
};

const incidentFields = {
  reporter: (incident: IncidentRow, _args: unknown, ctx: GraphQLContext) =>
    incident.reporterId === null ? null : ctx.loaders.user(incident.reporterId),
  assignee: (incident: IncidentRow, _args: unknown, ctx: GraphQLContext) =>
    incident.assigneeId === null ? null : ctx.loaders.user(incident.assigneeId),
  allowedTransitions: (incident: IncidentRow) => statusTransitions[incident.status],
};

const incidentLogFields = {
  incident: (log: IncidentLogRow, _args: unknown, ctx: GraphQLContext) => ctx.loaders.incidentById.load(log.incidentId),
  author: (log: IncidentLogRow, _args: unknown, ctx: GraphQLContext) =>
    log.authorId === null ? null : ctx.loaders.user(log.authorId),
};

const incidentLogsField =
  (service: IncidentService) => (incident: IncidentRow, args: PageArgs, ctx: GraphQLContext, info?: GraphQLResolveInfo) =>
    service.logs(incident, args, ctx.loaders, info && logColumnsSelected(info));

const assignedIncidentsField =
  (service: IncidentService) => (user: UserRow, args: PageArgs & { status?: IncidentStatus[] | null }, ctx: GraphQLContext) =>
    service.assignedTo(user, args, ctx.loaders);

export function incidentDirectResolvers(service: IncidentService): DirectResolvers {
  return {
    Incident: { ...incidentFields, logs: incidentLogsField(service) },
    IncidentLog: incidentLogFields,
    User: { assignedIncidents: assignedIncidentsField(service) },
  };
}
