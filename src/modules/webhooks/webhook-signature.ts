import { createHmac, randomBytes } from "node:crypto";

const prefix = "whsec_";

/** `whsec_` + base64 of 32 random bytes (Standard Webhooks: the key is the decoded bytes). */
export const newWebhookSecret = () => `${prefix}${randomBytes(32).toString("base64")}`;

/** What the API shows of a secret: its last 4 characters, as integration keys. */
export const secretHint = (secret: string) => secret.slice(-4);

/** Standard Webhooks 1.0: `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed with the secret's bytes. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`;
}
