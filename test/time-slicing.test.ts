import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { longestBlock } from "./support/event-loop.js";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer } from "./support/server.js";

// One document of many sibling fields, each a statement of some milliseconds (a filter search scans every row), is
// worked through in turns with other clients' requests. Before, the siblings all passed the time slicer's check
// before any of them had run, and their statements then ran back to back: 50 aliases held the loop for 10 s on
// 92,000 incidents. On PostgreSQL the statements run in the database and the event loop is free meanwhile, but they
// ran all at once and took every pooled connection: another user's one-row read waited 4.6 s behind them.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  // 20,000 incidents written below the API: the search reads titles and descriptions, nothing else.
  const description = "The volume filled up overnight after a backup ran long. ".repeat(8);
  await server.db.exec(
    onPostgres
      ? `INSERT INTO incidents (title, description, status, priority, reporter_id, version, created_at, updated_at)
         SELECT 'Disk full on db-' || i, '${description}' || i, 'OPEN', 'LOW', ${server.admin.id}, 1,
           to_timestamp(1764460800 + i), to_timestamp(1764460800 + i) FROM generate_series(1, 40000) AS i`
      : `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
         INSERT INTO incidents (title, description, status, priority, reporter_id, version, created_at, updated_at)
         SELECT 'Disk full on db-' || i, '${description}' || i, 'OPEN', 'LOW', ${server.admin.id}, 1, 1764460800000 + i, 1764460800000 + i FROM n`,
  );
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

  it.runIf(onPostgres)("takes a quarter of the pool at most, so that another user's read does not wait behind it", async () => {
    const other = await server.user("VIEWER");
    const search = `filter: { search: "nowhere absent missing lacking" }`;
    const document = `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: incidents(first: 1, ${search}) { totalCount }`).join(" ")} }`;
    const started = performance.now();
    const heavy = server.gql(document, {}, server.admin.token).then((answer) => {
      expect(answer.errors).toBeUndefined();
      return performance.now() - started;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const readStarted = performance.now();
    const read = await server.gql(`{ me { name } incidents(first: 1) { nodes { id } } }`, {}, other.token);
    const readMs = performance.now() - readStarted;
    expect(read.errors).toBeUndefined();
    const heavyMs = await heavy;
    // Before: the read waited for nearly all of the heavy document's statements.
    expect(readMs).toBeLessThan(heavyMs / 4);
  }, 60_000);
});
