import "reflect-metadata";
import { SignJWT } from "jose";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlyError, startTestServer, type GraphQLResponse, type TestServer, type TestUser } from "./support/server.js";

// Access control and account rules: CONTRACT sections 4 (who may do what), 5 (Users) and the token rules of 7.

// ---------------------------------------------------------------------------------------------------------------
// Documents and small helpers
// ---------------------------------------------------------------------------------------------------------------

type Role = "ADMIN" | "RESPONDER" | "VIEWER";
type Actor = "anonymous" | Role;
const ACTORS: readonly Actor[] = ["anonymous", "VIEWER", "RESPONDER", "ADMIN"];
const PASSWORD = "correct horse battery"; // the harness's default password
const TOKEN_ISSUER = "incident-intelligence-api";

const Doc = {
  me: `{ me { id email role } }`,
  user: `query($id: ID!) { user(id: $id) { id name role active } }`,
  users: `{ users { totalCount nodes { id } } }`,
  incident: `query($id: ID!) { incident(id: $id) { id title version } }`,
  incidents: `{ incidents { totalCount nodes { id } } }`,
  incidentLogs: `query($id: ID!) { incident(id: $id) { logs { totalCount } } }`,
  signUp: `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email name role active } } }`,
  login: `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id email role } } }`,
  signOutEverywhere: `mutation { signOutEverywhere }`,
  updateUser: `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id name role active } }`,
  createIncident: `mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id title status version } }`,
  updateIncident: `mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { id title version } }`,
  addIncidentLog: `mutation($id: ID!, $message: String!) { addIncidentLog(incidentId: $id, message: $message) { id kind message } }`,
  deleteIncident: `mutation($id: ID!) { deleteIncident(id: $id) }`,
} as const;

let uniqueCounter = 0;
const uniqueEmail = (label = "access") => `${label}-${process.pid}-${Date.now()}-${++uniqueCounter}@example.com`;

/** The code of the single error in `response`, failing loudly when there is not exactly one. */
const codeOf = (response: GraphQLResponse) => onlyError(response).extensions?.code;

/** Asserts that `response` succeeded: no errors, and `field` holds a value. */
function expectOk(response: GraphQLResponse, field: string) {
  expect(response.errors, JSON.stringify(response.body)).toBeUndefined();
  expect(response.data?.[field]).not.toBeNull();
  expect(response.data?.[field]).not.toBeUndefined();
}

/** Asserts that `response` failed with exactly one error of `code` and produced no value for `field`. */
function expectRefused(response: GraphQLResponse, field: string, code: string) {
  expect(codeOf(response), JSON.stringify(response.body)).toBe(code);
  expect(response.data?.[field] ?? null).toBeNull();
}

function expectBadInput(response: GraphQLResponse, field: string) {
  const error = onlyError(response);
  expect(error.extensions?.code, JSON.stringify(response.body)).toBe("BAD_USER_INPUT");
  expect(error.extensions?.field).toBe(field);
}

function login(server: TestServer, email: string, password = PASSWORD, token?: string) {
  return server.gql(Doc.login, { email, password }, token);
}

async function readUser(server: TestServer, id: string) {
  const result = await server.gql(Doc.user, { id }, server.admin.token);
  expect(result.errors).toBeUndefined();
  return result.data.user as { id: string; name: string; role: Role; active: boolean };
}

async function createIncident(server: TestServer, title = "Database is on fire") {
  const result = await server.gql(Doc.createIncident, { input: { title } }, server.admin.token);
  if (!result.data?.createIncident) throw new Error(`createIncident failed: ${JSON.stringify(result.body)}`);
  return result.data.createIncident as { id: string; title: string; version: number };
}

async function readIncident(server: TestServer, id: string) {
  const result = await server.gql(Doc.incident, { id }, server.admin.token);
  expect(result.errors).toBeUndefined();
  return result.data.incident as { id: string; title: string; version: number } | null;
}

async function expectTokenRejected(server: TestServer, token: string) {
  expectRefused(await server.gql(Doc.me, {}, token), "me", "UNAUTHENTICATED");
}

