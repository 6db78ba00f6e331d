import { Arg, Ctx, FieldResolver, ID, Resolver, Root, Subscription } from "type-graphql";
import { assertCan, Permission } from "../../auth/policy.js";
import type { GraphQLContext } from "../../shared/context.js";
import { GraphQLError } from "graphql";
import { subscriptionOverHttpMessage } from "../../graphql/subscriptions-over-http.js";
import { parseId } from "../../shared/ids.js";
import { AlertType } from "../alerts/alert.type.js";
import { UserType } from "../users/user.type.js";
import { INCIDENT_EVENTS_TOPIC, type IncidentEventFilter, type IncidentEventMessage } from "./incident-event.js";
import { IncidentEventType } from "./incident-event.type.js";
import { IncidentLogType, IncidentType } from "./incident.type.js";

/** An id that names nothing matches no incident, so such a subscription simply never receives an event. */
export function incidentEventFilter(rawIncidentId: string | null | undefined): IncidentEventFilter {
  if (rawIncidentId == null) return {};
  return { incidentId: parseId(rawIncidentId) ?? 0 };
}

/**
 * Each event is executed with a context of its own (fresh loaders, viewer = the subscriber), built by the
 * WebSocket server, so the fields below read the database as the event is delivered, under the query rules.
 */
@Resolver(() => IncidentEventType)
export class IncidentEventResolver {
  @Subscription(() => IncidentEventType, {
    topics: INCIDENT_EVENTS_TOPIC,
    // The bus receives the filter as the topic id, so that it routes before queueing rather than after.
    topicId: ({ args }: { args: { incidentId?: string | null } }) => incidentEventFilter(args.incidentId),
    description: "Changes to incidents, sent after they are committed; all incidents when incidentId is omitted.",
  })
  async incidentEvents(
    @Root() event: IncidentEventMessage | undefined,
    @Ctx() ctx: GraphQLContext,
    @Arg("incidentId", () => ID, { nullable: true }) _incidentId: string | null,
  ): Promise<IncidentEventMessage> {
    assertCan(await ctx.viewer(), Permission.READ);
    // Only reachable by executing the subscription as a query, e.g. over HTTP, where there is no event stream.
    if (!event) throw new GraphQLError(subscriptionOverHttpMessage, { extensions: { code: "BAD_REQUEST" } });
    return event;
  }

  @FieldResolver(() => IncidentType, {
    nullable: true,
    description: "The incident as it is when the event is delivered; null for DELETED or once it has been deleted.",
  })
  incident(@Root() event: IncidentEventMessage, @Ctx() ctx: GraphQLContext) {
    return event.kind === "DELETED" ? null : ctx.loaders.incidentById.load(event.incidentId);
  }

  @FieldResolver(() => IncidentLogType, { nullable: true, description: "The new timeline entry, for LOG_ADDED (and ALERT, when one was written)." })
  async log(@Root() event: IncidentEventMessage, @Ctx() ctx: GraphQLContext) {
    if (event.logId === null) return null;
    // No loader reads one entry by id, but log ids only grow: the page of this incident's timeline that starts
    // right before the entry begins with it, unless it is gone (deleted with its incident).
    const [first] = await ctx.loaders.logPage.load({ incidentId: event.incidentId, first: 1, afterId: event.logId - 1 });
    return first?.id === event.logId ? first : null;
  }

  @FieldResolver(() => AlertType, { nullable: true, description: "The alert concerned, for ALERT." })
  alert(@Root() event: IncidentEventMessage, @Ctx() ctx: GraphQLContext) {
    return event.alertId === undefined ? null : ctx.loaders.alertById.load(event.alertId);
  }

  @FieldResolver(() => UserType, { nullable: true, description: "Who made the change; null for the system." })
  actor(@Root() event: IncidentEventMessage, @Ctx() ctx: GraphQLContext) {
    return event.actorId === null ? null : ctx.loaders.userById.load(event.actorId);
  }
}
