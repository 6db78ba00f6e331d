import { SignJWT, jwtVerify } from "jose";
import { createByteBudgetCache } from "../shared/byte-budget-cache.js";
import type { CacheGauge } from "../shared/metrics.js";

const issuer = "incident-intelligence-api";
const audience = "incident-intelligence-api";

export interface TokenClaims {
  userId: number;
  tokenVersion: number;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export interface TokenService {
  issue(claims: TokenClaims): Promise<IssuedToken>;
  /** Resolves to undefined for any token that is not ours, well-formed, current and unexpired. */
  verify(token: string): Promise<TokenClaims | undefined>;
  /** The verified tokens remembered, for /metrics. */
  readonly cache: CacheGauge;
}

/** What one remembered verification holds besides its key (the token's text): the claims object and the entry. */
const verifiedEntryBytes = 96;

/** `cacheBytes` bounds the verified tokens remembered: a client sends the same token with every request. */
export function createTokenService(secret: string, ttlSeconds: number, cacheBytes = 4 * 1024 * 1024): TokenService {
  const key = new TextEncoder().encode(secret);
  // Exact token text -> what its verification proved. The signature cannot change for the same text, so only
  // the expiry needs checking again; revocation and roles are checked against the database on every request.
  // Only tokens this server signed get in, so a key is a few hundred bytes at most.
  const verified = createByteBudgetCache<TokenClaims & { expiresAt: number }>({ maxBytes: cacheBytes });
  const remember = (token: string, claims: TokenClaims, expiresAt: number) => {
    verified.set(token, { ...claims, expiresAt }, verifiedEntryBytes);
  };
  return {
    cache: verified,
    async issue({ userId, tokenVersion }) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      const token = await new SignJWT({ tv: tokenVersion })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(String(userId))
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key);
      return { token, expiresAt: new Date(expiresAt * 1000) };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) {
        if (Date.now() < known.expiresAt) return { userId: known.userId, tokenVersion: known.tokenVersion };
        verified.delete(token);
        return undefined;
      }
      try {
        // jose checks exp only when present, hence the pinned algorithm and the required claims.
        const { payload } = await jwtVerify(token, key, {
          algorithms: ["HS256"],
          issuer,
          audience,
          requiredClaims: ["iss", "aud", "sub", "iat", "exp", "tv"],
        });
        const userId = Number(payload.sub);
        const tokenVersion = payload.tv;
        if (!Number.isSafeInteger(userId) || userId <= 0) return undefined;
        if (typeof tokenVersion !== "number" || !Number.isSafeInteger(tokenVersion)) return undefined;
        // nbf is in the future only for tokens jose refused above; exp is required, so it is a number here.
        remember(token, { userId, tokenVersion }, (payload.exp as number) * 1000);
        return { userId, tokenVersion };
      } catch {
        return undefined;
      }
    },
  };
}
