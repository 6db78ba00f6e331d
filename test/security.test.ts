import { createHmac } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type TestServer } from "./support/server.js";

const secret = "security-test-secret-0123456789-abcdefghij";
const key = new TextEncoder().encode(secret);
const claim = "incident-intelligence-api";

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A token assembled by hand, for the algorithms jose refuses to produce. */
const handMade = (header: object, payload: object, sign: (input: string) => string) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(input)}`;
};
const hmac = (algorithm: string) => (input: string) => createHmac(algorithm, secret).update(input).digest("base64url");

describe("bearer tokens", () => {
  let server: TestServer;
  let sub: string;
  const now = () => Math.floor(Date.now() / 1000);
  const payload = (extra: Record<string, unknown> = {}) => ({ tv: 0, iss: claim, aud: claim, sub, iat: now(), exp: now() + 600, ...extra });
  const sign = (claims: Record<string, unknown>, alg = "HS256") => new SignJWT(claims).setProtectedHeader({ alg }).sign(key);
  const meWith = async (token: string) => server.gql(`{ me { id } }`, {}, token);
  const refused = async (token: string) => expect(onlyError(await meWith(token)).extensions?.code).toBe("UNAUTHENTICATED");

  beforeAll(async () => {
    server = await startTestServer({ JWT_SECRET: secret });
    sub = server.admin.id;
  });
  afterAll(() => server.close());

  it("accepts a well-formed HS256 token (the control for every refusal below)", async () => {
    expect((await meWith(await sign(payload()))).data.me.id).toBe(sub);
  });

  it("refuses alg none", () => refused(handMade({ alg: "none", typ: "JWT" }, payload(), () => "")));
  it("refuses HS512", () => refused(handMade({ alg: "HS512", typ: "JWT" }, payload(), hmac("sha512"))));
  it("refuses RS256 carrying the HMAC secret as a public key", () =>
    refused(handMade({ alg: "RS256", typ: "JWT" }, payload(), hmac("sha256"))));

  for (const missing of ["exp", "iat", "sub", "iss", "aud"]) {
    it(`refuses a token without ${missing}`, async () => {
      const claims: Record<string, unknown> = payload();
      delete claims[missing];
      await refused(await sign(claims));
    });
  }

  it("refuses a wrong issuer", async () => refused(await sign(payload({ iss: "someone-else" }))));
  it("refuses a wrong audience", async () => refused(await sign(payload({ aud: "another-api" }))));
  it("refuses an expired token", async () => refused(await sign(payload({ iat: now() - 7200, exp: now() - 3600 }))));
  it("refuses a token not valid before a future nbf", async () => refused(await sign(payload({ nbf: now() + 3600 }))));

  it("refuses a tampered payload", async () => {
    const [header, , signature] = (await sign(payload())).split(".");
    await refused(`${header}.${b64(payload({ sub: "999" }))}.${signature}`);
  });

  it("refuses a token whose version was revoked by signOutEverywhere", async () => {
    const user = await server.signUp("Revoked");
    const old = user.token;
    expect((await server.gql(`mutation { signOutEverywhere }`, {}, old)).data.signOutEverywhere).toBe(true);
    await refused(old);
  });
});

describe("production posture", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      NODE_ENV: "production",
      JWT_SECRET: secret,
      CORS_ORIGINS: "https://board.example.com",
    });
  });
  afterAll(() => server.close());

  it("turns introspection off", async () => {
    const error = onlyError(await server.gql(`{ __schema { types { name } } }`, {}, server.admin.token));
    expect(error.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("gives no field suggestions", async () => {
    const error = onlyError(await server.gql(`{ me { emial } }`, {}, server.admin.token));
    expect(error.message).not.toMatch(/did you mean/i);
  });

  it("serves no landing page", async () => {
    const response = await fetch(server.url, { headers: { accept: "text/html" } });
    expect(await response.text()).not.toMatch(/sandbox|<html/i);
  });

  it("sends no stack traces", async () => {
    const response = await server.gql(`mutation { updateIncident(id: "1", input: {}) { id } }`, {}, server.admin.token);
    expect(JSON.stringify(response.body)).not.toMatch(/stacktrace|\.ts:\d+|\.js:\d+/);
  });

  it("allows the configured origin and no other", async () => {
    const preflight = (origin: string) =>
      fetch(server.url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
    expect((await preflight("https://board.example.com")).headers.get("access-control-allow-origin")).toBe(
      "https://board.example.com",
    );
    expect((await preflight("https://evil.example.com")).headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("start-up", () => {
  it("refuses a JWT_SECRET shorter than 32 bytes", async () => {
    await expect(startTestServer({ JWT_SECRET: "short-secret" })).rejects.toThrow(/JWT_SECRET/);
  });
});

describe("login floods", () => {
  it("throttle a client address that walks through many emails", async () => {
    const server = await startTestServer({ LOGIN_MAX_FAILURES_PER_ADDRESS: "5" });
    try {
      const attempt = (i: number) =>
        server.gql(`mutation($e: String!) { login(email: $e, password: "wrong password") { token } }`, { e: `nobody${i}@x.io` });
      for (let i = 0; i < 5; i++) expect(onlyError(await attempt(i)).extensions?.code).toBe("UNAUTHENTICATED");
      const limited = onlyError(await attempt(99));
      expect(limited.extensions?.code).toBe("RATE_LIMITED");
      expect(limited.extensions?.retryAfter).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it("count aliased attempts: a document stops at its first failed login, and floods still hit the limit", async () => {
    const server = await startTestServer();
    try {
      const fields = Array.from({ length: 12 }, (_, i) => `a${i}: login(email: "${server.admin.email}", password: "wrong ${i}") { token }`);
      const codes: string[] = [];
      for (let round = 0; round < 11; round++) {
        const response = await server.gql(`mutation { ${fields.join(" ")} }`);
        expect(response.data ?? null).toBeNull();
        codes.push(onlyError(response).extensions?.code);
      }
      expect(codes.slice(0, 10).every((code) => code === "UNAUTHENTICATED")).toBe(true);
      expect(codes[10]).toBe("RATE_LIMITED");
    } finally {
      await server.close();
    }
  });

  it("spend as much hashing on an unknown email as on a known one", async () => {
    const server = await startTestServer();
    try {
      const time = async (email: string) => {
        const started = performance.now();
        await server.gql(`mutation($e: String!) { login(email: $e, password: "not the password") { token } }`, { e: email });
        return performance.now() - started;
      };
      const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      await time("warm@up.io");
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 8; i++) {
        known.push(await time(server.admin.email));
        unknown.push(await time(`ghost${i}@nowhere.io`));
      }
      // Without the decoy hash an unknown email answers in well under a tenth of the time.
      expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
    } finally {
      await server.close();
    }
  });
});
