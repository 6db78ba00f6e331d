import { Field, ID, ObjectType } from "type-graphql";
import { IncidentEventKind } from "./incident-event-kind.js";

/** Root value: an IncidentEventMessage; incident, log and actor are field resolvers (incident-event.resolver.ts). */
@ObjectType("IncidentEvent", { simpleResolvers: true, description: "A change to an incident, sent after it was committed." })
export class IncidentEventType {
  @Field(() => IncidentEventKind) kind!: IncidentEventKind;
  @Field(() => ID) incidentId!: number;
}
