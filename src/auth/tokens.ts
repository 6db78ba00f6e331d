import { SignJWT, jwtVerify } from "jose";

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
}

export function createTokenService(secret: string, ttlSeconds: number): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
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
        return { userId, tokenVersion };
      } catch {
        return undefined;
      }
    },
  };
}
