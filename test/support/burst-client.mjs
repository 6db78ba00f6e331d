// Sends N GraphQL requests that reach the server in one pass of its event loop, as a client's flood does: every
// connection is opened first, then every request is written in one turn. A process of its own, because writes
// from the server's own process reach it one turn at a time. Prints the answers as JSON: [{status, head, body}].
// Usage: node burst-client.mjs URL TOKEN COUNT QUERY
import { connect } from "node:net";

const [url, token, count, query] = process.argv.slice(2);
const { hostname, port, pathname } = new URL(url);
const sockets = await Promise.all(
  Array.from({ length: Number(count) }, () => new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once("error", reject);
  })),
);
const body = JSON.stringify({ query });
const answers = sockets.map(
  (socket) =>
    new Promise((resolve) => {
      let text = "";
      socket.setEncoding("utf8").on("data", (chunk) => (text += chunk));
      socket.on("close", () => {
        const [head = "", ...rest] = text.split("\r\n\r\n");
        resolve({ status: Number(head.split(" ")[1]), head: head.toLowerCase().replaceAll("\r", ""), body: rest.join("\r\n\r\n") });
      });
    }),
);
for (const socket of sockets) {
  socket.write(
    `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
process.stdout.write(JSON.stringify(await Promise.all(answers)));
