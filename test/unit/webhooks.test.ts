import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { isPublicAddress } from "../../src/modules/webhooks/address-policy.js";
import { decide } from "../../src/modules/webhooks/delivery-outcome.js";
import { nextAttemptDelayMs, parseRetryAfter } from "../../src/modules/webhooks/retry-policy.js";
import { createWebhookSender, urlProblem, type AttemptResult, type WebhookSender } from "../../src/modules/webhooks/webhook-sender.js";
import { newWebhookSecret, signWebhook } from "../../src/modules/webhooks/webhook-signature.js";
import { deliveryPublicId, parseDeliveryId } from "../../src/modules/webhooks/delivery-id.js";
import { sentBody, storedBody, webhookBody } from "../../src/modules/webhooks/webhook-payload.js";

const now = new Date("2026-11-30T06:00:00.000Z");
const schedule = [5, 60, 300];

describe("webhook signatures", () => {
  it("signs as Standard Webhooks: the standardwebhooks library verifies, and signs the same", () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ type: "incident.created", data: { title: "Zürich ☃" } });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook(secret, "42", timestamp, body);
    const headers = { "webhook-id": "42", "webhook-timestamp": String(timestamp), "webhook-signature": signature };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(secret).sign("42", new Date(timestamp * 1000), body)).toBe(signature);
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });
});

describe("bodies stored apart from their incident", () => {
  it("send the same text as the whole body, whatever the incident's text holds", () => {
    const incident = { id: "7", title: 'a "data":{"incident":0 title ☃', labels: [{ key: "k", value: "$& $1 \\" }], version: 3 };
    const data = { actorId: null, alert: { id: "9", summary: '"data":{"incident":0' }, log: { id: "4", message: "fired" } };
    for (const type of ["ALERT_FIRING", "INCIDENT_UPDATED"] as const) {
      const whole = webhookBody(type, now, { incident, ...data } as never);
      expect(sentBody(storedBody(type, now, data as never), JSON.stringify(incident))).toBe(whole);
      // Deliveries written before snapshots existed hold the whole body, sent as it is.
      expect(sentBody(whole, null)).toBe(whole);
    }
  });
});

