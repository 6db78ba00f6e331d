import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { IncidentEventResolver } from "../modules/incidents/incident-event.resolver.js";
import {
  IncidentLogResolver,
  IncidentResolver,
  UserIncidentsResolver,
  incidentDirectResolvers,
} from "../modules/incidents/incident.resolver.js";
import { AlertResolver, IncidentAlertsResolver, IntegrationResolver } from "../modules/alerts/alert.resolver.js";
import type { AlertService } from "../modules/alerts/alert.service.js";
import type { IntegrationService } from "../modules/alerts/integration.service.js";
import { IncidentServiceResolver, ServiceResolver } from "../modules/services/service.resolver.js";
import type { ServiceService } from "../modules/services/service.service.js";
import { IncidentInsightsResolver, IncidentMetricsRowResolver } from "../modules/insights/insight.resolver.js";
import type { InsightService } from "../modules/insights/insight.service.js";
import { installDirectResolvers, type DirectResolvers } from "./direct-resolvers.js";
import { IncidentSimilarResolver, IntelligenceResolver } from "../modules/intelligence/intelligence.resolver.js";
import type { IntelligenceService } from "../modules/intelligence/intelligence.service.js";
import type { IncidentService } from "../modules/incidents/incident.service.js";
import { RateLimitResolver } from "../modules/rate-limit/rate-limit.resolver.js";
import { UserResolver } from "../modules/users/user.resolver.js";
import type { UserService } from "../modules/users/user.service.js";
import type { IncidentEventBus } from "../realtime/event-bus.js";
import { typeGraphQLPubSub } from "../realtime/type-graphql-pubsub.js";
import { WebhookDeliveryResolver, WebhookResolver } from "../modules/webhooks/webhook.resolver.js";
import type { WebhookService } from "../modules/webhooks/webhook.service.js";

export interface SchemaServices {
  users: UserService;
  incidents: IncidentService;
  services: ServiceService;
  integrations: IntegrationService;
  alerts: AlertService;
  intelligence: IntelligenceService;
  insights: InsightService;
  webhooks: WebhookService;
  /** What subscriptions listen to; may be left out when the schema is only printed. */
  events?: IncidentEventBus;
}

const resolvers = [
  UserResolver,
  IncidentResolver,
  IncidentLogResolver,
  UserIncidentsResolver,
  IncidentEventResolver,
  ServiceResolver,
  IncidentServiceResolver,
  AlertResolver,
  IncidentAlertsResolver,
  IntegrationResolver,
  IncidentInsightsResolver,
  IncidentMetricsRowResolver,
  RateLimitResolver,
  IntelligenceResolver,
  IncidentSimilarResolver,
  WebhookResolver,
  WebhookDeliveryResolver,
] as const;

/** Builds the executable schema, with resolvers bound to this server's services (no DI framework). */
export async function buildAppSchema(services: SchemaServices): Promise<GraphQLSchema> {
  const instances = new Map<Function, object>([
    [UserResolver, new UserResolver(services.users)],
    [IncidentResolver, new IncidentResolver(services.incidents)],
    [IncidentLogResolver, new IncidentLogResolver()],
    [UserIncidentsResolver, new UserIncidentsResolver(services.incidents)],
    [IncidentEventResolver, new IncidentEventResolver()],
    [RateLimitResolver, new RateLimitResolver()],
    [ServiceResolver, new ServiceResolver(services.services, services.incidents)],
    [IncidentServiceResolver, new IncidentServiceResolver()],
    [AlertResolver, new AlertResolver()],
    [IncidentAlertsResolver, new IncidentAlertsResolver(services.alerts)],
    [IntegrationResolver, new IntegrationResolver(services.integrations)],
    [IntelligenceResolver, new IntelligenceResolver(services.intelligence)],
    [IncidentSimilarResolver, new IncidentSimilarResolver(services.intelligence)],
    [IncidentInsightsResolver, new IncidentInsightsResolver(services.insights)],
    [IncidentMetricsRowResolver, new IncidentMetricsRowResolver()],
    [WebhookResolver, new WebhookResolver(services.webhooks)],
    [WebhookDeliveryResolver, new WebhookDeliveryResolver()],
  ]);
  const schema = await buildSchema({
    resolvers,
    container: { get: (someClass: Function) => instances.get(someClass) },
    // Rules are checked by the services; class-validator is not used.
    validate: false,
    pubSub: typeGraphQLPubSub(services.events),
    emitSchemaFile: false,
  });
  installDirectResolvers(schema, { ...incidentDirectResolvers(services.incidents), ...connectionTotals(schema) });
  return schema;
}

/**
 * `totalCount` is computed only when selected, so a connection answers it with a promise. A field with a
 * resolver is awaited by every executor; a plain property holding a promise is not (graphql-jit reads it raw).
 */
function connectionTotals(schema: GraphQLSchema): DirectResolvers {
  const connections = Object.keys(schema.getTypeMap()).filter((name) => name.endsWith("Connection"));
  return Object.fromEntries(
    connections.map((name) => [name, { totalCount: (connection: { totalCount: unknown }) => connection.totalCount }]),
  );
}

/** The SDL committed as schema.graphql: sorted, so that it changes only when the schema does. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
