/**
 * IDs are opaque to clients; internally they are positive integers. Anything else names nothing,
 * so it is reported the same way as an id that does not exist.
 */
export function parseId(id: string | null | undefined): number | undefined {
  if (typeof id !== "string" || !/^[1-9][0-9]{0,15}$/.test(id)) return undefined;
  const value = Number(id);
  return Number.isSafeInteger(value) ? value : undefined;
}
