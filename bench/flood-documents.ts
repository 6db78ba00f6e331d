// The largest documents the default limits allow, each distinct: what one signed-up user can send to grow a server's
// caches. Shared by `npm run bench -- --flood` and test/memory-floods.test.ts.

const person = `{ id email name role active createdAt }`;
const busyPerson = `{ id email name role active createdAt assignedIncidents(first: 1) { totalCount nodes { id title status priority } } }`;
const page = `pageInfo { hasNextPage endCursor hasPreviousPage startCursor }`;
const incidentFields = (people: string) =>
  `id title description status priority version allowedTransitions createdAt updatedAt acknowledgedAt resolvedAt closedAt reporter ${people} assignee ${people}`;
const entryFields = `id kind message fromStatus toStatus createdAt author ${person}`;
const logFields = `${entryFields} incident { ${incidentFields(person)} logs(first: 2) { totalCount ${page} nodes { ${entryFields} incident { id title status priority version } } } }`;

/**
 * Document `k`: 50 aliased nested pages (the alias limit), each with every field, the people, the timeline and the
 * timelines' incidents' timelines: about 9,600 of the 10,000 tokens allowed, 58 KB, depth 8, 350 worst-case nodes.
 */
export function largestDocument(k: number): string {
  const alias = (i: number) =>
    `p${k}_${i}: incidents(first: 1) { totalCount ${page} nodes { ${incidentFields(busyPerson)} logs(first: 2) { totalCount ${page} nodes { ${logFields} } } } }`;
  return `query Flood${k} { ${Array.from({ length: 50 }, (_, i) => alias(i)).join("\n")} }`;
}

/** Subscription document `k`, distinct for every `k`, with the largest selection an event can carry. */
export function largestSubscription(k: number): string {
  return `subscription Cycle${k} { incidentEvents { kind incidentId
    incident { ${incidentFields(busyPerson)} logs(first: 5) { nodes { ${logFields} } } } log { ${logFields} } actor { id name } } }`;
}
