import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** drizzle/sqlite/ or drizzle/postgres/, found from this file whether it runs from src/ or from dist/. */
export function migrationsFolder(dialect: "sqlite" | "postgres" = "sqlite"): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, "drizzle", dialect);
    if (existsSync(join(candidate, "meta", "_journal.json"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`drizzle/${dialect}/ migrations folder not found`);
}
