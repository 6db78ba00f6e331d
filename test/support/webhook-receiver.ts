import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the receiver got, as it arrived. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
  /** What the receiver answered (undefined: it stalled, or the connection was cut). */
  answered?: number;
}

/** What to answer to the `n`-th request (from 0): a status, headers, a delay, or "stall" (never answer). */
export type Answer = number | { status: number; headers?: Record<string, string>; delayMs?: number } | "stall";

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Requests being answered right now (for "never twice at once" checks). */
  inFlightMax(): number;
  /** Requests carrying each webhook-id, answered 2xx. */
  delivered(): Map<string, number>;
  answer: (request: Received, n: number) => Answer;
  close(): Promise<void>;
}

/** A local HTTP receiver that answers as told: fails, stalls, 410s on purpose. */
export async function startReceiver(answer: WebhookReceiver["answer"] = () => 200): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const stalled = new Set<ServerResponse>();
  const active = new Map<string, number>();
  let maxSameId = 0;
  const receiver: WebhookReceiver = {
    url: "",
    received,
    answer,
    inFlightMax: () => maxSameId,
    delivered() {
      const counts = new Map<string, number>();
      for (const request of received) {
        if (request.answered !== undefined && request.answered >= 200 && request.answered < 300) {
          const id = String(request.headers["webhook-id"]);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      return counts;
    },
    async close() {
      for (const response of stalled) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const entry: Received = { headers: request.headers, body, json, at: Date.now() };
      const n = received.length;
      received.push(entry);
      const id = String(request.headers["webhook-id"]);
      active.set(id, (active.get(id) ?? 0) + 1);
      maxSameId = Math.max(maxSameId, active.get(id)!);
      const done = () => active.set(id, active.get(id)! - 1);
      const reply = receiver.answer(entry, n);
      if (reply === "stall") {
        stalled.add(response);
        response.on("close", done);
        return;
      }
      const { status, headers = {}, delayMs = 0 } = typeof reply === "number" ? { status: reply } : reply;
      setTimeout(() => {
        entry.answered = status;
        done();
        response.writeHead(status, { "content-type": "text/plain", ...headers }).end("ok");
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
