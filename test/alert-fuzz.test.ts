import "reflect-metadata";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, alertSetup, countRows, enqueue, post, sendAlertmanager, triggerEvent } from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";

// Property tests of both hooks: whatever the body, the answer is never a 5xx, a refused body stores nothing,
// and an accepted one stores all of its alerts.

const logs: Array<Record<string, any>> = [];
let server: TestServer;
let keys: Awaited<ReturnType<typeof alertSetup>>;
beforeAll(async () => {
  server = await startTestServer({}, { logs });
  keys = await alertSetup(server, { alertGrouping: { labels: ["alertname"], windowSeconds: 60 } });
});
afterAll(async () => {
  await server?.close();
});

const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", " ", "\u0000", "firing", "resolved", "trigger", "resolve", "acknowledge", "critical", "4", "0001-01-01T00:00:00Z",
    "2026-11-30T01:00:00Z", "2026-13-01T00:00:00Z", "9999-12-31T23:59:59.999999999+14:00", "__proto__", "constructor", "é😀\ud800", "x".repeat(1100)),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 1e308, [], {}, [null], { a: 1 }, { a: "b" }, { __proto__: { polluted: "yes" } }),
  fc.dictionary(hostileString, fc.oneof(hostileString, fc.integer(), fc.constant(null)), { maxKeys: 4 }),
  fc.array(fc.oneof(hostileString, fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.anything({ maxDepth: 2 }),
);

/** A mutation of a valid body: `path` set to `value` (undefined deletes). */
function mutate(body: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(body) as Record<string | number, any>;
  let target: any = copy;
  for (const step of path.slice(0, -1)) {
    if (target === null || typeof target !== "object") return copy;
    target = target[step];
  }
  if (target === null || typeof target !== "object") return copy;
  const last = path[path.length - 1]!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

const amPaths: (string | number)[][] = [
  ["version"], ["groupKey"], ["status"], ["alerts"], ["alerts", 0], ["alerts", 0, "status"], ["alerts", 0, "labels"],
  ["alerts", 0, "labels", "alertname"], ["alerts", 0, "labels", "severity"], ["alerts", 0, "annotations"], ["alerts", 0, "annotations", "summary"],
  ["alerts", 0, "startsAt"], ["alerts", 0, "endsAt"], ["alerts", 0, "fingerprint"], ["alerts", 0, "generatorURL"], ["alerts", 1, "status"],
  ["alerts", 1, "fingerprint"], ["truncatedAlerts"], ["commonLabels"],
];
const v2Paths: (string | number)[][] = [
  ["event_action"], ["dedup_key"], ["payload"], ["payload", "summary"], ["payload", "source"], ["payload", "severity"], ["payload", "timestamp"],
  ["payload", "component"], ["payload", "group"], ["payload", "class"], ["payload", "custom_details"], ["payload", "custom_details", "mount"], ["images"],
];

const mutation = (paths: (string | number)[][]) =>
  fc.array(fc.tuple(fc.constantFrom(...paths), fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 5, arbitrary: hostileValue })), {
    minLength: 1,
    maxLength: 3,
  });

async function counts() {
  return [await countRows(server, "alerts"), await countRows(server, "incidents"), await countRows(server, "incident_logs"), await countRows(server, "incident_labels")];
}

describe("fuzzed bodies", () => {
  it("Alertmanager: never a 5xx; a refused body stores nothing, an accepted one every alert", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(mutation(amPaths), async (changes) => {
        round++;
        const base = alertmanagerPayload([{ fingerprint: `fz${round}a` }, { fingerprint: `fz${round}b` }], { groupKey: `fuzz-${round}` });
        const body = changes.reduce<unknown>((current, [path, value]) => mutate(current, path, value), base);
        const before = await counts();
        const answer = await sendAlertmanager(server, keys.amKey, body);
        expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
        expect([200, 400]).toContain(answer.status);
        if (answer.status === 400) {
          expect(answer.body.status).toBe("invalid event");
          expect(await counts()).toEqual(before);
        } else {
          expect(answer.body.alerts).toBe((body as any).alerts.length);
          for (const alert of (body as any).alerts) {
            if (alert.status !== "firing" || typeof alert.fingerprint !== "string" || alert.fingerprint === "") continue;
            expect(await server.db.scalar("SELECT count(*) FROM alerts WHERE fingerprint = ?", [alert.fingerprint]), alert.fingerprint).toBeGreaterThanOrEqual(1);
          }
        }
      }),
      { numRuns: 150 },
    );
    expect(await server.db.integrityProblems()).toEqual([]);
  }, 120_000);

  it("Events v2: never a 5xx; a refused event stores nothing", async () => {
    await fc.assert(
      fc.asyncProperty(mutation(v2Paths), fc.constantFrom("trigger", "acknowledge", "resolve"), async (changes, action) => {
        const base = { ...triggerEvent(keys.v2Key, { dedupKey: "fuzz" }), event_action: action };
        const body = changes.reduce<unknown>((current, [path, value]) => mutate(current, path, value), base);
        const before = await counts();
        const answer = await enqueue(server, body);
        expect([202, 400], JSON.stringify([answer.body, logs.filter((l) => l.level >= 50)])).toContain(answer.status);
        if (answer.status === 400) {
          expect(answer.body).toMatchObject({ status: "invalid event", errors: expect.any(Array) });
          expect(await counts()).toEqual(before);
        } else {
          expect(answer.body).toMatchObject({ status: "success", dedup_key: expect.any(String) });
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it("raw bytes: never a 5xx on either endpoint", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), fc.constantFrom("application/json", "text/plain", "application/json; charset=latin1"), async (text, type) => {
        for (const path of ["/hooks/alertmanager", "/v2/enqueue"]) {
          const answer = await post(server, path, text, { "content-type": type, authorization: `Bearer ${keys.amKey}` });
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(typeof answer.body).toBe("object");
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
