import type { ApolloServerPlugin } from "@apollo/server";
import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * Drains an HTTP server when Apollo stops: no new connections, every request in flight answered, and then the
 * server closes. Apollo's own drain plugin half-closes idle connections and waits for the client to close its
 * side; a connection that never sent a request (a browser's preconnect, a pool's spare) then held the stop for its
 * whole 10 s grace. Here connections with no request in flight are closed at once, those with one as soon as its
 * answer is sent, WebSocket connections are left to the subscription server, and `graceMs` bounds the rest.
 */
export function httpDrainPlugin(server: Server, graceMs = 10_000): ApolloServerPlugin {
  // Requests in flight per connection; "upgraded" once the WebSocket server has taken the connection.
  const connections = new Map<Socket, number | "upgraded">();
  let draining = false;

  server.on("connection", (socket: Socket) => {
    connections.set(socket, 0);
    socket.once("close", () => connections.delete(socket));
  });
  server.on("upgrade", (request) => connections.set(request.socket, "upgraded"));
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
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const [socket, requests] of connections) if (requests === 0) socket.destroy();
    timer = setTimeout(() => {
      for (const socket of connections.keys()) socket.destroy();
    }, graceMs);
    try {
      await closed;
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
