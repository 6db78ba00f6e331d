import { eq } from "drizzle-orm";
import type { PgDb } from "../db/postgres.js";
import { newSecret } from "./jwt-secret.js";
import { generatedSecrets } from "./secret.pg-table.js";

/**
 * On PostgreSQL the development secret lives in the database, so that every instance on it signs and accepts the
 * same tokens. Instances starting together each offer a secret; the first insert wins and all read the winner.
 */
export async function developmentJwtSecretInPostgres(db: PgDb): Promise<string> {
  const name = "development-jwt";
  await db.insert(generatedSecrets).values({ name, value: newSecret() }).onConflictDoNothing();
  const [row] = await db.select({ value: generatedSecrets.value }).from(generatedSecrets).where(eq(generatedSecrets.name, name));
  if (!row) throw new Error("the development JWT secret vanished from generated_secrets");
  return row.value;
}
