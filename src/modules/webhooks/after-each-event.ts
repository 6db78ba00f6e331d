/** The same event callbacks, each followed by `then` (which must not throw): an after-commit hook for every write path. */
export function afterEachEvent<T extends object>(events: T, then: () => void): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, callback] of Object.entries(events)) {
    wrapped[name] = (...args: unknown[]) => {
      try {
        return (callback as (...args: unknown[]) => unknown)(...args);
      } finally {
        then();
      }
    };
  }
  return wrapped as T;
}
