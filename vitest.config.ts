import { createRequire } from "node:module";
import { configDefaults, defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Node resolves type-graphql's import to the CJS one, so ours must too,
    // or `instanceof GraphQLScalarType` fails across the two copies.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/support/setup.ts"],
    // TEST_DATABASE=postgres: names the run's databases and drops any left behind (test/support/database.ts).
    globalSetup: ["test/support/global-setup.ts"],
    // The SQLite floor reads the SQLite file itself; on PostgreSQL, test/bench-floor-pg.test.ts checks its own floor.
    exclude: [...configDefaults.exclude, ...(process.env.TEST_DATABASE === "postgres" ? ["test/bench-floor.test.ts"] : [])],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
