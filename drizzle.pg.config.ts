import { defineConfig } from "drizzle-kit";

// The PostgreSQL backend's migrations: `npm run db:generate:pg` (or `npm run db:generate`, which writes both).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/pg-schema.ts",
  out: "./drizzle/postgres",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test" },
  strict: true,
});
