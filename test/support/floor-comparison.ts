// What the two floor-identity tests (SQLite and PostgreSQL) share: the documents, the page shapes, the rows written
// through the API before the bulk seed, and a short report of where two answers part.
import { expect } from "vitest";
import type { TestServer } from "./server.js";

export const nestedRead = (first: number, logs: number, filter = "") =>
  `query { incidents(first: ${first}${filter}) { nodes { id reporter { name } assignee { name } logs(first: ${logs}) { nodes { message author { name } } } } } }`;

export const incidentById = "query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }";

export interface PageShape {
  name: string;
  first: number;
  logs: number;
  status?: string[];
}

export const pageShapes: PageShape[] = [
  { name: "the benchmark's page (50 incidents, 10 entries each)", first: 50, logs: 10 },
  { name: "a page covering every row, API-written ones included", first: 100, logs: 50 },
  { name: "a small page", first: 3, logs: 2 },
  { name: "an empty page", first: 0, logs: 10 },
  { name: "a filtered page", first: 50, logs: 10, status: ["OPEN"] },
  { name: "a filtered page on two statuses", first: 20, logs: 5, status: ["INVESTIGATING", "CLOSED"] },
];

/** The API's and the floor's request for one shape. */
export function shapeRequests(shape: PageShape): { query: string; floorBody: Record<string, unknown> } {
  const filter = shape.status ? `, filter: {status: [${shape.status.join(", ")}]}` : "";
  return {
    query: nestedRead(shape.first, shape.logs, filter),
    floorBody: { first: shape.first, logs: shape.logs, ...(shape.status ? { status: shape.status } : {}) },
  };
}

export async function apiText(server: TestServer, query: string, variables?: Record<string, unknown>): Promise<string> {
  const response = await fetch(server.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.admin.token}` },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  return response.text();
}

export async function floorText(port: number, path: string, body: unknown): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.text();
}

/** Null when both texts are the same bytes; otherwise where they part, briefly (a whole page would drown the report). */
export function difference(api: string, floor: string): string | null {
  if (api === floor) return null;
  let i = 0;
  while (i < api.length && i < floor.length && api[i] === floor[i]) i++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, i - 80), i + 80));
  return `first difference at character ${i} (API ${api.length}, floor ${floor.length} long): API …${around(api)}… floor …${around(floor)}…`;
}

/** Rows written by the API itself before the bulk seed: a status change, an assignment, a note, a bare incident. */
export async function writeThroughApi(server: TestServer): Promise<void> {
  const responder = await server.user("RESPONDER", "Rita Responder");
  const token = server.admin.token;
  const created = await server.gql(`mutation { createIncident(input: {title: "Made through the API", priority: HIGH}) { id } }`, {}, token);
  const id = created.data.createIncident.id as string;
  await server.gql(
    `mutation($id: ID!, $a: ID!) { updateIncident(id: $id, input: {status: INVESTIGATING, assigneeId: $a}) { id } }`,
    { id, a: responder.id },
    token,
  );
  await server.gql(`mutation($id: ID!) { addIncidentLog(incidentId: $id, message: "A note with \\"quotes\\" and ünïcödé") { id } }`, { id }, token);
  await server.gql(`mutation { createIncident(input: {title: "Unassigned, no entries beyond creation"}) { id } }`, {}, token);
}
