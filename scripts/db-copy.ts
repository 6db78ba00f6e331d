// Copies a SQLite database of the API into an empty PostgreSQL database (`npm run db:copy`):
//   npm run db:copy -- --from file:./data/incidents.db --to postgres://user@host:5432/incidents
// Without --from, the source is DATABASE_URL (environment or .env) when it names a SQLite file.
// Exit code 0 when every row was copied and verified; 1, with one line on stderr, otherwise (nothing copied).
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseDatabaseUrl } from "../src/config.js";
import { copySqliteToPostgres, CopyRefusedError, describeCopy } from "../src/db/sqlite-to-postgres.js";

const usage = "usage: npm run db:copy -- [--from file:PATH] --to postgres://user:password@host:5432/database";

/** postgres://user@host:port/db without the password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "the PostgreSQL database";
  }
}

function main(argv: string[]): Promise<number> | number {
  let values: { from?: string; to?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { from: { type: "string" }, to: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 1;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (existsSync(".env")) process.loadEnvFile(".env");
  const from = values.from ?? process.env.DATABASE_URL ?? "file:./data/incidents.db";
  const source = parseDatabaseUrl(from);
  if (source?.kind !== "sqlite") {
    console.error(`--from must name a SQLite file (file:PATH)${values.from ? "" : "; DATABASE_URL does not"}\n${usage}`);
    return 1;
  }
  const target = values.to ? parseDatabaseUrl(values.to) : undefined;
  if (target?.kind !== "postgres" || !URL.canParse(target.url)) {
    console.error(`--to must be a PostgreSQL URL (postgres://...)\n${usage}`);
    return 1;
  }
  return copySqliteToPostgres({ sqlitePath: source.path, postgresUrl: target.url }).then(
    (summaries) => {
      console.log(`copied ${source.path} into ${redacted(target.url)}`);
      for (const summary of summaries) console.log(describeCopy(summary));
      return 0;
    },
    (error: unknown) => {
      const refused = error instanceof CopyRefusedError;
      console.error(`${refused ? "refused" : "copy failed, nothing was copied"}: ${(error as Error).message}`);
      return 1;
    },
  );
}

process.exitCode = await main(process.argv.slice(2));
