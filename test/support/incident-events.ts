import { createClient, type Client } from "graphql-ws";
import { WebSocket } from "ws";
import type { TestServer } from "./server.js";
import { until } from "./until.js";

/** The admin's graphql-ws client, subscribed to `query` once the server counts the subscription; each event's data goes to `onEvent`. */
export async function subscribeAsAdmin(server: TestServer, query: string, onEvent: (event: any) => void): Promise<Client> {
  const before = await server.metric("graphql_subscriptions_active");
  const client = createClient({
    url: server.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${server.admin.token}` },
  });
  client.subscribe({ query }, { next: (result) => onEvent(result.data?.incidentEvents), error: () => {}, complete: () => {} });
  await until(async () => (await server.metric("graphql_subscriptions_active")) > before, "the subscription");
  return client;
}
