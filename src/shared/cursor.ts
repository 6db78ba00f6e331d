import { createHmac, timingSafeEqual } from "node:crypto";
import { BadUserInputError } from "./errors.js";

export type CursorValue = number | string;

export interface CursorCodec {
  encode(scope: string, values: readonly CursorValue[]): string;
  /** Throws BAD_USER_INPUT (field `after`) for any cursor this server did not issue for `scope`. */
  decode(scope: string, cursor: string): CursorValue[];
}

const signatureBytes = 12;

/**
 * Cursors are `base64url(json).base64url(hmac)`: opaque to clients, and signed so that a cursor this server
 * did not issue (or issued for another ordering) is refused instead of silently paging from a forged key.
 */
export function createCursorCodec(secret: string): CursorCodec {
  const key = createHmac("sha256", secret).update("incident-api/cursor/v1").digest();
  const sign = (payload: string) => createHmac("sha256", key).update(payload).digest().subarray(0, signatureBytes);
  const invalid = () => new BadUserInputError("Invalid cursor", "after");

  return {
    encode(scope, values) {
      const payload = Buffer.from(JSON.stringify([scope, ...values])).toString("base64url");
      return `${payload}.${sign(payload).toString("base64url")}`;
    },
    decode(scope, cursor) {
      if (typeof cursor !== "string" || cursor.length > 512) throw invalid();
      const [payload, signature, extra] = cursor.split(".");
      if (!payload || !signature || extra !== undefined) throw invalid();
      // Compared as text: Node's base64 decoder skips stray characters, so decoding first would accept variants.
      const given = Buffer.from(signature);
      const expected = Buffer.from(sign(payload).toString("base64url"));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      } catch {
        throw invalid();
      }
      if (!Array.isArray(decoded) || decoded[0] !== scope) throw invalid();
      const values = decoded.slice(1);
      if (!values.every((value) => typeof value === "number" || typeof value === "string")) throw invalid();
      return values as CursorValue[];
    },
  };
}
