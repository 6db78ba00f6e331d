import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { setMaxListeners } from "node:events";
import { isPublicAddress } from "./address-policy.js";
import { signWebhook } from "./webhook-signature.js";

export interface WebhookRequest {
  url: string;
  /** The delivery id: the webhook-id header. */
  id: string;
  body: string;
  secret: string;
}

export type AttemptResult =
  | { kind: "response"; statusCode: number; retryAfter: string | undefined }
  /** Timeout, connection refused or reset, TLS failure, DNS failure: worth another attempt. */
  | { kind: "error"; error: string }
  /** The URL or the address it resolves to is not allowed: no attempt will ever succeed. */
  | { kind: "refused"; error: string }
  /** Stopped by shutdown before an answer: nothing is known, the delivery goes back untried. */
  | { kind: "aborted" };

export interface SenderOptions {
  /** Production refuses http:// and non-public addresses. */
  production: boolean;
  /** The whole attempt: connect, send, answer (WEBHOOK_TIMEOUT). */
  timeoutMs: number;
  connectTimeoutMs?: number;
  /** Response bytes read at most; the rest is dropped with the connection. Nothing is stored. */
  maxResponseBytes?: number;
  /** DNS resolution (dns.lookup by default); tests substitute one to play a rebinding attack. */
  resolve?: (hostname: string, callback: (error: Error | null, addresses: LookupAddress[]) => void) => void;
}

export class RefusedTargetError extends Error {
  override name = "RefusedTargetError";
}

const defaultResolve: NonNullable<SenderOptions["resolve"]> = (hostname, callback) =>
  dnsLookup(hostname, { all: true, verbatim: true }, callback);

/** Why production refuses this URL before any connection, or undefined. Addresses are checked again on connect. */
export function urlProblem(raw: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be an http:// or https:// URL";
  if (url.username || url.password) return "must not carry credentials";
  if (!production) return undefined;
  if (url.protocol !== "https:") return "must be https:// in production";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0 && !isPublicAddress(host)) return "must not name a loopback, private, link-local or metadata address";
  if (host === "localhost" || host.endsWith(".localhost")) return "must not name a loopback, private, link-local or metadata address";
  return undefined;
}

/**
 * A `lookup` for net.connect that refuses, in production, a name that resolves to any non-public address. Node
 * connects to the addresses this returns, so the check holds for the address actually connected to: a name
 * that resolves to a public address when the endpoint is saved and to 127.0.0.1 when the webhook is sent
 * (DNS rebinding) is refused at send time.
 */
export function guardedLookup(production: boolean, resolve = defaultResolve): LookupFunction {
  return ((hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void) => {
    resolve(hostname, (error, addresses) => {
      if (error) return callback(error);
      const usable = addresses.filter((entry) => !options.family || entry.family === options.family);
      if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }));
      if (production && usable.some((entry) => !isPublicAddress(entry.address))) {
        return callback(new RefusedTargetError(`${hostname} resolves to a loopback, private, link-local or metadata address`));
      }
      if (options.all) callback(null, usable);
      else callback(null, usable[0]!.address, usable[0]!.family);
    });
  }) as LookupFunction;
}

export interface WebhookSender {
  send(request: WebhookRequest, signal: AbortSignal): Promise<AttemptResult>;
  close(): void;
}

export function createWebhookSender(options: SenderOptions): WebhookSender {
  const { production, timeoutMs } = options;
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? 5_000, timeoutMs);
  const maxResponseBytes = options.maxResponseBytes ?? 4_096;
  const lookup = guardedLookup(production, options.resolve);
  // Connections are kept for the next delivery to the same receiver: a burst costs one handshake.
  const agents = {
    // Idle connections are dropped after 4 s, before the usual 5 s of receivers' own keep-alive timeouts.
    "http:": new http.Agent({ keepAlive: true, maxSockets: 32, timeout: 4_000 }),
    "https:": new https.Agent({ keepAlive: true, maxSockets: 32, timeout: 4_000 }),
  };

  function send(request: WebhookRequest, signal: AbortSignal): Promise<AttemptResult> {
    // One shutdown signal is shared by every attempt in flight.
    setMaxListeners(0, signal);
    return sendOnce(request, signal, performance.now() + timeoutMs, true);
  }

  function sendOnce({ url, id, body, secret }: WebhookRequest, signal: AbortSignal, deadline: number, mayRetry: boolean): Promise<AttemptResult> {
    const problem = urlProblem(url, production);
    if (problem) return Promise.resolve({ kind: "refused", error: `URL ${problem}` });
    if (signal.aborted) return Promise.resolve({ kind: "aborted" });
    const target = new URL(url);
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(body, "utf8");
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const request = (target.protocol === "https:" ? https : http).request(target, {
        method: "POST",
        agent: agents[target.protocol as "http:" | "https:"],
        lookup,
        headers: {
          "content-type": "application/json",
          "content-length": payload.length,
          "user-agent": "incident-api-webhooks/1.0",
          "webhook-id": id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signWebhook(secret, id, timestamp, body),
        },
      });
      let connectTimer: NodeJS.Timeout | undefined;
      // A resend on a new connection gets what is left of the attempt's time, not its own: the lease covers one timeout.
      const attemptTimer = setTimeout(() => request.destroy(new Error(`timed out after ${timeoutMs} ms`)), Math.max(0, deadline - performance.now()));
      const onAbort = () => request.destroy(new Error("aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      request.on("socket", (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(() => request.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
        socket.once("connect", () => clearTimeout(connectTimer));
      });
      request.on("response", (response) => {
        const retryAfter = response.headers["retry-after"];
        finish({ kind: "response", statusCode: response.statusCode ?? 0, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter });
        // Read and dropped, up to a few KB; a longer or slower answer loses its connection.
        let read = 0;
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxResponseBytes) response.destroy();
        });
        response.on("error", () => {});
        response.on("close", () => clearTimeout(attemptTimer));
      });
      // Without this listener Node drops the connection and the request emits neither error nor response: the
      // attempt would never end, nor be stopped by the timeout or shutdown.
      request.on("upgrade", (response, socket) => {
        clearTimeout(attemptTimer);
        socket.destroy();
        finish({ kind: "response", statusCode: response.statusCode ?? 101, retryAfter: undefined });
      });
      request.on("error", (error) => {
        clearTimeout(attemptTimer);
        if (signal.aborted) return finish({ kind: "aborted" });
        if (error instanceof RefusedTargetError) return finish({ kind: "refused", error: error.message });
        const code = (error as NodeJS.ErrnoException).code;
        // A kept-alive connection the receiver closed while idle: nothing reached it, so the same attempt goes again
        // on a new connection.
        if (mayRetry && request.reusedSocket && (code === "ECONNRESET" || code === "EPIPE")) {
          settled = true;
          clearTimeout(connectTimer);
          signal.removeEventListener("abort", onAbort);
          resolve(sendOnce({ url, id, body, secret }, signal, deadline, false));
          return;
        }
        finish({ kind: "error", error: code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message });
      });
      request.end(payload);
    });
  }

  return {
    send,
    close() {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}
