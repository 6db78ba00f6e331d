/** Drizzle wraps driver errors; the PostgreSQL SQLSTATE (e.g. 23505) sits somewhere on the cause chain. */
export function pgErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export const PG_UNIQUE_VIOLATION = "23505";

/** Deadlock detected, or a serialization failure: PostgreSQL undid the whole transaction, which may simply run again. */
export const undoneByPostgres = (error: unknown): boolean => ["40P01", "40001"].includes(pgErrorCode(error) ?? "");

/**
 * Runs a transaction again when PostgreSQL undid it (see undoneByPostgres), up to `attempts` times in all. `run` must
 * start a new transaction each time and read everything it decides on inside it.
 */
export async function rerunWhenUndone<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts || !undoneByPostgres(error)) throw error;
    }
  }
}
