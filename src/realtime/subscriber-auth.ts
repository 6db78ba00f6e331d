import { decodeJwt } from "jose";
import { can, Permission } from "../auth/policy.js";
import type { TokenService } from "../auth/tokens.js";
import { bearerToken } from "../http/bearer.js";
import type { UserRow } from "../modules/users/user.table.js";

/** graphql-ws close codes: 4401 for anything about the credentials, 4403 for a role that may not subscribe. */
export const CloseCode = {
  Unauthorized: 4401,
  Forbidden: 4403,
  /** "Try again later": the subscriber could not keep up and was dropped. */
  TooSlow: 1013,
  /** Its user already holds as many connections as one may (graphql-ws clients do not retry it). */
  TooManyConnections: 4429,
  /** The server is shutting down. */
  GoingAway: 1001,
  /** A message the server will not act on (a ping with a payload past `maxPingPayloadBytes`). */
  BadRequest: 4400,
} as const;

export interface Refusal {
  code: number;
  reason: string;
}

/** Who is on the other end of a connection, as its token says; checked against the database again and again. */
export interface SubscriberIdentity {
  userId: number;
  tokenVersion: number;
  /** Epoch milliseconds of the token's `exp`. */
  expiresAt: number;
}

const refuse = (code: number, reason: string): Refusal => ({ code, reason });

export const tokenExpired: Refusal = refuse(CloseCode.Unauthorized, "Unauthorized: token expired");

/**
 * The HTTP rules of viewer.ts, with a reason a client can act on: the user must still exist and be active, the
 * token must not be revoked (signOutEverywhere bumps the version) nor expired, and the role must allow reading.
 */
export function subscriberRefusal(identity: SubscriberIdentity, user: UserRow | null | undefined, now: number): Refusal | undefined {
  if (now >= identity.expiresAt) return tokenExpired;
  if (!user) return refuse(CloseCode.Unauthorized, "Unauthorized: user no longer exists");
  if (!user.active) return refuse(CloseCode.Unauthorized, "Unauthorized: user deactivated");
  if (user.tokenVersion !== identity.tokenVersion) return refuse(CloseCode.Unauthorized, "Unauthorized: token revoked");
  if (!can(user.role, Permission.READ)) return refuse(CloseCode.Forbidden, "Forbidden: this role may not subscribe");
  return undefined;
}

export type ConnectionAuthResult = { identity: SubscriberIdentity; user: UserRow } | { refusal: Refusal };

/** Checks `connectionParams.authorization` ("Bearer <token>") the way HTTP checks the Authorization header. */
export async function authenticateConnection(
  tokens: TokenService,
  findUser: (id: number) => Promise<UserRow | null | undefined>,
  connectionParams: Readonly<Record<string, unknown>> | undefined,
  now: () => number = Date.now,
): Promise<ConnectionAuthResult> {
  const header = connectionParams?.authorization ?? connectionParams?.Authorization;
  const token = typeof header === "string" ? bearerToken(header) : undefined;
  if (!token) {
    return { refusal: refuse(CloseCode.Unauthorized, 'Unauthorized: send connectionParams.authorization as "Bearer <token>"') };
  }
  const claims = await tokens.verify(token);
  if (!claims) return { refusal: refuse(CloseCode.Unauthorized, "Unauthorized: invalid or expired token") };
  // verify() has checked the signature and that exp is present and in the future; only its value is read here.
  const exp = decodeJwt(token).exp!;
  const identity: SubscriberIdentity = { ...claims, expiresAt: exp * 1000 };
  const user = await findUser(claims.userId);
  const refusal = subscriberRefusal(identity, user, now());
  return refusal ? { refusal } : { identity, user: user! };
}
