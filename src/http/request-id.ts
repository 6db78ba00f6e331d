import { randomUUID } from "node:crypto";

// Accept the caller's id when it is a sane token; otherwise mint one, so log lines can always be joined on it.
const acceptable = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && acceptable.test(value) ? value : randomUUID();
}