async function expectTokenAccepted(server: TestServer, token: string, id: string) {
  const result = await server.gql(Doc.me, {}, token);
  expect(result.errors, JSON.stringify(result.body)).toBeUndefined();
  expect(result.data.me.id).toBe(id);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The role-by-operation matrix of section 4
// ---------------------------------------------------------------------------------------------------------------

describe("who may do what (CONTRACT section 4)", () => {
  let server: TestServer;
  /** Long-lived callers for operations that change nothing about the caller. */
  const shared = {} as Record<Role, TestUser>;
  let sharedIncidentId: string;

  beforeAll(async () => {
    server = await startTestServer();
    shared.ADMIN = await server.user("ADMIN", "Shared admin");
    shared.RESPONDER = await server.user("RESPONDER", "Shared responder");
    shared.VIEWER = await server.user("VIEWER", "Shared viewer");
    sharedIncidentId = (await createIncident(server, "Shared incident")).id;
  });
  afterAll(() => server.close());

  interface Caller {
    token?: string;
    id?: string;
    email?: string;
  }
  const sharedCaller = (actor: Actor): Caller => (actor === "anonymous" ? {} : shared[actor]);
  /** A caller of its own, for cells that change the caller (its tokens, its name, its role...). */
  const freshCaller = async (actor: Actor): Promise<Caller> => (actor === "anonymous" ? {} : server.user(actor, `Fresh ${actor}`));
  const freshViewer = () => server.user("VIEWER", "Target");

  interface Outcome {
    response: GraphQLResponse;
    /** Checks what the call did (allowed) or that it changed nothing (refused). */
    effect?: (allowed: boolean) => Promise<void>;
  }
  interface Operation {
    name: string;
    field: string;
    allowed: readonly Actor[];
    run(actor: Actor): Promise<Outcome>;
  }

  const everyone: readonly Actor[] = ACTORS;
  const signedIn: readonly Actor[] = ["VIEWER", "RESPONDER", "ADMIN"];
  const writers: readonly Actor[] = ["RESPONDER", "ADMIN"];
  const admins: readonly Actor[] = ["ADMIN"];

  const operations: Operation[] = [
    {
      name: "me",
      field: "me",
      allowed: signedIn,
      async run(actor) {
        const caller = sharedCaller(actor);
        const response = await server.gql(Doc.me, {}, caller.token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.me).toMatchObject({ id: caller.id, role: actor });
          },
        };
      },
    },
    {
      name: "user",
      field: "user",
      allowed: signedIn,
      async run(actor) {
        const response = await server.gql(Doc.user, { id: server.admin.id }, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.user).toMatchObject({ id: server.admin.id, role: "ADMIN" });
          },
        };
      },
    },
    {
      name: "users",
      field: "users",
      allowed: signedIn,
      async run(actor) {
        const response = await server.gql(Doc.users, {}, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.users.totalCount).toBeGreaterThanOrEqual(4);
          },
        };
      },
    },
    {
      name: "incident",
      field: "incident",
      allowed: signedIn,
      async run(actor) {
        const response = await server.gql(Doc.incident, { id: sharedIncidentId }, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.incident).toMatchObject({ id: sharedIncidentId, title: "Shared incident" });
          },
        };
      },
    },
    {
      name: "incidents",
      field: "incidents",
      allowed: signedIn,
      async run(actor) {
        const response = await server.gql(Doc.incidents, {}, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.incidents.totalCount).toBeGreaterThanOrEqual(1);
          },
        };
      },
    },
    {
      name: "signUp",
      field: "signUp",
      allowed: everyone,
      async run(actor) {
        const email = uniqueEmail("signup");
        const response = await server.gql(
          Doc.signUp,
          { input: { email, name: "Newcomer", password: PASSWORD } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async () => {
            expect(response.data.signUp.user).toMatchObject({ email, role: "VIEWER", active: true });
            expect(typeof response.data.signUp.token).toBe("string");
          },
        };
      },
    },
    {
      name: "login",
      field: "login",
      allowed: everyone,
      async run(actor) {
        // Every caller (the anonymous one too) logs in as the shared viewer, sending its own token along.
        const response = await login(server, shared.VIEWER.email, PASSWORD, sharedCaller(actor).token);
        return {
          response,
          effect: async () => {
            expect(response.data.login.user.id).toBe(shared.VIEWER.id);
            await expectTokenAccepted(server, response.data.login.token, shared.VIEWER.id);
          },
        };
      },
    },
    {
      name: "signOutEverywhere",
      field: "signOutEverywhere",
      allowed: signedIn,
      async run(actor) {
        const caller = await freshCaller(actor);
        const response = await server.gql(Doc.signOutEverywhere, {}, caller.token);
        return {
          response,
          effect: async (allowed) => {
            if (!allowed) return;
            expect(response.data.signOutEverywhere).toBe(true);
            await expectTokenRejected(server, caller.token!);
          },
        };
      },
    },
    {
      name: "updateUser on self (name)",
      field: "updateUser",
      allowed: signedIn,
      async run(actor) {
        // Anonymous has no self: it names an existing user, which must stay unchanged.
        const caller = actor === "anonymous" ? await freshViewer() : await freshCaller(actor);
        const response = await server.gql(
          Doc.updateUser,
          { id: caller.id, input: { name: "Renamed Self" } },
          actor === "anonymous" ? undefined : caller.token,
        );
        return {
          response,
          effect: async (allowed) => {
            const stored = await readUser(server, caller.id!);
            expect(stored.name).toBe(allowed ? "Renamed Self" : "Target");
          },
        };
      },
    },
    {
      name: "updateUser on self (password)",
      field: "updateUser",
      allowed: signedIn,
      async run(actor) {
        const caller = actor === "anonymous" ? await freshViewer() : await freshCaller(actor);
        const newPassword = "a brand new passphrase";
        const response = await server.gql(
          Doc.updateUser,
          { id: caller.id, input: { password: newPassword } },
          actor === "anonymous" ? undefined : caller.token,
        );
        return {
          response,
          effect: async (allowed) => {
            const withNew = await login(server, caller.email!, newPassword);
            if (allowed) expect(withNew.errors, JSON.stringify(withNew.body)).toBeUndefined();
            else expect(codeOf(withNew)).toBe("UNAUTHENTICATED");
          },
        };
      },
    },
    {
      name: "updateUser on others (name)",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        const target = await freshViewer();
        const response = await server.gql(
          Doc.updateUser,
          { id: target.id, input: { name: "Renamed By Other" } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect((await readUser(server, target.id)).name).toBe(allowed ? "Renamed By Other" : "Target");
          },
        };
      },
    },
    {
      name: "updateUser on others (password)",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        const target = await freshViewer();
        const newPassword = "set by somebody else";
        const response = await server.gql(
          Doc.updateUser,
          { id: target.id, input: { password: newPassword } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            const withNew = await login(server, target.email, newPassword);
            if (allowed) expect(withNew.errors, JSON.stringify(withNew.body)).toBeUndefined();
            else expect(codeOf(withNew)).toBe("UNAUTHENTICATED");
          },
        };
      },
    },
    {
      name: "updateUser role change on others",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        const target = await freshViewer();
        const response = await server.gql(
          Doc.updateUser,
          { id: target.id, input: { role: "RESPONDER" } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect((await readUser(server, target.id)).role).toBe(allowed ? "RESPONDER" : "VIEWER");
          },
        };
      },
    },
    {
      name: "updateUser active change on others",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        const target = await freshViewer();
        const response = await server.gql(
          Doc.updateUser,
          { id: target.id, input: { active: false } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect((await readUser(server, target.id)).active).toBe(!allowed);
          },
        };
      },
    },
    {
      name: "updateUser role change on self",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        // Non-admins try to promote themselves; a (non-last) admin demotes itself.
        const caller = actor === "anonymous" ? await freshViewer() : await freshCaller(actor);
        const role = actor === "ADMIN" ? "RESPONDER" : "ADMIN";
        const before = (await readUser(server, caller.id!)).role;
        const response = await server.gql(
          Doc.updateUser,
          { id: caller.id, input: { role } },
          actor === "anonymous" ? undefined : caller.token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect((await readUser(server, caller.id!)).role).toBe(allowed ? role : before);
          },
        };
      },
    },
    {
      name: "updateUser active change on self",
      field: "updateUser",
      allowed: admins,
      async run(actor) {
        const caller = actor === "anonymous" ? await freshViewer() : await freshCaller(actor);
        const response = await server.gql(
          Doc.updateUser,
          { id: caller.id, input: { active: false } },
          actor === "anonymous" ? undefined : caller.token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect((await readUser(server, caller.id!)).active).toBe(!allowed);
          },
        };
      },
    },
    {
      name: "createIncident",
      field: "createIncident",
      allowed: writers,
      async run(actor) {
        const title = `Created by ${actor} ${++uniqueCounter}`;
        const before = (await server.gql(Doc.incidents, {}, server.admin.token)).data.incidents.totalCount as number;
        const response = await server.gql(Doc.createIncident, { input: { title } }, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            const after = (await server.gql(Doc.incidents, {}, server.admin.token)).data.incidents.totalCount as number;
            expect(after).toBe(allowed ? before + 1 : before);
            if (allowed) expect(response.data.createIncident).toMatchObject({ title, status: "OPEN", version: 1 });
          },
        };
      },
    },
    {
      name: "updateIncident",
      field: "updateIncident",
      allowed: writers,
      async run(actor) {
        const incident = await createIncident(server, "Before the update");
        const response = await server.gql(
          Doc.updateIncident,
          { id: incident.id, input: { title: "After the update" } },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect(await readIncident(server, incident.id)).toMatchObject(
              allowed ? { title: "After the update", version: 2 } : { title: "Before the update", version: 1 },
            );
          },
        };
      },
    },
    {
      name: "addIncidentLog",
      field: "addIncidentLog",
      allowed: writers,
      async run(actor) {
        const incident = await createIncident(server, "Needs a note");
        const logCount = async () =>
          (await server.gql(Doc.incidentLogs, { id: incident.id }, server.admin.token)).data.incident.logs.totalCount as number;
        const before = await logCount();
        const response = await server.gql(
          Doc.addIncidentLog,
          { id: incident.id, message: `A note from ${actor}` },
          sharedCaller(actor).token,
        );
        return {
          response,
          effect: async (allowed) => {
            expect(await logCount()).toBe(allowed ? before + 1 : before);
            if (allowed) expect(response.data.addIncidentLog).toMatchObject({ kind: "NOTE", message: `A note from ${actor}` });
          },
        };
      },
    },
    {
      name: "deleteIncident",
      field: "deleteIncident",
      allowed: admins,
      async run(actor) {
        const incident = await createIncident(server, "To be deleted");
        const response = await server.gql(Doc.deleteIncident, { id: incident.id }, sharedCaller(actor).token);
        return {
          response,
          effect: async (allowed) => {
            if (allowed) expect(response.data.deleteIncident).toBe(incident.id);
            expect(await readIncident(server, incident.id)).toEqual(allowed ? null : expect.objectContaining({ id: incident.id }));
          },
        };
      },
    },
  ];

  const cells = operations.flatMap((operation) =>
    ACTORS.map((actor) => {
      const allowed = operation.allowed.includes(actor);
      const code = actor === "anonymous" ? "UNAUTHENTICATED" : "FORBIDDEN";
      const title = allowed ? `${actor} can ${operation.name}` : `${actor} cannot ${operation.name} (${code})`;
      return { title, operation, actor, allowed, code };
    }),
  );

  it.each(cells.map((cell) => [cell.title, cell] as const))("%s", async (_title, { operation, actor, allowed, code }) => {
    const { response, effect } = await operation.run(actor);
    if (allowed) expectOk(response, operation.field);
    else expectRefused(response, operation.field, code);
    await effect?.(allowed);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Account rules of section 5 (Users) and the role rules that go with them
// ---------------------------------------------------------------------------------------------------------------

describe("accounts (CONTRACT section 5, Users)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  const signUp = (input: { email?: string; name?: string; password?: string }, token?: string) =>
    server.gql(Doc.signUp, { input: { email: uniqueEmail(), name: "Someone", password: PASSWORD, ...input } }, token);

  describe("email", () => {
    it("is stored in lower case and login ignores its case", async () => {
      const stem = `Mixed.Case-${++uniqueCounter}`;
      const result = await signUp({ email: `${stem}@Example.COM` });
      expect(result.errors).toBeUndefined();
      expect(result.data.signUp.user.email).toBe(`${stem.toLowerCase()}@example.com`);

      const viaApi = await server.gql(Doc.me, {}, result.data.signUp.token);
      expect(viaApi.data.me.email).toBe(`${stem.toLowerCase()}@example.com`);

      const loggedIn = await login(server, `${stem.toUpperCase()}@EXAMPLE.com`);
      expect(loggedIn.errors, JSON.stringify(loggedIn.body)).toBeUndefined();
      expect(loggedIn.data.login.user.id).toBe(result.data.signUp.user.id);
    });

    it("is unique ignoring case (CONFLICT)", async () => {
      const email = uniqueEmail("dup");
      expect((await signUp({ email })).errors).toBeUndefined();
      const before = (await server.gql(Doc.users, {}, server.admin.token)).data.users.totalCount;

      const duplicate = await signUp({ email: email.toUpperCase() });
      expectRefused(duplicate, "signUp", "CONFLICT");
      const after = (await server.gql(Doc.users, {}, server.admin.token)).data.users.totalCount;
      expect(after).toBe(before);
    });
  });

  describe("name and password lengths", () => {
    const cases = [
      { title: "an empty name", input: { name: "" }, field: "name" },
      { title: "a 101-character name", input: { name: "n".repeat(101) }, field: "name" },
      { title: "a 7-character password", input: { password: "p".repeat(7) }, field: "password" },
      { title: "a 129-character password", input: { password: "p".repeat(129) }, field: "password" },
    ];

    const named = (verb: string) =>
      cases.map((c) => [`${verb} refuses ${c.title} (BAD_USER_INPUT, field ${c.field})`, c] as const);

    it.each(named("signUp"))("%s", async (_title, { input, field }) => {
      const email = uniqueEmail("len");
      expectBadInput(await signUp({ email, ...input }), field);
      // Nothing was created: the email is still free.
      expect((await signUp({ email })).errors).toBeUndefined();
    });

    it.each(named("updateUser"))("%s", async (_title, { input, field }) => {
      const viewer = await server.signUp("Keeps Name");
      expectBadInput(await server.gql(Doc.updateUser, { id: viewer.id, input }, viewer.token), field);
      expect((await readUser(server, viewer.id)).name).toBe("Keeps Name");
      expect((await login(server, viewer.email)).errors).toBeUndefined();
    });

    it("accepts the bounds: 1 and 100-character names, 8 and 128-character passwords", async () => {
      for (const input of [
        { name: "n", password: "p".repeat(8) },
        { name: "n".repeat(100), password: "p".repeat(128) },
      ]) {
        const email = uniqueEmail("bounds");
        const result = await signUp({ email, ...input });
        expect(result.errors, JSON.stringify(result.body)).toBeUndefined();
        expect(result.data.signUp.user.name).toBe(input.name);
        expect((await login(server, email, input.password)).errors).toBeUndefined();
      }
    });
  });

  describe("roles on sign-up", () => {
    it("makes the first user ADMIN", async () => {
      expect(server.admin.role).toBe("ADMIN");
      const me = await server.gql(Doc.me, {}, server.admin.token);
      expect(me.data.me.role).toBe("ADMIN");
    });

    it("makes every later user VIEWER", async () => {
      for (let i = 0; i < 2; i++) {
        const result = await signUp({});
        expect(result.data.signUp.user.role).toBe("VIEWER");
      }
    });
  });

  describe("login", () => {
    it("fails alike for an unknown email and a wrong password (UNAUTHENTICATED, same message)", async () => {
      const known = await server.signUp("Known");
      const unknown = onlyError(await login(server, uniqueEmail("nobody")));
      const wrong = onlyError(await login(server, known.email, "not the password"));
      expect(unknown.extensions?.code).toBe("UNAUTHENTICATED");
      expect(wrong.extensions?.code).toBe("UNAUTHENTICATED");
      expect(wrong.message).toBe(unknown.message);
      expect(wrong.extensions).toEqual(unknown.extensions);
    });

    it("refuses a deactivated user, whose existing token stops working (UNAUTHENTICATED)", async () => {
      const user = await server.signUp("Leaving");
      await expectTokenAccepted(server, user.token, user.id);

      const deactivated = await server.gql(Doc.updateUser, { id: user.id, input: { active: false } }, server.admin.token);
      expect(deactivated.data?.updateUser.active).toBe(false);

      await expectTokenRejected(server, user.token);
      expect(codeOf(await login(server, user.email))).toBe("UNAUTHENTICATED");
    });

    it("lets a reactivated user log in again, but never revives the tokens it held", async () => {
      const user = await server.signUp("Returning");
      await server.gql(Doc.updateUser, { id: user.id, input: { active: false } }, server.admin.token);
      expect(codeOf(await login(server, user.email))).toBe("UNAUTHENTICATED");
      await server.gql(Doc.updateUser, { id: user.id, input: { active: true } }, server.admin.token);
      await expectTokenRejected(server, user.token);
      const again = await login(server, user.email);
      expect(again.errors, JSON.stringify(again.body)).toBeUndefined();
    });
  });

  describe("the role is read from the database on every request", () => {
    it("a demoted admin loses admin powers on its existing token", async () => {
      const demoted = await server.user("ADMIN", "Soon Demoted");
      const target = await server.signUp("Target");
      const incident = await createIncident(server, "Admin-only delete");

      // The token works as an admin's before the demotion...
      expectOk(await server.gql(Doc.updateUser, { id: target.id, input: { name: "Before" } }, demoted.token), "updateUser");

      const demotion = await server.gql(Doc.updateUser, { id: demoted.id, input: { role: "VIEWER" } }, server.admin.token);
      expect(demotion.data?.updateUser.role).toBe("VIEWER");

      // ...and the same token is a viewer's after it.
      expect((await server.gql(Doc.me, {}, demoted.token)).data.me.role).toBe("VIEWER");
      expectRefused(
        await server.gql(Doc.updateUser, { id: target.id, input: { name: "After" } }, demoted.token),
        "updateUser",
        "FORBIDDEN",
      );
      expectRefused(await server.gql(Doc.deleteIncident, { id: incident.id }, demoted.token), "deleteIncident", "FORBIDDEN");
      expectRefused(
        await server.gql(Doc.createIncident, { input: { title: "Not any more" } }, demoted.token),
        "createIncident",
        "FORBIDDEN",
      );
      expect((await readUser(server, target.id)).name).toBe("Before");
      expect(await readIncident(server, incident.id)).not.toBeNull();
    });

    it("a promoted viewer gains the new powers on its existing token", async () => {
      const viewer = await server.signUp("Soon Responder");
      const title = "Written after promotion";
      expectRefused(await server.gql(Doc.createIncident, { input: { title } }, viewer.token), "createIncident", "FORBIDDEN");
      await server.gql(Doc.updateUser, { id: viewer.id, input: { role: "RESPONDER" } }, server.admin.token);
      expectOk(await server.gql(Doc.createIncident, { input: { title } }, viewer.token), "createIncident");
    });
  });

  describe("signOutEverywhere", () => {
    it("makes every earlier token fail while a new login works", async () => {
      const user = await server.signUp("Cautious");
      const second = (await login(server, user.email)).data.login.token as string;
      const bystander = await server.signUp("Bystander");

      const result = await server.gql(Doc.signOutEverywhere, {}, user.token);
      expect(result.errors).toBeUndefined();
      expect(result.data.signOutEverywhere).toBe(true);

      await expectTokenRejected(server, user.token);
      await expectTokenRejected(server, second);
      await expectTokenAccepted(server, bystander.token, bystander.id);

      const fresh = await login(server, user.email);
      expect(fresh.errors, JSON.stringify(fresh.body)).toBeUndefined();
      await expectTokenAccepted(server, fresh.data.login.token, user.id);
    });
  });

  describe("no type exposes a password or hash", () => {
    it("has no such field on User, AuthPayload or any other output type", async () => {
      const result = await server.gql(
        `{ __schema { types { name kind fields(includeDeprecated: true) { name } } } }`,
        {},
        server.admin.token,
      );
      expect(result.errors).toBeUndefined();
      const types = result.data.__schema.types as Array<{ name: string; kind: string; fields: Array<{ name: string }> | null }>;
      const user = types.find((type) => type.name === "User");
      expect(user?.fields?.map((field) => field.name)).toEqual(expect.arrayContaining(["id", "email", "name", "role", "active"]));

      const leaking = types
        .filter((type) => !type.name.startsWith("__"))
        .flatMap((type) => (type.fields ?? []).map((field) => `${type.name}.${field.name}`))
        .filter((name) => /pass(word)?|hash|salt|secret/i.test(name.split(".")[1]!))
        // Section 11: a webhook secret must sign, so it is shown once (ADMIN only), and its last 4 characters after.
        .filter((name) => !["WebhookEndpoint.secretHint", "WebhookEndpointSecret.secret", "Mutation.rotateWebhookSecret"].includes(name));
      expect(leaking).toEqual([]);
    });

    it("does not return the password or its hash anywhere in a sign-up or login response", async () => {
      const password = "very distinctive passphrase";
      const email = uniqueEmail("leak");
      const signed = await server.gql(
        `mutation($input: SignUpInput!) { signUp(input: $input) { token expiresAt user { id email name role active createdAt } } }`,
        { input: { email, name: "Leak Check", password } },
      );
      const logged = await login(server, email, password);
      for (const body of [signed.body, logged.body]) {
        const text = JSON.stringify(body);
        expect(text).not.toContain(password);
        expect(text).not.toMatch(/\$argon2|\$scrypt/);
      }
    });
  });

  describe("failed-login throttle", () => {
    it("after 10 failures for one email, the 11th attempt is RATE_LIMITED with retryAfter, even with the right password", async () => {
      const user = await server.signUp("Targeted");
      for (let attempt = 1; attempt <= 10; attempt++) {
        expect(codeOf(await login(server, user.email, `wrong password ${attempt}`)), `attempt ${attempt}`).toBe("UNAUTHENTICATED");
      }

      const limited = onlyError(await login(server, user.email, PASSWORD));
      expect(limited.extensions?.code).toBe("RATE_LIMITED");
      const retryAfter = limited.extensions?.retryAfter;
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);

      // The same email in another case is the same email.
      expect(codeOf(await login(server, user.email.toUpperCase(), PASSWORD))).toBe("RATE_LIMITED");
      // Tokens already issued keep working, and other emails are not affected.
      await expectTokenAccepted(server, user.token, user.id);
      const other = await server.signUp("Unaffected");
      expect((await login(server, other.email)).errors).toBeUndefined();
    });
  });
});

