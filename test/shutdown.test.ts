import { connect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { startTestServer } from "./support/server.js";

/** Reads from a raw socket until `count` complete HTTP responses (status lines) have arrived or it closes. */
function responses(socket: Socket, count: number): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const done = () => resolve(text);
    socket.on("data", (chunk) => {
      text += chunk.toString();
      if ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= count && /\r\n\r\n[\s\S]*\}\s*$/.test(text)) done();
    });
    socket.on("close", done);
    socket.on("error", done);
  });
}

describe("graceful shutdown", () => {
  it("finishes the request in flight, turns /readyz to 503, refuses new connections, then stops", async () => {
    const server = await startTestServer();
    const { port } = server.app;
    const body = JSON.stringify({ query: `mutation { createIncident(input: { title: "Written during shutdown" }) { id title } }` });

    // A mutation whose body is still arriving when shutdown begins.
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const received = responses(socket, 2);
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${server.admin.token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closed = server.app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));

    // New connections are refused while the old one drains.
    const refused = await fetch(`${server.base}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);

    // The rest of the body, and a readiness probe pipelined behind it on the same connection.
    socket.write(`${body.slice(20)}GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const text = await received;
    await closed;

    const [first, second] = text.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain('"title":"Written during shutdown"');
    expect(second).toMatch(/^HTTP\/1\.1 503/);
    socket.destroy();
    await server.close(); // idempotent; removes the temporary files
  });
});
