import { afterAll, describe, expect, it } from "vitest";
import { startChildServer, stopAllChildServers, tempDatabase, type ChildServer } from "./support/child-server.js";
import type { TestDatabase } from "./support/database.js";

// Without JWT_SECRET, a development instance on PostgreSQL keeps its secret in the database (the SQLite one is a
// file beside the database), so that instances on one database accept each other's tokens. Whatever TEST_DATABASE
// says, this file makes its own PostgreSQL database on 127.0.0.1:5432 (TEST_POSTGRES_URL).

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }`;
const ME = `{ me { id name } }`;

describe("development instances on one PostgreSQL database without JWT_SECRET (needs PostgreSQL)", () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await stopAllChildServers();
    await database?.remove();
  });

  const start = (dbPath: string) => startChildServer({ dbPath, env: { NODE_ENV: "development", JWT_SECRET: undefined } });

  it("agree on one secret when they start at the same moment, and keep it across restarts", async () => {
    database = await tempDatabase("incident-api-dev-secret-", "postgres");
    const [a, b] = await Promise.all([start(database.dbPath), start(database.dbPath)]);
    const signedUp = await a.gql(SIGN_UP, { input: { email: "first@example.com", name: "First", password: "correct horse battery" } });
    const token: string = signedUp.data?.signUp?.token;
    expect(token, JSON.stringify(signedUp.body)).toBeTruthy();

    const meOn = async (server: ChildServer) => (await server.gql(ME, {}, token)).body;
    expect(await meOn(b)).toEqual({ data: { me: { id: signedUp.data.signUp.user.id, name: "First" } } });
    expect(await database.scalar(`SELECT count(*) FROM generated_secrets`)).toBe(1);

    await Promise.all([a.stop(), b.stop()]);
    const restarted = await start(database.dbPath);
    expect((await meOn(restarted)).data?.me?.name).toBe("First");
  }, 60_000);

  it("still refuses to start in production without JWT_SECRET", async () => {
    database ??= await tempDatabase("incident-api-dev-secret-", "postgres");
    await expect(
      startChildServer({ dbPath: database.dbPath, env: { NODE_ENV: "production", JWT_SECRET: undefined } }),
    ).rejects.toThrow(/JWT_SECRET.*required/);
  });
});
