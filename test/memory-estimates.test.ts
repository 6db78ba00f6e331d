import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

// The caches are bounded by estimates of what their entries hold; these check the estimates against the heap,
// measured in a process of its own with the garbage collector run before each reading (test/support/measure-heap.mjs).

interface Row {
  name: string;
  chars: number;
  documentMeasured: number;
  documentEstimated: number;
  compiledMeasured: number;
  compiledWeighed: number;
  compiledPredicted: number;
}

let rows: Map<string, Row>;
beforeAll(async () => {
  const script = fileURLToPath(new URL("./support/measure-heap.mjs", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", script], { maxBuffer: 1 << 20 });
  rows = new Map((JSON.parse(stdout) as Row[]).map((row) => [row.name, row]));
}, 120_000);

describe("the heap estimates the caches weigh entries by", () => {
  it.each(["nested page", "largest allowed"])("weighs a parsed %s document at no less than it holds, and not twice over", (name) => {
    const row = rows.get(name)!;
    expect(row.documentEstimated).toBeGreaterThanOrEqual(0.8 * row.documentMeasured);
    expect(row.documentEstimated).toBeLessThanOrEqual(2 * row.documentMeasured);
  });

  it.each(["me", "nested page", "largest allowed"])("weighs a compiled %s query at no less than it holds before its first run", (name) => {
    const row = rows.get(name)!;
    // A compiled query grows when it first runs (V8 compiles each generated function's bytecode lazily, and small
    // queries are mostly functions not yet run), so the weight sits above this, most of all for small queries.
    expect(row.compiledWeighed).toBeGreaterThanOrEqual(0.9 * row.compiledMeasured);
    expect(row.compiledWeighed).toBeLessThanOrEqual(12 * row.compiledMeasured);
  });

  it.each(["me", "nested page", "largest allowed"])("predicts a %s query's compiled weight before compiling it", (name) => {
    const row = rows.get(name)!;
    expect(row.compiledPredicted).toBeGreaterThanOrEqual(0.8 * row.compiledWeighed);
    expect(row.compiledPredicted).toBeLessThanOrEqual(3 * row.compiledWeighed);
  });

  it("predicts the largest allowed document over an entry's share of the default budget, so it is never compiled", () => {
    expect(rows.get("largest allowed")!.compiledPredicted).toBeGreaterThan((48 * 1024 * 1024) / 16);
    expect(rows.get("nested page")!.compiledPredicted).toBeLessThan((48 * 1024 * 1024) / 16 / 10);
  });
});
