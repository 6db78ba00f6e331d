import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLContext } from "../../shared/context.js";
import { deliveryPublicId } from "./delivery-id.js";
import { WebhookDeliveryStatus, WebhookEventType } from "./webhook-enums.js";
import type { WebhookService } from "./webhook.service.js";
import type { WebhookEndpointRow } from "./webhook.table.js";
import {
  CreateWebhookEndpointInput,
  UpdateWebhookEndpointInput,
  WebhookDeliveryConnectionType,
  WebhookDeliveryType,
  WebhookEndpointConnectionType,
  WebhookEndpointSecretType,
  WebhookEndpointType,
} from "./webhook.type.js";

@Resolver(() => WebhookEndpointType)
export class WebhookResolver {
  constructor(private readonly webhooks: WebhookService) {}

  @FieldResolver(() => [WebhookEventType], { description: "Empty: every type." })
  events(@Root() endpoint: WebhookEndpointRow) {
    return JSON.parse(endpoint.events) as WebhookEventType[];
  }

  @FieldResolver(() => [ID], { description: "Empty: every service (and incidents without one)." })
  serviceIds(@Root() endpoint: WebhookEndpointRow) {
    return (JSON.parse(endpoint.serviceIds) as number[]).map(String);
  }

  @FieldResolver(() => WebhookDeliveryConnectionType, { description: "Newest first." })
  async deliveries(
    @Root() endpoint: WebhookEndpointRow,
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("status", () => [WebhookDeliveryStatus], { nullable: true }) status: WebhookDeliveryStatus[] | null,
  ) {
    return this.webhooks.deliveries(await ctx.viewer(), endpoint, { first, after, status }, ctx.loaders);
  }

  @Query(() => WebhookEndpointConnectionType, { description: "ADMIN." })
  async webhookEndpoints(
    @Ctx() ctx: GraphQLContext,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ) {
    return this.webhooks.endpoints(await ctx.viewer(), { first, after });
  }

  @Mutation(() => WebhookEndpointSecretType, { description: "ADMIN. The secret is shown here and by rotateWebhookSecret only." })
  async createWebhookEndpoint(@Arg("input", () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() ctx: GraphQLContext) {
    return this.webhooks.create(await ctx.viewer(), input);
  }

  @Mutation(() => WebhookEndpointType, { description: "ADMIN. Partial, as updateIncident." })
  async updateWebhookEndpoint(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return this.webhooks.update(await ctx.viewer(), id, input);
  }

  @Mutation(() => WebhookEndpointSecretType, { description: "ADMIN. The old secret stops signing at once." })
  async rotateWebhookSecret(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.webhooks.rotateSecret(await ctx.viewer(), id);
  }

  @Mutation(() => ID, { description: "ADMIN. Its deliveries go with it." })
  async deleteWebhookEndpoint(@Arg("id", () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return this.webhooks.delete(await ctx.viewer(), id);
  }

  @Mutation(() => WebhookDeliveryType, { description: "ADMIN. A new delivery of the same event, with the same body." })
  async redeliverWebhook(@Arg("deliveryId", () => ID) deliveryId: string, @Ctx() ctx: GraphQLContext) {
    return this.webhooks.redeliver(await ctx.viewer(), deliveryId);
  }
}

@Resolver(() => WebhookDeliveryType)
export class WebhookDeliveryResolver {
  @FieldResolver(() => ID, { description: "Also the webhook-id header: the receiver's idempotency key." })
  id(@Root() delivery: { id: number; createdAt: Date }) {
    return deliveryPublicId(delivery.id, delivery.createdAt);
  }
}
