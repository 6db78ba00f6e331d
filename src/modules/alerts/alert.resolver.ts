import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import { chargeResponseBytes } from "../../graphql/response-size.js";
import type { GraphQLContext } from "../../shared/context.js";
import { IncidentType } from "../incidents/incident.type.js";
import type { IncidentRow } from "../incidents/incident.table.js";
import { LabelType, ServiceType } from "../services/service.type.js";
import { AlertStatus } from "./alert-enums.js";
import type { Label } from "../services/label.rules.js";
import { labelList } from "./alert-rows.js";
import type { AlertService } from "./alert.service.js";
import type { AlertRow, IntegrationRow } from "./alert.table.js";
import { AlertConnectionType, AlertType, CreateIntegrationInput, IntegrationKeyType, IntegrationType } from "./alert.type.js";
import type { IntegrationService } from "./integration.service.js";

/**
 * Each alert row's parsed labels and annotations (up to 64 each, 1,000 characters a value: about 130 KB a row).
 * A document may select them under many aliases of the same page, which the loaders answer with the same rows:
 * parsed once per row, they are held once, not once per alias.
 */
const parsed = new WeakMap<AlertRow, Partial<Record<"labels" | "annotations", { json: string; list: Label[] }>>>();
function parsedOnce(alert: AlertRow, field: "labels" | "annotations"): Label[] {
  let entry = parsed.get(alert);
  if (!entry) parsed.set(alert, (entry = {}));
  const json = alert[field];
  // Keyed by the text too, should a row object ever be updated in place.
  const cached = entry[field];
  if (cached?.json === json) return cached.list;
  const list = labelList(json);
  entry[field] = { json, list };
  return list;
}

@Resolver(() => AlertType)
export class AlertResolver {
  @FieldResolver(() => IncidentType)
  incident(@Root() alert: AlertRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.incidentById.load(alert.incidentId!);
  }

  @FieldResolver(() => IntegrationType, { nullable: true, description: "Null once the integration is deleted." })
  integration(@Root() alert: AlertRow, @Ctx() ctx: GraphQLContext) {
    return alert.integrationId === null ? null : ctx.loaders.integrationById.load(alert.integrationId);
  }

  @FieldResolver(() => [LabelType], { description: "Sorted by key." })
  labels(@Root() alert: AlertRow, @Ctx() ctx: GraphQLContext) {
    // The stored JSON's length is about what the list serialises to.
    chargeResponseBytes(ctx, alert.labels.length);
    return parsedOnce(alert, "labels");
  }

  @FieldResolver(() => [LabelType], { description: "Sorted by key." })
  annotations(@Root() alert: AlertRow, @Ctx() ctx: GraphQLContext) {
    chargeResponseBytes(ctx, alert.annotations.length);
    return parsedOnce(alert, "annotations");
  }
}

@Resolver(() => IncidentType)
export class IncidentAlertsResolver {
  constructor(private readonly service: AlertService) {}

  @FieldResolver(() => AlertConnectionType, { description: "The alerts grouped into this incident, oldest first." })
  alerts(
    @Root() incident: IncidentRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("status", () => [AlertStatus], { nullable: true }) status: AlertStatus[] | null,
  ) {
    return this.service.alertsOf(incident.id, { first, after, status }, ctx.loaders);
  }
}

@Resolver(() => IntegrationType)
export class IntegrationResolver {
  constructor(private readonly integrations: IntegrationService) {}

  @FieldResolver(() => ServiceType)
  service(@Root() integration: IntegrationRow, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.serviceById.load(integration.serviceId);
  }

  @Mutation(() => IntegrationKeyType, { description: "ADMIN. The key is shown here only." })
  async createIntegration(@Arg("input", () => CreateIntegrationInput) input: CreateIntegrationInput, @Ctx() ctx: GraphQLContext) {
    return this.integrations.create(await ctx.viewer(), input);
  }

  @Mutation(() => IntegrationKeyType, { description: "ADMIN. The old key stops working at once." })
  async rotateIntegrationKey(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.integrations.rotate(await ctx.viewer(), id);
  }

  @Mutation(() => ID, { description: "ADMIN. Its alerts stay with their incidents." })
  async deleteIntegration(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.integrations.delete(await ctx.viewer(), id);
  }
}
