// Vitest global setup. With TEST_DATABASE=postgres: checks that the server answers, names this run (so that
// parallel runs on one server never touch each other's databases), and drops at the end whatever databases of
// the run a crashed or killed test file left behind. Nothing to do for SQLite.
import { randomBytes } from "node:crypto";
import pg from "pg";

export default async function setup(): Promise<(() => Promise<void>) | void> {
  if (process.env.TEST_DATABASE !== "postgres") return;
  process.env.TEST_PG_RUN ??= `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const { POSTGRES_ADMIN_URL, POSTGRES_DATABASE_PREFIX, dropPostgresDatabases } = await import("./database.js");
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(`TEST_DATABASE=postgres, but PostgreSQL does not answer at ${POSTGRES_ADMIN_URL}: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
  return async () => {
    const left = await dropPostgresDatabases(POSTGRES_DATABASE_PREFIX);
    if (left.length > 0) console.warn(`dropped ${left.length} test database(s) left behind: ${left.join(", ")}`);
  };
}
