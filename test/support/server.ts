import { startApp, type RunningApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { pino } from "pino";
import { Writable } from "node:stream";
import { createTestDatabase, type TestDatabase } from "./database.js";

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
  body: any;
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
  role: string;
}

export interface TestServer {
  app: RunningApp;
  url: string;
  base: string;
  dir: string;
  /** The SQLite file (with TEST_DATABASE=postgres, a path that nothing creates: use `db`). */
  dbPath: string;
  /** The server's own database, on whichever backend runs: SQL below the API, and its integrity checks. */
  db: TestDatabase;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  signUp(name?: string, options?: { email?: string; password?: string }): Promise<TestUser>;
  /** Signs up a user and has the first admin give it `role`. */
  user(role: "ADMIN" | "RESPONDER" | "VIEWER", name?: string): Promise<TestUser>;
  admin: TestUser;
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * A real server on an ephemeral port, over a fresh database (a SQLite file, or with TEST_DATABASE=postgres a
 * PostgreSQL database of its own, dropped at close); the first user signed up is its admin.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { logs?: Array<Record<string, any>> } = {},
): Promise<TestServer> {
  const db = await createTestDatabase("incident-api-test-");
  const { dir, dbPath } = db;
  const logs = options.logs;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs?.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  let app: RunningApp;
  try {
    const config = loadConfig({
      NODE_ENV: "test",
      PORT: "0",
      LOG_LEVEL: "silent",
      DATABASE_URL: db.url,
      ...env,
    });
    app = await startApp(config, pino({ level: logs ? "info" : "silent" }, sink));
  } catch (error) {
    await db.remove();
    throw error;
  }
  const base = app.url.replace(/\/graphql$/, "");

  const gql = async (query: string, variables?: Record<string, unknown>, token?: string) => {
    const response = await fetch(app.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as any;
    return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, body };
  };

  const signUp = async (name = "User", options: { email?: string; password?: string } = {}) => {
    const email = options.email ?? `user${process.pid}-${++counter}@example.com`;
    const result = await gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email role } } }`,
      { input: { email, name, password: options.password ?? "correct horse battery" } },
    );
    if (!result.data?.signUp) throw new Error(`signUp failed: ${JSON.stringify(result.body)}`);
    const { token, user } = result.data.signUp;
    return { id: user.id, email: user.email, token, role: user.role };
  };

  const admin = await signUp("Admin");

  const user = async (role: "ADMIN" | "RESPONDER" | "VIEWER", name = role.toLowerCase()) => {
    const created = await signUp(name);
    if (role !== "VIEWER") {
      const result = await gql(
        `mutation($id: ID!, $role: Role!) { updateUser(id: $id, input: { role: $role }) { role } }`,
        { id: created.id, role },
        admin.token,
      );
      if (result.data?.updateUser?.role !== role) throw new Error(`promotion failed: ${JSON.stringify(result.body)}`);
    }
    return { ...created, role };
  };

  const metric = async (name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split("\n").find((row) => row.startsWith(`${name} `));
    return line ? Number(line.split(" ")[1]) : Number.NaN;
  };

  return {
    app,
    url: app.url,
    base,
    dir,
    dbPath,
    db,
    gql,
    signUp,
    user,
    admin,
    metric,
    async close() {
      await app.close();
      await db.remove();
    },
  };
}

/** The single error of a response, failing loudly when there is not exactly one. */
export function onlyError(response: GraphQLResponse) {
  if (response.errors?.length !== 1) throw new Error(`expected one error, got ${JSON.stringify(response.body)}`);
  return response.errors[0]!;
}
