import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { developmentJwtSecret } from "../../src/auth/jwt-secret.js";

const dir = mkdtempSync(join(tmpdir(), "incident-jwt-secret-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the development JWT secret of a SQLite database", () => {
  it("is generated once and kept beside the file, readable by its owner only", () => {
    const path = join(dir, "incidents.db");
    const first = developmentJwtSecret(path);
    expect(Buffer.byteLength(first)).toBeGreaterThanOrEqual(32);
    expect(developmentJwtSecret(path)).toBe(first);
    expect(statSync(`${path}.jwt-secret`).mode & 0o777).toBe(0o600);
  });

  it("differs between two databases in one folder, so that a token of one is refused by the other", () => {
    expect(developmentJwtSecret(join(dir, "a.db"))).not.toBe(developmentJwtSecret(join(dir, "b.db")));
  });
});
