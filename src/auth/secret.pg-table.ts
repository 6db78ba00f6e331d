import { pgTable, text } from "drizzle-orm/pg-core";

/**
 * Secrets an installation generates for itself, by name (today only the development JWT secret). On SQLite the
 * same secret is a file beside the database; a PostgreSQL database is shared by instances on other hosts, so it
 * keeps the secret itself and every instance reads the same one.
 */
export const generatedSecrets = pgTable("generated_secrets", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});
