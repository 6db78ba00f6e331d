import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longestBlock } from "./support/event-loop.js";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";

// One document of many sibling fields, each a statement of some milliseconds (a filter search scans every row), is
// worked through in turns with other clients' requests. Before, the siblings all passed the time slicer's check
// before any of them had run, and their statements then ran back to back: 50 aliases held the loop for 10 s on
// 92,000 incidents. On PostgreSQL the statements run in the database and the event loop is free meanwhile.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  // 20,000 incidents written below the API: the search reads titles and descriptions, nothing else.
  await server.db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
    INSERT INTO incidents (title, description, status, priority, reporter_id, version, created_at, updated_at)
    SELECT 'Disk full on db-' || i, 'The volume of db-' || i || ' filled up overnight after a backup ran long', 'OPEN', 'LOW', ${server.admin.id}, 1, 1764460800000 + i, 1764460800000 + i FROM n`);
}, 60_000);
afterAll(() => server?.close());

describe("a document of many slow sibling fields", () => {
  it.skipIf(onPostgres)("runs its fields in turns of the event loop, not back to back", async () => {
    const search = `filter: { search: "nowhere absent missing lacking" }`;
    const document = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: incidents(first: 1, ${search}) { totalCount }`).join(" ")} }`;
    await server.gql(document, {}, server.admin.token); // compiled and cached, as a recurring document is
    let total = 0;
    const longest = await longestBlock(async () => {
      const started = performance.now();
      const answer = await server.gql(document, {}, server.admin.token);
      total = performance.now() - started;
      expect(answer.errors).toBeUndefined();
      expect(answer.data.a19.totalCount).toBe(0);
    });
    // 20 statements of similar cost: back to back, the loop was held for nearly all of it.
    expect(longest).toBeLessThan(total / 4);
  });
});
