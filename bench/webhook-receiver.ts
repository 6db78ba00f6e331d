// The bench's webhook receiver, in a process of its own so that its work does not slow the load generator:
// POST anything: counted, then answered 200 at once ("answer") or held unanswered ("hold").
// GET /count, /hold, /answer: the count so far, and the mode. Prints {"port":N} once listening.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

let received = 0;
let mode: "answer" | "hold" = "answer";
const held = new Set<ServerResponse>();

const server = createServer((request, response) => {
  if (request.method === "GET") {
    if (request.url === "/hold") mode = "hold";
    if (request.url === "/answer") {
      mode = "answer";
      for (const waiting of held) waiting.destroy();
      held.clear();
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ received, mode }));
    return;
  }
  request.resume();
  request.on("end", () => {
    received++;
    if (mode === "hold") held.add(response);
    else response.writeHead(200).end();
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