describe("the last active admin (CONTRACT section 4)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("cannot be demoted (BAD_USER_INPUT) and keeps the ADMIN role", async () => {
    const result = await server.gql(Doc.updateUser, { id: server.admin.id, input: { role: "RESPONDER" } }, server.admin.token);
    expectRefused(result, "updateUser", "BAD_USER_INPUT");
    expect((await readUser(server, server.admin.id)).role).toBe("ADMIN");
  });

  it("cannot be deactivated (BAD_USER_INPUT) and stays active", async () => {
    const result = await server.gql(Doc.updateUser, { id: server.admin.id, input: { active: false } }, server.admin.token);
    expectRefused(result, "updateUser", "BAD_USER_INPUT");
    const stored = await readUser(server, server.admin.id);
    expect(stored).toMatchObject({ role: "ADMIN", active: true });
    await expectTokenAccepted(server, server.admin.token, server.admin.id);
  });

  it("counts only active admins: with the other admin deactivated, the remaining one still cannot be demoted", async () => {
    const other = await server.user("ADMIN", "Other Admin");
    const deactivated = await server.gql(Doc.updateUser, { id: other.id, input: { active: false } }, server.admin.token);
    expect(deactivated.errors, JSON.stringify(deactivated.body)).toBeUndefined();

    const result = await server.gql(Doc.updateUser, { id: server.admin.id, input: { role: "VIEWER" } }, server.admin.token);
    expectRefused(result, "updateUser", "BAD_USER_INPUT");
    expect((await readUser(server, server.admin.id)).role).toBe("ADMIN");
  });

  it("can be demoted once another active admin exists", async () => {
    const second = await server.user("ADMIN", "Second Admin");
    const demoted = await server.gql(Doc.updateUser, { id: second.id, input: { role: "RESPONDER" } }, server.admin.token);
    expect(demoted.data?.updateUser.role).toBe("RESPONDER");
    // Now the first admin is the last one again.
    const refused = await server.gql(Doc.updateUser, { id: server.admin.id, input: { active: false } }, server.admin.token);
    expectRefused(refused, "updateUser", "BAD_USER_INPUT");
  });
});

