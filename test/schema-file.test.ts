import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildAppSchema, printAppSchema, type SchemaServices } from "../src/schema/build-schema.js";

describe("schema.graphql", () => {
  it("matches the schema the resolvers build (run `npm run schema:emit` after a change)", async () => {
    const schema = await buildAppSchema({} as SchemaServices);
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(printAppSchema(schema)).toBe(committed);
  });
});

describe("drizzle/", () => {
  // Both backends' migrations are checked whichever backend the suite runs on: they are committed files.
  it.each([
    ["sqlite", "sqlite", "./src/db/schema.ts", "drizzle/sqlite"],
    ["postgres", "postgresql", "./src/db/pg-schema.ts", "drizzle/postgres"],
  ])("%s: holds a migration for every change of the table definitions (run `npm run db:generate` after a change)", (_, dialect, schema, folder) => {
    const out = mkdtempSync(join(tmpdir(), "drizzle-check-"));
    try {
      cpSync(folder, out, { recursive: true });
      const result = spawnSync(
        process.execPath,
        ["node_modules/drizzle-kit/bin.cjs", "generate", "--dialect", dialect, "--schema", schema, "--out", relative(process.cwd(), out)],
        { encoding: "utf8" },
      );
      expect(result.stdout + result.stderr).toMatch(/No schema changes/);
      expect(readdirSync(out).filter((file) => file.endsWith(".sql"))).toEqual(readdirSync(folder).filter((file) => file.endsWith(".sql")));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
