import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { connectionType } from "../../shared/connection.types.js";
import { DateTimeScalar } from "../../shared/datetime.scalar.js";
import { WebhookDeliveryStatus, WebhookEventType } from "./webhook-enums.js";

@ObjectType("WebhookEndpoint", { simpleResolvers: true, description: "Where signed callbacks about changes are sent. ADMIN only." })
export class WebhookEndpointType {
  @Field(() => ID) id!: number;
  @Field(() => String) url!: string;
  @Field(() => String) description!: string;
  @Field(() => Boolean, { description: "False once switched off, or once the receiver answered 410 Gone." }) enabled!: boolean;
  @Field(() => String, { description: "The last 4 characters of the secret." }) secretHint!: string;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

@ObjectType("WebhookDelivery", { simpleResolvers: true, description: "One event sent to one endpoint; at least once, in order per incident." })
export class WebhookDeliveryType {
  // `id` is the public id (delivery-id.ts), resolved by WebhookDeliveryResolver.
  @Field(() => WebhookEventType) eventType!: WebhookEventType;
  @Field(() => WebhookDeliveryStatus) status!: WebhookDeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => Int, { nullable: true }) lastStatusCode!: number | null;
  @Field(() => String, { nullable: true, description: "At most 1,000 characters; response bodies are never stored." }) lastError!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => DateTimeScalar, { nullable: true }) deliveredAt!: Date | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

@ObjectType("WebhookEndpointSecret", { simpleResolvers: true, description: "The only place the secret is ever shown." })
export class WebhookEndpointSecretType {
  @Field(() => WebhookEndpointType) endpoint!: WebhookEndpointType;
  @Field(() => String, { description: "whsec_ + base64 of 32 random bytes; the HMAC key is the decoded bytes." }) secret!: string;
}

export const WebhookEndpointConnectionType = connectionType("WebhookEndpoint", WebhookEndpointType);
export const WebhookDeliveryConnectionType = connectionType("WebhookDelivery", WebhookDeliveryType);

@InputType("CreateWebhookEndpointInput")
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: "https:// in production, to a public address." }) url!: string;
  @Field(() => String, { nullable: true, defaultValue: "" }) description?: string | null;
  @Field(() => [WebhookEventType], { nullable: true, defaultValue: [], description: "Empty: every type." }) events?: WebhookEventType[] | null;
  @Field(() => [ID], { nullable: true, defaultValue: [], description: "Empty: every service, and incidents without one." })
  serviceIds?: string[] | null;
}

@InputType("UpdateWebhookEndpointInput")
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => [WebhookEventType], { nullable: true }) events?: WebhookEventType[] | null;
  @Field(() => [ID], { nullable: true }) serviceIds?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: "True again resumes the deliveries left pending." }) enabled?: boolean | null;
}
