import { describe, expect, it } from "vitest";
import { InvalidEventError, labelsFingerprint, parseAlertmanager, parseEventsV2 } from "../../src/modules/alerts/alert-payloads.js";
import { incidentLabelsOf } from "../../src/modules/alerts/alert-ingest.js";

// The two wire formats read into alerts, without a database.

const amAlert = (overrides: Record<string, unknown> = {}) => ({
  status: "firing",
  labels: { alertname: "HighLatency", severity: "error", instance: "web-1" },
  annotations: { summary: "Latency above 2s", description: "p99 over the SLO" },
  startsAt: "2026-11-30T01:00:00.123456789Z",
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "http://prometheus.example/graph",
  fingerprint: "abc123",
  ...overrides,
});
const errorsOf = (parse: () => unknown) => {
  try {
    parse();
  } catch (error) {
    if (error instanceof InvalidEventError) return error.errors;
    throw error;
  }
  return [];
};

describe("Alertmanager payloads", () => {
  it("reads each alert's status, severity, times and group key", () => {
    const [firing, resolved] = parseAlertmanager({
      version: "4",
      groupKey: "{}:{alertname=\"HighLatency\"}",
      status: "firing",
      alerts: [amAlert(), amAlert({ status: "resolved", endsAt: "2026-11-30T01:05:00+01:00", fingerprint: "def" })],
    });
    expect(firing).toMatchObject({ action: "trigger", severity: "ERROR", title: "Latency above 2s", groupKey: "{}:{alertname=\"HighLatency\"}", endsAt: null });
    expect(firing!.startsAt.toISOString()).toBe("2026-11-30T01:00:00.123Z");
    expect(resolved).toMatchObject({ action: "resolve", fingerprint: "def" });
    expect(resolved!.endsAt!.toISOString()).toBe("2026-11-30T00:05:00.000Z");
  });

  it("falls back to a hash of the sorted labels, warning severity and the alert name as title", () => {
    const [alert] = parseAlertmanager({ version: "4", alerts: [amAlert({ fingerprint: undefined, labels: { b: "1", alertname: "X" }, annotations: {} })] });
    expect(alert).toMatchObject({ fingerprint: labelsFingerprint({ alertname: "X", b: "1" }), severity: "WARNING", title: "X", description: "" });
  });

  it("collects every problem of a bad payload", () => {
    const errors = errorsOf(() =>
      parseAlertmanager({
        version: "3",
        alerts: [amAlert({ status: "weird" }), amAlert({ startsAt: "2026-02-29T00:00:00Z" }), 7, amAlert({ endsAt: "9999-12-31T23:30:00-01:00" })],
      }),
    );
    expect(errors).toEqual([
      'version must be "4"',
      'alerts[0].status must be "firing" or "resolved"',
      "alerts[1].startsAt is not a valid time",
      "alerts[2] must be an object",
      "alerts[3].endsAt is after 9999-12-31T23:59:59Z",
    ]);
    expect(parseAlertmanager({ version: "4", alerts: [amAlert({ startsAt: "9999-12-31T23:30:00+01:00" })] })[0]!.startsAt.toISOString()).toBe("9999-12-31T22:30:00.000Z");
  });
});

describe("Events v2 events", () => {
  it("reads a trigger's labels from payload fields and primitive custom details", () => {
    const { routingKey, alert } = parseEventsV2({
      routing_key: "k",
      event_action: "trigger",
      payload: { summary: "s", source: "db-7", severity: "info", class: "disk", custom_details: { Mount: "/", Free: 3, ok: true, nested: {}, list: [] } },
    });
    expect(routingKey).toBe("k");
    expect(alert).toMatchObject({ action: "trigger", severity: "INFO", source: "db-7" });
    expect({ ...alert.labels }).toEqual({ source: "db-7", class: "disk", mount: "/", free: "3", ok: "true" });
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  it("requires a dedup_key for acknowledge and resolve, and summary, source and severity for trigger", () => {
    expect(errorsOf(() => parseEventsV2({ routing_key: "k", event_action: "resolve" }))).toEqual(["dedup_key is required for acknowledge and resolve"]);
    expect(errorsOf(() => parseEventsV2({ routing_key: "k", event_action: "trigger", payload: {} }))).toEqual([
      "payload.summary is required",
      "payload.source is required",
      "payload.severity is required",
    ]);
  });
});

describe("Events v2 custom details at the body limit", () => {
  const trigger = (custom_details: object) => ({
    routing_key: "k",
    event_action: "trigger",
    payload: { summary: "s", source: "db-7", severity: "info", custom_details },
  });

  it("stops reading custom details once the event is over the label limit", () => {
    // 50,000 details fit in the 1 MB body; each read is counted through a getter, as Object.entries would read it.
    let reads = 0;
    const details = {};
    for (let i = 0; i < 50_000; i++) {
      Object.defineProperty(details, `k${i}`, { enumerable: true, get: () => (reads++, i) });
    }
    expect(errorsOf(() => parseEventsV2(trigger(details)))).toEqual(["an alert has at most 64 labels"]);
    expect(reads).toBeLessThanOrEqual(64);
  });

  it("still takes 64 labels, counts keys that fold to the same label once, and refuses 65", () => {
    const details = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(parseEventsV2(trigger(details(63))).alert.labels)).toHaveLength(64);
    expect(Object.keys(parseEventsV2(trigger({ ...details(62), K0: "again", K1: "again" })).alert.labels)).toHaveLength(63);
    expect(errorsOf(() => parseEventsV2(trigger(details(64))))).toEqual(["an alert has at most 64 labels"]);
  });
});

describe("labels of a new incident", () => {
  it("keeps those that fit the incident rules, the first 20 by key", () => {
    const labels: Record<string, string> = { Bad: "x", ok: "y".repeat(201) };
    for (let i = 0; i < 25; i++) labels[`k${String(i).padStart(2, "0")}`] = String(i);
    const kept = incidentLabelsOf(labels);
    expect(kept).toHaveLength(20);
    expect(kept[0]).toEqual({ key: "k00", value: "0" });
    expect(kept.at(-1)).toEqual({ key: "k19", value: "19" });
  });
});
