import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const newSecret = () => randomBytes(48).toString("base64url");

/**
 * In development the secret is generated on first start and kept beside the database file, readable only by
 * its owner, so tokens survive restarts without any set-up. Production must configure JWT_SECRET. One secret per
 * database file (`incidents.db.jwt-secret`): user ids repeat from one database to the next, so a shared secret would
 * let a token of one database sign in as someone else on another.
 */
export function developmentJwtSecret(databasePath: string): string {
  if (databasePath === ":memory:") return newSecret();
  const file = join(dirname(databasePath), `${basename(databasePath)}.jwt-secret`);
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, newSecret(), { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  chmodSync(file, 0o600);
  const secret = readFileSync(file, "utf8").trim();
  if (Buffer.byteLength(secret) < 32) throw new Error(`${file} holds a secret shorter than 32 bytes; delete it to regenerate`);
  return secret;
}
