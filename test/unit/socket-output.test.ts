import { describe, expect, it } from "vitest";
import { isEventMessage } from "../../src/realtime/socket-output.js";

describe("socket output", () => {
  it("tells a subscription's event from the other messages graphql-ws writes", () => {
    const message = (value: object) => JSON.stringify(value);
    expect(isEventMessage(message({ id: "1", type: "next", payload: { data: {} } }))).toBe(true);
    expect(isEventMessage(message({ id: "1", type: "error", payload: [] }))).toBe(false);
    expect(isEventMessage(message({ id: "1", type: "complete" }))).toBe(false);
    expect(isEventMessage(message({ type: "pong", payload: { id: "1", type: "next" } }))).toBe(false);
    expect(isEventMessage(message({ type: "connection_ack" }))).toBe(false);
  });

  it("is not misled by an id the client chose to look like the end of one", () => {
    expect(isEventMessage(JSON.stringify({ id: 'x","type":"next', type: "error", payload: [] }))).toBe(false);
    expect(isEventMessage(JSON.stringify({ id: 'x\\","type":"next', type: "complete" }))).toBe(false);
    expect(isEventMessage(JSON.stringify({ id: 'x","type":"error', type: "next", payload: {} }))).toBe(true);
  });
});
