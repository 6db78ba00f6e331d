import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../src/db/sqlite.js";
import { onPostgres } from "./support/database.js";

// The settings every SQLite connection of the server runs with (src/db/sqlite-pragmas.ts).

describe.skipIf(onPostgres)("a SQLite connection (skipped with TEST_DATABASE=postgres)", () => {
  it("writes ahead, syncs every commit, checks foreign keys, and reads through a 256 MB map and a 32 MB cache", () => {
    const dir = mkdtempSync(join(tmpdir(), "sqlite-connection-"));
    const handle = openSqlite({ path: join(dir, "app.db"), busyTimeoutMs: 1234 });
    try {
      const value = (pragma: string) => handle.client.pragma(pragma, { simple: true });
      expect(value("journal_mode")).toBe("wal");
      expect(value("synchronous")).toBe(2); // FULL: a commit survives power loss, which WAL's default NORMAL does not promise
      expect(value("foreign_keys")).toBe(1);
      expect(value("busy_timeout")).toBe(1234);
      expect(value("mmap_size")).toBe(268_435_456);
      expect(value("cache_size")).toBe(-32_768);
    } finally {
      handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
