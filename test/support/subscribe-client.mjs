// Subscribers in a process of their own, reading their sockets as fast as they arrive, as remote clients do: from the
// server's own process, a client reads only when the server lets the event loop turn, and the server's writes stall
// on the full socket buffer, which hides how long the server holds the loop. Prints "done" once every subscription
// has received COUNT events, then exits; errors and closes are printed as they come.
// Usage: node subscribe-client.mjs WS_URL TOKEN SUBSCRIPTIONS INCIDENT_ID COUNT
import { createClient } from "graphql-ws";
import { WebSocket } from "ws";

const [url, token, subscriptions, incidentId, count] = process.argv.slice(2);
const query = `subscription($incidentId: ID) {
  incidentEvents(incidentId: $incidentId) { kind incidentId incident { id title status version logs { totalCount } } alert { id fingerprint status } }
}`;
let remaining = Number(subscriptions);
for (let i = 0; i < Number(subscriptions); i++) {
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
  let received = 0;
  client.subscribe(
    { query, variables: { incidentId } },
    {
      next: (result) => {
        if (result.errors) console.log(`error ${JSON.stringify(result.errors)}`);
        if (++received === Number(count) && --remaining === 0) {
          console.log("done");
          process.exit(0);
        }
      },
      error: (error) => console.log(`error ${JSON.stringify(error)}`),
      complete: () => console.log("complete"),
    },
  );
}
