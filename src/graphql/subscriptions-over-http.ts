import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";

export const subscriptionOverHttpMessage = "Subscriptions are served over WebSocket (graphql-ws) at /graphql";

/** HTTP has no event stream: a subscription sent there is a malformed request, refused before it executes. */
export function subscriptionsOverHttpPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== "subscription") return;
          throw new GraphQLError(subscriptionOverHttpMessage, {
            extensions: { code: "BAD_REQUEST", http: { status: 400 } },
          });
        },
      };
    },
  };
}
