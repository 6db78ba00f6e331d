import type { UserRow } from "../modules/users/user.table.js";
import { UnauthenticatedError } from "../shared/errors.js";
import type { Loaders } from "../shared/loaders.js";
import type { TokenClaims } from "./tokens.js";

/**
 * Resolves the caller from a bearer token, once per request and only when an operation needs it. The role,
 * the active flag and the token version come from the database, so demotion, deactivation and
 * signOutEverywhere apply to tokens already issued.
 */
export function viewerResolver(
  hasToken: boolean,
  claimsOf: () => Promise<TokenClaims | undefined>,
  loaders: Loaders,
): () => Promise<UserRow> {
  let viewer: Promise<UserRow> | undefined;
  const resolve = async () => {
    if (!hasToken) throw new UnauthenticatedError("Authentication required");
    const claims = await claimsOf();
    if (!claims) throw new UnauthenticatedError("Invalid or expired token");
    const user = await loaders.userById.load(claims.userId);
    if (!user || !user.active || user.tokenVersion !== claims.tokenVersion) {
      throw new UnauthenticatedError("Invalid or expired token");
    }
    return user;
  };
  return () => (viewer ??= resolve());
}
