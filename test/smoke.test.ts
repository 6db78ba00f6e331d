import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe("a fresh server", () => {
  it("makes the first user an admin and later ones viewers", async () => {
    expect(server.admin.role).toBe("ADMIN");
    const viewer = await server.signUp("Second");
    expect(viewer.role).toBe("VIEWER");
  });

  it("answers me with the caller", async () => {
    const result = await server.gql(`{ me { id role } }`, {}, server.admin.token);
    expect(result.data.me).toEqual({ id: server.admin.id, role: "ADMIN" });
  });
});
