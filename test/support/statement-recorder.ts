import type Database from "better-sqlite3";

/** Calls `record` with every statement the connection executes from now on, and the parameters it ran with. */
export function recordStatements(client: Database.Database, record: (source: string, params: unknown[]) => void): void {
  const prepare = client.prepare.bind(client);
  client.prepare = ((source: string) => {
    const statement = prepare(source);
    for (const method of ["all", "get", "iterate", "run"] as const) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...params: unknown[]) => {
        record(source, params);
        return original(...params);
      };
    }
    return statement;
  }) as typeof client.prepare;
}
