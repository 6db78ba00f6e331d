import "reflect-metadata";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callWeights, oneCharacterSearchWordWeight } from "../src/graphql/document-limits.js";
import { searchTerms } from "../src/modules/intelligence/search-terms.js";
import { startTestServer, type GraphQLResponse, type TestServer, type TestUser } from "./support/server.js";

// Property tests of search and similarity: whatever the query, draft or argument, the answer is a correct list or
// BAD_USER_INPUT, never an FTS or tsquery syntax error, a 500 or a leaked statement; and a query made of the words
// of an incident, however they are wrapped in syntax, finds it.
// Reproduce a failure with the seed fast-check prints: FC_SEED=<seed> npx vitest run test/search-fuzz.test.ts

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const runs = (numRuns: number) => ({ numRuns, ...(seed === undefined ? {} : { seed }) });
const LEAK = /SELECT |MATCH|fts5|tsquery|syntax error|sqlite|SQLITE_|\bat .*\.(js|ts):\d+|node_modules/i;

let server: TestServer;
let responder: TestUser;
let target: string;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMIT_POINTS: "0" });
  responder = await server.user("RESPONDER");
  const created = await server.gql(
    `mutation { createIncident(input: { title: "Quasar flux capacitor overheating", description: "Plasma conduit near the NEAR relay" }) { id } }`,
    {},
    responder.token,
  );
  target = created.data.createIncident.id;
  for (const title of ["Flux capacitor replaced", "Quasar relay offline", "Überlauf im Speicher: café crème"]) {
    await server.gql(`mutation($t: String!) { createIncident(input: { title: $t }) { id } }`, { t: title }, responder.token);
  }
});
afterAll(async () => {
  await server?.close();
});

/** A sound answer: data, or errors that are all BAD_USER_INPUT; never a 5xx or a leak. */
function expectSound(response: GraphQLResponse, field: string): void {
  expect(response.status).toBeLessThan(500);
  expect(JSON.stringify(response.body)).not.toMatch(LEAK);
  if (response.errors) {
    for (const error of response.errors) expect(error.extensions?.code, JSON.stringify(error)).toBe("BAD_USER_INPUT");
  } else {
    expect(Array.isArray(response.data[field])).toBe(true);
  }
}

/** A search's weight in nodes, as the node limit counts it. */
function searchWeight(query: string): number {
  let words: string[];
  try {
    words = searchTerms(query);
  } catch {
    words = [];
  }
  return callWeights["Query.searchIncidents"]! + oneCharacterSearchWordWeight * words.filter((word) => [...word].length === 1).length;
}

const syntax = fc.constantFrom('"', "*", "NEAR", "NEAR(", "-", ":", "^", "(", ")", "AND", "OR", "NOT", "+", "{", "}", "'", "\\", "&", "|", "!", "<->", ":*", "''", "\u0000", "é", "😀", "\ud800", "%", "_", ",");
/** Syntax without letters or digits: it separates words, so wrapped around a word it leaves the word as it was. */
const punctuation = fc.constantFrom('"', "*", "-", ":", "^", "(", ")", "+", "{", "}", "'", "\\", "&", "|", "!", "<->", ":*", "%", ",", "_", "\u0000", "\ud800");
const hostileText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.array(fc.oneof(syntax, fc.constantFrom("quasar", "flux", "relay", "near", "capacitor")), { maxLength: 12 }).map((parts) => parts.join(fc.sample(fc.constantFrom(" ", ""), 1)[0])),
  fc.constantFrom("", " ", "x".repeat(1001), Array.from({ length: 1000 }, (_, i) => `w${i}`).join(" "), "a ".repeat(40), "a b c d e", "󰀀\u0000㐀\u0000ა\u0000󰀁\u0000𠀀"),
);

describe("search and similarity under hostile input", () => {
  it("searchIncidents answers any query and first with a list or BAD_USER_INPUT, or QUERY_TOO_COMPLEX for five one-character words", async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constant(null)), async (query, first) => {
        const response = await server.gql(
          `query($q: String!, $first: Int) { searchIncidents(query: $q, first: $first) { score highlights incident { id } } }`,
          { q: query, first },
          responder.token,
        );
        if (searchWeight(query) > 25_000) {
          // Five one-character words weigh past the node limit (each matches nearly every term as a prefix).
          expect([response.status, response.errors?.[0]?.extensions?.code]).toEqual([400, "QUERY_TOO_COMPLEX"]);
        } else {
          expectSound(response, "searchIncidents");
        }
      }),
      runs(150),
    );
  });

  it("finds the incident from its own words wrapped in any syntax", async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray(["quasar", "FLUX", "capaci", "overheat", "plasma", "near"], { minLength: 1 }), fc.array(punctuation, { maxLength: 4 }), async (words, noise) => {
        const query = words.map((word, i) => `${noise[i % Math.max(noise.length, 1)] ?? ""}${word}${noise[(i + 1) % Math.max(noise.length, 1)] ?? ""}`).join(" ");
        const response = await server.gql(`query($q: String!) { searchIncidents(query: $q) { incident { id } } }`, { q: query }, responder.token);
        expectSound(response, "searchIncidents");
        if (!response.errors) expect(response.data.searchIncidents.map((hit: any) => hit.incident.id), query).toContain(target);
      }),
      runs(100),
    );
  });

  it("similarIncidents and Incident.similar answer any draft and arguments with a list or BAD_USER_INPUT", async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileText,
        fc.option(hostileText, { nil: undefined }),
        fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constant(null)),
        fc.oneof(fc.integer({ min: -2, max: 5000 }), fc.constant(null)),
        async (title, description, first, withinDays) => {
          const draft = await server.gql(
            `query($to: SimilarToInput!, $first: Int, $days: Int) { similarIncidents(to: $to, first: $first, withinDays: $days) { score reasons { kind detail weight } } }`,
            { to: { title, description }, first, days: withinDays },
            responder.token,
          );
          expectSound(draft, "similarIncidents");
          const similar = await server.gql(
            `query($id: ID!, $first: Int, $days: Int) { incident(id: $id) { similar(first: $first, withinDays: $days) { score } } }`,
            { id: target, first, days: withinDays },
            responder.token,
          );
          expect(similar.status).toBeLessThan(500);
          for (const error of similar.errors ?? []) expect(error.extensions?.code).toBe("BAD_USER_INPUT");
          for (const entry of similar.data?.incident?.similar ?? []) expect(entry.score).toBeGreaterThan(0);
        },
      ),
      runs(100),
    );
  });
});
