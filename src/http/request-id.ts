import { randomUUID } from "node:crypto";

// Echo the caller's id when it is printable ASCII of sane length (safe in a header and a log line);
// otherwise mint one, so that log lines can always be joined on it.
const acceptable = /^[\x21-\x7e][\x20-\x7e]{0,199}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && acceptable.test(value) ? value : randomUUID();
}
