import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../../shared/context.js";
import { IncidentType } from "../incidents/incident.type.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import { ServiceType } from "../services/service.type.js";
import { UserType } from "../users/user.type.js";
import { OutlierClass } from "./insight-enums.js";
import { IncidentMetricsInput } from "./insight.inputs.js";
import type { InsightService, MetricsRow } from "./insight.service.js";
import { IncidentMetricsRowType, IncidentTemplateType } from "./insight.type.js";

@Resolver(() => IncidentType)
export class IncidentInsightsResolver {
  constructor(private readonly service: InsightService) {}

  @FieldResolver(() => IncidentTemplateType)
  template(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.template.load(incident);
  }

  @FieldResolver(() => OutlierClass, {
    nullable: true,
    description: "Null when the service has no history to compare with (or there is no service), or between RARE and FREQUENT.",
  })
  async outlier(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return (await ctx.loaders.template.load(incident)).outlier;
  }

  @FieldResolver(() => IncidentType, { nullable: true, description: "The incident this duplicate was merged into." })
  mergedInto(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return incident.mergedIntoId == null ? null : ctx.loaders.incidentById.load(incident.mergedIntoId);
  }

  @Mutation(() => IncidentType, {
    description:
      "RESPONDER, ADMIN. Moves the sources' alerts to the target, closes the sources (mergedInto: the target) and writes MERGE entries, in one transaction. At most 50 sources.",
  })
  async mergeIncidents(
    @Arg("targetId", () => ID) targetId: string,
    @Arg("sourceIds", () => [ID]) sourceIds: string[],
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.service.merge(await ctx.viewer(), targetId, sourceIds);
  }

  @Query(() => [IncidentMetricsRowType], {
    description: "Counts and durations of the incidents created in [from, to), by bucket and group; ordered by bucket, service name, priority, assignee name.",
  })
  async incidentMetrics(@Arg("input", () => IncidentMetricsInput) input: IncidentMetricsInput, @Ctx() ctx: GraphQLContext) {
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.service.metrics(viewer, input);
  }
}

@Resolver(() => IncidentMetricsRowType)
export class IncidentMetricsRowResolver {
  @FieldResolver(() => ServiceType, { nullable: true })
  service(@Root() row: MetricsRow, @Ctx() ctx: GraphQLContext) {
    return row.serviceId === null ? null : ctx.loaders.serviceById.load(row.serviceId);
  }

  @FieldResolver(() => UserType, { nullable: true })
  assignee(@Root() row: MetricsRow, @Ctx() ctx: GraphQLContext) {
    return row.assigneeId === null ? null : ctx.loaders.user(row.assigneeId);
  }
}
