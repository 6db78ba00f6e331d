import { connect, type Socket } from "node:net";

/** A WebSocket upgrade request for the API's path, written by hand. */
export const upgradeRequest =
  "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n";

/**
 * A connection upgraded to WebSocket by hand that then does nothing the protocol asks: it sends no connection_init
 * and answers no close frame. Resolves with the socket once the server has answered 101.
 */
export async function deafWebSocket(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  const answer = new Promise<string>((resolve) => socket.once("data", (chunk) => resolve(chunk.toString())));
  socket.write(upgradeRequest);
  const status = (await answer).split("\r\n", 1)[0];
  if (status !== "HTTP/1.1 101 Switching Protocols") throw new Error(`upgrade refused: ${status}`);
  return socket;
}
