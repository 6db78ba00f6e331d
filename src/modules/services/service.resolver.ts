import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { assertCan, Permission } from "../../auth/policy.js";
import type { GraphQLContext } from "../../shared/context.js";
import { parseId } from "../../shared/ids.js";
import { IntegrationType } from "../alerts/alert.type.js";
import { incidentPageReads } from "../incidents/incident-projection.js";
import { IncidentFilterInput, IncidentOrderInput } from "../incidents/incident.inputs.js";
import type { IncidentService } from "../incidents/incident.service.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import { IncidentConnectionType, IncidentType } from "../incidents/incident.type.js";
import { CreateServiceInput, UpdateServiceInput } from "./service.inputs.js";
import { alertGroupingOf, type ServiceService } from "./service.service.js";
import type { ServiceRow } from "./service.table.js";
import { AlertGroupingType, LabelType, ServiceConnectionType, ServiceType } from "./service.type.js";

@Resolver(() => ServiceType)
export class ServiceResolver {
  constructor(
    private readonly serviceService: ServiceService,
    private readonly incidentService: IncidentService,
  ) {}

  @Query(() => ServiceType, { nullable: true, description: "Null when no service has this id." })
  async service(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    assertCan(await ctx.viewer(), Permission.READ);
    const serviceId = parseId(id);
    return serviceId === undefined ? null : ctx.loaders.serviceById.load(serviceId);
  }

  @Query(() => ServiceConnectionType)
  async services(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ) {
    return this.serviceService.page(await ctx.viewer(), { first, after });
  }

  @Mutation(() => ServiceType, { description: "ADMIN." })
  async createService(@Arg("input", () => CreateServiceInput) input: CreateServiceInput, @Ctx() ctx: GraphQLContext) {
    return this.serviceService.create(await ctx.viewer(), input);
  }

  @Mutation(() => ServiceType, { description: "ADMIN; a partial update." })
  async updateService(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateServiceInput) input: UpdateServiceInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.serviceService.update(await ctx.viewer(), id, input);
  }

  @Mutation(() => ID, { description: "ADMIN. Its incidents stay (without a service); its integrations go." })
  async deleteService(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.serviceService.delete(await ctx.viewer(), id);
  }

  @FieldResolver(() => AlertGroupingType)
  alertGrouping(@Root() service: ServiceRow) {
    return alertGroupingOf(service);
  }

  @FieldResolver(() => IncidentConnectionType, { description: "This service's incidents." })
  async incidents(
    @Root() service: ServiceRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("filter", () => IncidentFilterInput, { nullable: true }) filter: IncidentFilterInput | null,
    @Arg("orderBy", () => IncidentOrderInput, { nullable: true }) orderBy: IncidentOrderInput | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Info() info: GraphQLResolveInfo,
  ) {
    const scoped = { ...filter, serviceId: [String(service.id)] };
    const viewer = await ctx.viewer();
    await ctx.pause?.();
    return this.incidentService.page(viewer, { filter: scoped, orderBy, first, after }, ctx.loaders, incidentPageReads(info));
  }

  @FieldResolver(() => [IntegrationType], { description: "ADMIN only; FORBIDDEN for others." })
  async integrations(@Root() service: ServiceRow, @Ctx() ctx: GraphQLContext) {
    assertCan(await ctx.viewer(), Permission.MANAGE_SERVICES);
    return ctx.loaders.integrationsOfService.load(service.id);
  }
}

@Resolver(() => IncidentType)
export class IncidentServiceResolver {
  @FieldResolver(() => ServiceType, { nullable: true })
  service(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return incident.serviceId === null || incident.serviceId === undefined ? null : ctx.loaders.serviceById.load(incident.serviceId);
  }

  @FieldResolver(() => [LabelType], { description: "Sorted by key." })
  labels(@Root() incident: IncidentRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.labels.load(incident.id);
  }
}
