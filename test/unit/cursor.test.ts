import { describe, expect, it } from "vitest";
import { createCursorCodec } from "../../src/shared/cursor.js";

const codec = createCursorCodec("a-secret-that-is-at-least-32-bytes-long");

describe("cursors", () => {
  it("round-trips what it issued", () => {
    expect(codec.decode("incidents", codec.encode("incidents", [1700000000000, 42]))).toEqual([1700000000000, 42]);
  });

  it("refuses a cursor issued for another scope", () => {
    expect(() => codec.decode("users", codec.encode("incidents", [1, 2]))).toThrow(/Invalid cursor/);
  });

  it("refuses a cursor signed with another secret or tampered with", () => {
    const other = createCursorCodec("another-secret-that-is-32-bytes-long!!");
    expect(() => codec.decode("users", other.encode("users", [1]))).toThrow(/Invalid cursor/);
    const forged = `${Buffer.from(JSON.stringify(["users", 1])).toString("base64url")}.${codec.encode("users", [1]).split(".")[1]}`;
    expect(() => codec.decode("users", forged.replace("WyJ", "WyI"))).toThrow(/Invalid cursor/);
    expect(() => codec.decode("users", "garbage")).toThrow(/Invalid cursor/);
  });
});
