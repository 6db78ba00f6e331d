import { describe, expect, it } from "vitest";
import { fits, jsonBytes, jsonLength, jsonStringBytes } from "../../src/graphql/response-size.js";
import { eventWithinResponseSize } from "../../src/realtime/oversized-event.js";
import type { GraphQLContext } from "../../src/shared/context.js";

const serialised = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

describe("the size of an answer, measured without serialising it", () => {
  it("counts a string as JSON.stringify writes it: UTF-8 bytes, quotes, and escapes of quotes, backslashes and control characters", () => {
    for (const text of ["", "plain ascii", 'say "hi"\\', "line\nbreak\ttab", "\u0001\u001f", "é漢字", "😀 pair", "x".repeat(10_000), "漢".repeat(10_000)]) {
      expect(jsonStringBytes(text)).toBe(serialised(text));
    }
    // A lone surrogate half is written as \udxxx.
    expect(jsonStringBytes("a\ud800b")).toBe(serialised("a\ud800b"));
  });

  it("measures a result tree at or above its serialised size for strings, and stops at infinity past the limit", () => {
    const data = { incidents: { nodes: Array.from({ length: 50 }, (_, i) => ({ id: String(i), title: `Disk ${i}`, description: "漢\n".repeat(5_000), logs: { nodes: [{ message: 'a "quoted" note' }] } })) } };
    const measured = jsonBytes(data, Number.POSITIVE_INFINITY);
    expect(measured).toBeGreaterThanOrEqual(serialised(data));
    expect(measured).toBeLessThan(serialised(data) * 1.05);
    expect(jsonBytes(data, 100_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it("settles most answers by their length alone, a lower bound of their bytes, and measures exactly only in doubt", () => {
    const ascii = { nodes: Array.from({ length: 100 }, (_, i) => ({ id: String(i), message: "x".repeat(1_000) })) };
    const wide = { nodes: Array.from({ length: 100 }, (_, i) => ({ id: String(i), message: "漢".repeat(1_000) })) };
    const mixed = { a: [], b: {}, n: [1, 22.5, -3e21], t: true, f: false, z: null, s: "a\n\"b\"\u0001漢😀" };
    for (const data of [ascii, wide, mixed]) {
      expect(jsonLength(data)).toBeLessThanOrEqual(serialised(data));
      expect(jsonLength(data) * 24).toBeGreaterThanOrEqual(serialised(data));
    }
    // 102 KB of ASCII and 302 KB of three-byte characters, 101 K characters each.
    expect([fits(ascii, 110_000), fits(wide, 110_000)]).toEqual([true, false]);
    expect([fits(ascii, 90_000), fits(wide, 250_000), fits(wide, 1_000_000)]).toEqual([false, false, true]);
  });
});

describe("an oversized subscription event", () => {
  const context = { responseBytes: { used: 0, max: 1_000 } } as unknown as GraphQLContext;

  it("keeps its scalars and nulls each object, with a QUERY_TOO_COMPLEX error at its path", () => {
    const event = { kind: "UPDATED", incidentId: "7", incident: { title: "x".repeat(2_000) }, actor: { name: "Ann" }, log: null };
    const bounded = eventWithinResponseSize({ data: { events: event } }, 1_000, context);
    expect(bounded.data).toEqual({ events: { kind: "UPDATED", incidentId: "7", incident: null, actor: null, log: null } });
    expect(bounded.errors!.map((error) => error.path)).toEqual([["events", "incident"], ["events", "actor"]]);
    expect(bounded.errors!.every((error) => (error.originalError as { kind?: string }).kind === "QUERY_TOO_COMPLEX")).toBe(true);
  });

  it("leaves an event within the limit as it is", () => {
    const result = { data: { events: { kind: "DELETED", incidentId: "7", incident: null } } };
    expect(eventWithinResponseSize(result, 1_000, context)).toBe(result);
  });
});

describe("the event type an oversized event is cut down to", () => {
  it("has every object field nullable, so that nulling them keeps the answer within the schema", async () => {
    const { readFileSync } = await import("node:fs");
    const { buildSchema, isNonNullType, isObjectType, getNamedType, GraphQLObjectType } = await import("graphql");
    const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));
    const event = schema.getType("IncidentEvent") as InstanceType<typeof GraphQLObjectType>;
    const objects = Object.values(event.getFields()).filter((field) => isObjectType(getNamedType(field.type)));
    expect(objects.map((field) => field.name).sort()).toEqual(["actor", "alert", "incident", "log"]);
    for (const field of objects) expect(isNonNullType(field.type)).toBe(false);
  });
});
