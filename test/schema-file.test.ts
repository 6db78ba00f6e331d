import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAppSchema, printAppSchema } from "../src/schema/build-schema.js";

describe("schema.graphql", () => {
  it("matches the schema the resolvers build (run `npm run schema:emit` after a change)", async () => {
    const schema = await buildAppSchema({ users: undefined as never, incidents: undefined as never });
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(printAppSchema(schema)).toBe(committed);
  });
});

describe("drizzle/", () => {
  it("holds a migration for every change of the table definitions (run `npm run db:generate` after a change)", () => {
    const out = mkdtempSync(join(tmpdir(), "drizzle-check-"));
    try {
      cpSync("drizzle", out, { recursive: true });
      const result = spawnSync(
        process.execPath,
        ["node_modules/drizzle-kit/bin.cjs", "generate", "--dialect", "sqlite", "--schema", "./src/db/schema.ts", "--out", relative(process.cwd(), out)],
        { encoding: "utf8" },
      );
      expect(result.stdout + result.stderr).toMatch(/No schema changes/);
      expect(readdirSync(out).filter((file) => file.endsWith(".sql"))).toEqual(readdirSync("drizzle").filter((file) => file.endsWith(".sql")));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
