import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../../shared/context.js";
import { IncidentFilterInput } from "../incidents/incident.inputs.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import { IncidentType } from "../incidents/incident.type.js";
import type { IntelligenceService } from "./intelligence.service.js";
import { SearchHitType, SimilarIncidentType, SimilarToInput } from "./intelligence.type.js";

@Resolver()
export class IntelligenceResolver {
  constructor(private readonly service: IntelligenceService) {}

  @Query(() => [SearchHitType], { description: "Every word of `query`, as a prefix, in the title, description or notes; best first." })
  async searchIncidents(
    @Arg("query", () => String) query: string,
    @Arg("filter", () => IncidentFilterInput, { nullable: true }) filter: IncidentFilterInput | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.service.search(viewer, { query, filter, first }, ctx.loaders);
  }

  @Query(() => [SimilarIncidentType], {
    description: "Is this already reported? A draft scored against open and investigating incidents first, then the rest.",
  })
  async similarIncidents(
    @Arg("to", () => SimilarToInput) to: SimilarToInput,
    @Arg("first", () => Int, { nullable: true, defaultValue: 5 }) first: number | null,
    @Arg("withinDays", () => Int, { nullable: true, defaultValue: 180, description: "Incidents created in the last N days." })
    withinDays: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.service.similarToDraft(viewer, { to, first, withinDays }, ctx.loaders);
  }
}

@Resolver(() => IncidentType)
export class IncidentSimilarResolver {
  constructor(private readonly service: IntelligenceService) {}

  @FieldResolver(() => [SimilarIncidentType], {
    description: "Other incidents created within withinDays of this one, most similar first, each with its reasons.",
  })
  async similar(
    @Root() incident: IncidentRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 5 }) first: number | null,
    @Arg("sameServiceOnly", () => Boolean, { nullable: true, defaultValue: false }) sameServiceOnly: boolean | null,
    @Arg("withinDays", () => Int, { nullable: true, defaultValue: 180 }) withinDays: number | null,
  ) {
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.service.similar(viewer, incident, { first, sameServiceOnly, withinDays }, ctx.loaders);
  }
}