describe("where production may send", () => {
  it.each([
    ["8.8.8.8", true],
    ["2606:4700:4700::1111", true],
    ["127.0.0.1", false],
    ["127.1.2.3", false],
    ["10.0.0.1", false],
    ["172.16.5.4", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.100.100.200", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["::", false],
    ["fe80::1", false],
    ["fd00:ec2::254", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:7f00:1", false],
    ["::ffff:8.8.8.8", true],
    ["224.0.0.1", false],
    ["not an address", false],
  ])("%s is public: %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it("refuses http:// and private literal hosts in production, allows them in development", () => {
    expect(urlProblem("https://hooks.example.com/x", true)).toBeUndefined();
    expect(urlProblem("http://hooks.example.com/x", true)).toMatch(/https/);
    expect(urlProblem("https://127.0.0.1/x", true)).toMatch(/loopback/);
    expect(urlProblem("https://[::1]:8443/x", true)).toMatch(/loopback/);
    expect(urlProblem("https://localhost/x", true)).toMatch(/loopback/);
    expect(urlProblem("http://127.0.0.1:8080/x", false)).toBeUndefined();
    expect(urlProblem("https://user:pass@hooks.example.com/", false)).toMatch(/credentials/);
    expect(urlProblem("file:///etc/passwd", false)).toMatch(/http/);
    expect(urlProblem("not a url", false)).toMatch(/absolute/);
  });
});

describe("what an attempt's result means", () => {
  it("2xx is DELIVERED", () => {
    expect(decide({ kind: "response", statusCode: 204, retryAfter: undefined }, 1, schedule, now)).toMatchObject({
      outcome: { status: "DELIVERED", statusCode: 204, error: null, deliveredAt: now, nextAttemptAt: null },
      metric: "delivered",
    });
  });

  it("anything else is retried on the schedule, with jitter, until it is used up, then FAILED", () => {
    const retry = decide({ kind: "response", statusCode: 500, retryAfter: undefined }, 2, schedule, now, () => 0.5);
    expect(retry.outcome).toMatchObject({ status: "PENDING", statusCode: 500, error: "HTTP 500" });
    expect(retry.outcome.nextAttemptAt!.getTime() - now.getTime()).toBe(60_000);
    const timeout = decide({ kind: "error", error: "timed out after 10000 ms" }, 1, schedule, now, () => 0);
    expect(timeout.outcome.nextAttemptAt!.getTime() - now.getTime()).toBe(4_000);
    const last = decide({ kind: "response", statusCode: 302, retryAfter: undefined }, 4, schedule, now);
    expect(last).toMatchObject({ outcome: { status: "FAILED", statusCode: 302, nextAttemptAt: null }, metric: "failed" });
  });

  it("honours Retry-After on 429 and 503 only", () => {
    const limited = decide({ kind: "response", statusCode: 429, retryAfter: "120" }, 1, schedule, now);
    expect(limited.outcome.nextAttemptAt!.getTime() - now.getTime()).toBe(120_000);
    const date = new Date(now.getTime() + 30_000).toUTCString();
    const unavailable = decide({ kind: "response", statusCode: 503, retryAfter: date }, 1, schedule, now);
    expect(unavailable.outcome.nextAttemptAt!.getTime() - now.getTime()).toBe(30_000);
    const ignored = decide({ kind: "response", statusCode: 500, retryAfter: "3600" }, 1, schedule, now, () => 0.5);
    expect(ignored.outcome.nextAttemptAt!.getTime() - now.getTime()).toBe(5_000);
  });

  it("410 Gone fails the delivery and disables the endpoint; a refused target fails at once", () => {
    expect(decide({ kind: "response", statusCode: 410, retryAfter: undefined }, 1, schedule, now)).toMatchObject({
      outcome: { status: "FAILED", statusCode: 410 },
      disableEndpoint: true,
      metric: "gone",
    });
    expect(decide({ kind: "refused", error: "no" }, 1, schedule, now)).toMatchObject({ outcome: { status: "FAILED", error: "no" }, metric: "refused" });
  });

  it("keeps at most 1,000 characters of the error", () => {
    const long = decide({ kind: "error", error: "x".repeat(5_000) }, 1, schedule, now);
    expect(long.outcome.error).toHaveLength(1_000);
  });

  it("jitters by at most 20% and reads Retry-After in both forms", () => {
    expect(nextAttemptDelayMs([10], 1, undefined, () => 0)).toBe(8_000);
    expect(nextAttemptDelayMs([10], 1, undefined, () => 0.999999)).toBeLessThanOrEqual(12_000);
    expect(nextAttemptDelayMs([10], 2, undefined)).toBeUndefined();
    expect(parseRetryAfter(" 7 ", 0)).toBe(7);
    expect(parseRetryAfter("soon", 0)).toBeUndefined();
  });
});

describe("the webhook sender", () => {
  let server: Server | undefined;
  let sender: WebhookSender | undefined;
  afterEach(async () => {
    sender?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = sender = undefined;
  });

  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const request = (url: string) => ({ url, id: "7", body: "{}", secret: newWebhookSecret() });

  it("refuses, in production, a name that resolves to a private address when it is sent (DNS rebinding)", async () => {
    // The name was public when the endpoint was saved; its DNS now answers 127.0.0.1.
    sender = createWebhookSender({ production: true, timeoutMs: 2_000, resolve: (_host, callback) => callback(null, [{ address: "127.0.0.1", family: 4 }]) });
    const result = await sender.send(request("https://hooks.example.com/x"), new AbortController().signal);
    expect(result).toMatchObject({ kind: "refused", error: expect.stringMatching(/resolves to a loopback/) });
  });

  it("refuses, in production, a name with any private address among its answers", async () => {
    sender = createWebhookSender({
      production: true,
      timeoutMs: 2_000,
      resolve: (_host, callback) => callback(null, [{ address: "93.184.216.34", family: 4 }, { address: "10.0.0.7", family: 4 }]),
    });
    expect((await sender.send(request("https://hooks.example.com/x"), new AbortController().signal)).kind).toBe("refused");
  });

  it("does not follow redirects", async () => {
    let followed = false;
    const base = await listen((req, res) => {
      if (req.url === "/elsewhere") followed = true;
      res.writeHead(302, { location: "/elsewhere" }).end();
    });
    sender = createWebhookSender({ production: false, timeoutMs: 2_000 });
    expect(await sender.send(request(`${base}/hook`), new AbortController().signal)).toMatchObject({ kind: "response", statusCode: 302 });
    expect(followed).toBe(false);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const base = await listen(() => {});
    sender = createWebhookSender({ production: false, timeoutMs: 300 });
    const started = Date.now();
    const result = await sender.send(request(`${base}/hook`), new AbortController().signal);
    expect(result).toMatchObject({ kind: "error", error: expect.stringMatching(/timed out/) });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("bounds the whole attempt by the timeout, a resend on a new connection included", async () => {
    // The lease outlives the timeout by a few seconds only: an attempt that takes twice as long is taken over and
    // sent a second time while it is still running.
    let requests = 0;
    const base = await listen((req, res) => {
      requests += 1;
      if (requests === 1) return res.writeHead(204).end();
      // On the kept-alive connection: held almost to the timeout, then reset; the resend is never answered.
      if (requests === 2) setTimeout(() => req.socket.destroy(), 250);
    });
    sender = createWebhookSender({ production: false, timeoutMs: 400 });
    expect(await sender.send(request(`${base}/hook`), new AbortController().signal)).toMatchObject({ statusCode: 204 });
    const started = Date.now();
    const result = await sender.send(request(`${base}/hook`), new AbortController().signal);
    expect(requests).toBe(3);
    expect(result).toMatchObject({ kind: "error", error: expect.stringMatching(/timed out/) });
    expect(Date.now() - started).toBeLessThan(550);
  });

  it("settles an attempt answered by a switch of protocols, which is no delivery", async () => {
    // Left alone, Node drops such a connection without a word: the attempt would hold its slot for ever, and
    // shutdown would wait on it for ever.
    const tcp = createTcpServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", () => resolve()));
    try {
      sender = createWebhookSender({ production: false, timeoutMs: 2_000 });
      const base = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
      const result = await Promise.race([
        sender.send(request(`${base}/hook`), new AbortController().signal),
        new Promise((resolve) => setTimeout(() => resolve("unsettled"), 3_000)),
      ]);
      expect(result).toMatchObject({ kind: "response", statusCode: 101 });
      expect(decide(result as AttemptResult & { kind: "response" }, 1, schedule, now).outcome.status).toBe("PENDING");
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it("reads a few KB of the answer at most, whatever its size", async () => {
    let written = 0;
    const base = await listen((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 97);
      const pump = () => {
        while (written < 50 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 50 * 1024 * 1024) res.once("drain", pump);
        else res.end();
      };
      pump();
    });
    sender = createWebhookSender({ production: false, timeoutMs: 5_000 });
    expect(await sender.send(request(`${base}/hook`), new AbortController().signal)).toMatchObject({ kind: "response", statusCode: 200 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });

  it("stops an attempt on shutdown as aborted: nothing is known of it", async () => {
    const base = await listen(() => {});
    sender = createWebhookSender({ production: false, timeoutMs: 10_000 });
    const stop = new AbortController();
    const pending = sender.send(request(`${base}/hook`), stop.signal);
    setTimeout(() => stop.abort(), 100);
    expect(await pending).toEqual({ kind: "aborted" });
  });
});

describe("webhook configuration", () => {
  it("defaults to the contract's schedule, a 10 s timeout and 30 days of retention", () => {
    expect(loadConfig({}).webhooks).toEqual({ retrySchedule: [5, 60, 300, 1800, 7200, 21600, 43200], timeoutMs: 10_000, retentionMs: 30 * 86_400_000 });
  });

  it("reads WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT and WEBHOOK_RETENTION", () => {
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: "1, 2,30", WEBHOOK_TIMEOUT: "3s", WEBHOOK_RETENTION: "7d" }).webhooks).toEqual({
      retrySchedule: [1, 2, 30],
      timeoutMs: 3_000,
      retentionMs: 7 * 86_400_000,
    });
  });

  it.each([["WEBHOOK_RETRY_SCHEDULE", "5,soon"], ["WEBHOOK_RETRY_SCHEDULE", "-1"], ["WEBHOOK_TIMEOUT", "never"], ["WEBHOOK_RETENTION", "forever"]])("refuses %s=%s", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      expect((error as ConfigError).variable).toBe(name);
    }
  });
});

describe("a delivery's public id (the webhook-id header)", () => {
  it("names its row and creation time, and is told apart from the same row number written at another time", () => {
    const at = new Date("2026-11-30T07:30:00.123Z");
    const id = deliveryPublicId(42, at);
    expect(id).toMatch(/^msg_42_[0-9a-z]+$/);
    expect(parseDeliveryId(id)).toEqual({ id: 42, createdAt: at });
    expect(deliveryPublicId(42, new Date(at.getTime() + 1))).not.toBe(id);
  });

  it.each(["42", "msg_42", "msg_0_abc", "msg_-1_abc", "msg_42_ABC", "msg_42_abc_x", "msg_99999999999999999_a", ""])("reads %j as no delivery", (raw) => {
    expect(parseDeliveryId(raw)).toBeUndefined();
  });
});
