import { createHmac } from "node:crypto";
import { createClient } from "graphql-ws";
import { SignJWT } from "jose";
import { WebSocket } from "ws";
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

  // graphql-cop's "Directive Overloading" probe: ten unknown directives on one field must not give ten errors.
  const overloaded = `query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }`;

  it("answers a document with ten unknown directives with one error", async () => {
    const response = await server.gql(overloaded, {}, server.admin.token);
    expect(response.status).toBe(400);
    expect(response.errors).toHaveLength(1);
    expect(response.errors?.[0]).toMatchObject({ message: 'Unknown directive "@aa".', extensions: { code: "GRAPHQL_VALIDATION_FAILED" } });
  });

  it("answers repeated directives, and a GET, with one error too", async () => {
    const repeated = `{ me @skip(if: false) @skip(if: false) @skip(if: false) @include(if: true) @include(if: true) { id } }`;
    const posted = await server.gql(repeated, {}, server.admin.token);
    expect(posted.errors).toHaveLength(1);
    expect(posted.errors?.[0]?.message).toMatch(/can only be used once/);
    const got = await fetch(`${server.url}?query=${encodeURIComponent(overloaded)}`, { headers: { authorization: `Bearer ${server.admin.token}` } });
    expect(got.status).toBe(400);
    expect(((await got.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });

  it("still answers execution errors in full, with their data", async () => {
    const response = await server.gql(`{ a: incident(id: "1") { id } me { name } }`, {}, server.admin.token);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ a: null, me: { name: "Admin" } });
  });

  it("answers an overloaded subscription over graphql-ws with one error", async () => {
    const client = createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${server.admin.token}` },
    });
    try {
      const errors = await new Promise<unknown>((resolve) =>
        client.subscribe(
          { query: `subscription { incidentEvents @aa@aa@aa@aa@aa { kind } }` },
          { next: () => {}, error: resolve, complete: () => resolve([]) },
        ),
      );
      expect(errors).toMatchObject([{ message: 'Unknown directive "@aa".', extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }]);
      expect(errors).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });

  it("serves no landing page", async () => {
    const response = await fetch(server.url, { headers: { accept: "text/html" } });
    expect(await response.text()).not.toMatch(/sandbox|<html/i);
  });

  it("serves no explorer", async () => {
    for (const path of ["/explorer", "/explorer/assets/graphiql.js", "/explorer/assets/explorer.js"]) {
      expect((await fetch(`${server.base}${path}`)).status, path).toBe(404);
    }
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

describe("development posture", () => {
  it("lists every directive error, for the developer at the explorer", async () => {
    const server = await startTestServer({ NODE_ENV: "development", JWT_SECRET: secret });
    try {
      const response = await server.gql(`{ __typename @aa @bb @cc }`, {}, server.admin.token);
      expect(response.errors?.map((error) => error.message)).toEqual(["@aa", "@bb", "@cc"].map((name) => `Unknown directive "${name}".`));
    } finally {
      await server.close();
    }
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
