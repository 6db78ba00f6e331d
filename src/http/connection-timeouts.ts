import { createServer, type Server } from "node:http";

export interface ConnectionTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * The HTTP server, with clients given a bounded time to send their requests. Node's defaults let a connection
 * that sends nothing stay open for good and one that sends part of its headers for 60-90 s: a client opening
 * connections and sending nothing kept every one of them, until the process ran out of file descriptors and no one
 * else could connect. Answers are not timed: a request that executes slowly is not cut short.
 */
export function createTimedServer(timeouts: ConnectionTimeouts): Server {
  // Node checks the header and request timeouts of open connections this often (30 s by default).
  const server = createServer({ connectionsCheckingInterval: Math.min(1_000, timeouts.headersTimeoutMs) });
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = Math.max(timeouts.requestTimeoutMs, timeouts.headersTimeoutMs);
  // A connection that has sent no byte is not yet a request Node times: it gets the headers' time for its first.
  server.on("connection", (socket) => {
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, timeouts.headersTimeoutMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
  return server;
}
