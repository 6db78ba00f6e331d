import type { ApolloServerPlugin } from "@apollo/server";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import { setImmediate as turn } from "node:timers/promises";
import type { InFlight } from "./in-flight.js";

/**
 * Drains an HTTP server when Apollo stops: no new connections, every request in flight answered, and then the
 * server closes. Apollo's own drain plugin half-closes idle connections and waits for the client to close its
 * side; a connection that never sent a request (a browser's preconnect, a pool's spare) then held the stop for its
 * whole 10 s grace. Here connections with no request in flight are closed at once, those with one as soon as its
 * answer is sent, WebSocket connections are left to the subscription server, and `graceMs` bounds the rest.
 *
 * Nothing that arrived before the stop is reset: the connections waiting to be accepted are taken before the listener
 * closes, and two turns of the event loop read the requests already sent on them, which are answered (503, shutting
 * down); only then is a connection with no request idle. And the drain ends when every handler has returned, not
 * only every connection: a request whose client hung up still runs, and the database closes after the drain.
 */
export function httpDrainPlugin(server: Server, handlers: InFlight, graceMs = 10_000): ApolloServerPlugin {
  // Requests in flight per connection; "upgraded" once the WebSocket server has taken the connection.
  const connections = new Map<Socket, number | "upgraded">();
  let draining = false;

  let accepted = 0;
  server.on("connection", (socket: Socket) => {
    accepted += 1;
    connections.set(socket, 0);
    socket.once("close", () => connections.delete(socket));
  });
  server.on("upgrade", (request, socket: Socket) => {
    // The subscription server stops taking upgrades when the stop begins, while connections are still accepted:
    // nothing else would answer this one, and it would hold the stop for the whole grace.
    if (draining) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    connections.set(request.socket, "upgraded");
  });
  server.on("request", (request, response) => {
    const socket = request.socket;
    const before = connections.get(socket);
    if (typeof before === "number") connections.set(socket, before + 1);
    response.once("close", () => {
      const count = connections.get(socket);
      if (typeof count !== "number") return;
      connections.set(socket, count - 1);
      if (draining && count === 1) socket.end();
    });
  });

  const drain = async () => {
    draining = true;
    let timer: NodeJS.Timeout | undefined;
    // Connections the kernel had already accepted are taken first: closing the listener would reset them.
    await takeWaiting(() => accepted);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const socket of connections.keys()) socket.destroy();
        resolve();
      }, graceMs);
    });
    await turn();
    await turn();
    for (const [socket, requests] of connections) if (requests === 0) socket.destroy();
    try {
      await Promise.race([Promise.all([closed, handlers.idle()]), graceOver]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    async serverWillStart() {
      return { drainServer: drain };
    },
  };
}

/**
 * Node takes one waiting connection per turn of the event loop, and closing the listener resets those still waiting
 * (30 sent at once took 30 turns). Turns until two in a row bring none, 200 at most: a flood cannot hold the stop.
 */
async function takeWaiting(accepted: () => number): Promise<void> {
  let quiet = 0;
  for (let turns = 0; turns < 200 && quiet < 2; turns++) {
    const before = accepted();
    await turn();
    quiet = accepted() === before ? quiet + 1 : 0;
  }
}