describe("ALLOW_SIGNUP=false", () => {
  let server: TestServer;
  beforeAll(async () => {
    // The harness signs up the first user while starting: that one must still work.
    server = await startTestServer({ ALLOW_SIGNUP: "false" });
  });
  afterAll(() => server.close());

  it("still lets the very first user sign up, as ADMIN", () => {
    expect(server.admin.role).toBe("ADMIN");
  });

  it("makes signUp FORBIDDEN for every later user, and creates nobody", async () => {
    const input = { email: uniqueEmail("closed"), name: "Latecomer", password: PASSWORD };
    expectRefused(await server.gql(Doc.signUp, { input }), "signUp", "FORBIDDEN");
    expectRefused(await server.gql(Doc.signUp, { input }, server.admin.token), "signUp", "FORBIDDEN");
    expect((await server.gql(Doc.users, {}, server.admin.token)).data.users.totalCount).toBe(1);
    expect(codeOf(await login(server, input.email))).toBe("UNAUTHENTICATED");
  });

  it("leaves login working", async () => {
    const result = await login(server, server.admin.email);
    expect(result.errors, JSON.stringify(result.body)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Tokens (CONTRACT sections 6 and 7): HS256 with iss, aud, sub, iat, exp
// ---------------------------------------------------------------------------------------------------------------

describe("bearer tokens", () => {
  const secret = "a-known-test-secret-that-is-long-enough-0123456789";
  const key = new TextEncoder().encode(secret);
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ JWT_SECRET: secret });
  });
  afterAll(() => server.close());

  const now = () => Math.floor(Date.now() / 1000);

  interface Forge {
    key?: Uint8Array;
    alg?: string;
    claims?: Record<string, unknown>;
    omit?: Array<"iss" | "aud" | "sub" | "iat" | "exp">;
  }

  /**
   * A token shaped like the server's own (see src/auth/tokens.ts): tv is the token version, 0 for a user that
   * never signed out everywhere; sub names the harness admin. Only what `forge` overrides differs.
   */
  async function forge({ key: signingKey = key, alg = "HS256", claims = {}, omit = [] }: Forge = {}) {
    const standard: Record<string, unknown> = {
      iss: TOKEN_ISSUER,
      aud: TOKEN_ISSUER,
      sub: server.admin.id,
      iat: now() - 60,
      exp: now() + 3600,
    };
    for (const claim of omit) delete standard[claim];
    return new SignJWT({ tv: 0, ...standard, ...claims }).setProtectedHeader({ alg, typ: "JWT" }).sign(signingKey);
  }

  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

  it("accepts a token forged with the configured secret and the right claims (control for the cases below)", async () => {
    await expectTokenAccepted(server, await forge(), server.admin.id);
  });

  const rejected: Array<{ title: string; token: () => Promise<string> }> = [
    { title: "a garbage token", token: async () => "not-a-jwt-at-all" },
    { title: "a token with a mangled signature", token: async () => `${(await forge()).slice(0, -4)}AAAA` },
    { title: "a token signed with another secret", token: () => forge({ key: randomBytes(48) }) },
    { title: "an expired token", token: () => forge({ claims: { iat: now() - 7200, exp: now() - 3600 } }) },
    { title: "a token with the wrong issuer", token: () => forge({ claims: { iss: "somebody-else" } }) },
    { title: "a token with the wrong audience", token: () => forge({ claims: { aud: "somebody-else" } }) },
    { title: "a token without exp", token: () => forge({ omit: ["exp"] }) },
    { title: "a token without sub", token: () => forge({ omit: ["sub"] }) },
    { title: "a token without iat", token: () => forge({ omit: ["iat"] }) },
    { title: "a token signed with HS512", token: () => forge({ alg: "HS512" }) },
    {
      title: "an unsigned token (alg none)",
      token: async () =>
        `${base64url({ alg: "none", typ: "JWT" })}.${base64url({
          iss: TOKEN_ISSUER,
          aud: TOKEN_ISSUER,
          sub: server.admin.id,
          iat: now(),
          exp: now() + 3600,
          tv: 0,
        })}.`,
    },
    { title: "a token for a user that does not exist", token: () => forge({ claims: { sub: "987654" } }) },
  ];

  it.each(rejected.map((r) => [`rejects ${r.title} (UNAUTHENTICATED)`, r] as const))("%s", async (_title, { token }) => {
    await expectTokenRejected(server, await token());
    // A mutation refuses it the same way.
    expectRefused(
      await server.gql(Doc.createIncident, { input: { title: "Forged" } }, await token()),
      "createIncident",
      "UNAUTHENTICATED",
    );
  });
});
