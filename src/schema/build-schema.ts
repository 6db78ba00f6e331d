import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { IncidentEventResolver } from "../modules/incidents/incident-event.resolver.js";
import { IncidentLogResolver, IncidentResolver, UserIncidentsResolver } from "../modules/incidents/incident.resolver.js";
import type { IncidentService } from "../modules/incidents/incident.service.js";
import { UserResolver } from "../modules/users/user.resolver.js";
import type { UserService } from "../modules/users/user.service.js";
import type { IncidentEventBus } from "../realtime/event-bus.js";
import { typeGraphQLPubSub } from "../realtime/type-graphql-pubsub.js";

export interface SchemaServices {
  users: UserService;
  incidents: IncidentService;
  /** What subscriptions listen to; may be left out when the schema is only printed. */
  events?: IncidentEventBus;
}

const resolvers = [UserResolver, IncidentResolver, IncidentLogResolver, UserIncidentsResolver, IncidentEventResolver] as const;

/** Builds the executable schema, with resolvers bound to this server's services (no DI framework). */
export async function buildAppSchema(services: SchemaServices): Promise<GraphQLSchema> {
  const instances = new Map<Function, object>([
    [UserResolver, new UserResolver(services.users)],
    [IncidentResolver, new IncidentResolver(services.incidents)],
    [IncidentLogResolver, new IncidentLogResolver(services.incidents)],
    [UserIncidentsResolver, new UserIncidentsResolver(services.incidents)],
    [IncidentEventResolver, new IncidentEventResolver()],
  ]);
  return buildSchema({
    resolvers,
    container: { get: (someClass: Function) => instances.get(someClass) },
    // Rules are checked by the services; class-validator is not used.
    validate: false,
    pubSub: typeGraphQLPubSub(services.events),
    emitSchemaFile: false,
  });
}

/** The SDL committed as schema.graphql: sorted, so that it changes only when the schema does. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
