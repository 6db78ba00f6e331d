import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, alertSetup, createService, sendAlertmanager } from "./support/alerts.js";
import { onPostgres } from "./support/database.js";
import { onlyError, startTestServer, type TestServer, type TestUser } from "./support/server.js";
import { seededRandom } from "../src/shared/seeded-random.js";

// Section 10, metrics: counts and duration statistics of the incidents created in [from, to), grouped by service,
// priority and assignee, in day, week or month buckets of an IANA time zone. Expected values are worked out by hand
// here, or recomputed by a reference written independently of the server (its buckets come from local dates).

let server: TestServer;
let responder: TestUser;
let viewer: TestUser;
let ann: TestUser;
let bob: TestUser;
beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER");
  viewer = await server.user("VIEWER");
  ann = await server.user("RESPONDER", "Ann");
  bob = await server.user("RESPONDER", "Bob");
});
afterAll(async () => {
  await server?.close();
});

const ms = (iso: string) => Date.parse(iso);
const literal = (time: number | null) => (time === null ? "NULL" : onPostgres ? `'${new Date(time).toISOString()}'` : String(time));

interface Seeded {
  title?: string;
  serviceId?: string | null;
  assigneeId?: string | null;
  priority?: string;
  created: number;
  /** Seconds after creation. */
  ack?: number | null;
  resolve?: number | null;
  status?: "OPEN" | "INVESTIGATING" | "RESOLVED" | "CLOSED";
  bySystem?: boolean;
}

/** An incident created through the API, its times and status then set below it, as history would have left them. */
async function seed(incident: Seeded): Promise<string> {
  const input: Record<string, unknown> = { title: incident.title ?? "Something broke", priority: incident.priority ?? "MEDIUM" };
  if (incident.serviceId) input.serviceId = incident.serviceId;
  if (incident.assigneeId) input.assigneeId = incident.assigneeId;
  const result = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input }, responder.token);
  const id = Number(result.data.createIncident.id);
  const at = (seconds: number | null | undefined) => (seconds == null ? null : incident.created + seconds * 1000);
  const status = incident.status ?? (incident.resolve != null ? "RESOLVED" : incident.ack != null ? "INVESTIGATING" : "OPEN");
  await server.db.exec(
    `UPDATE incidents SET created_at = ${literal(incident.created)}, acknowledged_at = ${literal(at(incident.ack))},
       resolved_at = ${literal(at(incident.resolve))}, status = '${status}',
       resolved_by_system = ${incident.bySystem ? (onPostgres ? "true" : "1") : onPostgres ? "false" : "0"} WHERE id = ${id}`,
  );
  return String(id);
}

const ROW = `bucketStart service { name } priority assignee { name } created acknowledged resolved autoResolved
  timeToAcknowledge { count mean p50 p90 p95 max } timeToResolve { count mean p50 p90 p95 max }`;

const metrics = (input: Record<string, unknown>, token = viewer.token) =>
  server.gql(`query($input: IncidentMetricsInput!) { incidentMetrics(input: $input) { ${ROW} } }`, { input }, token);

async function rows(input: Record<string, unknown>) {
  const result = await metrics(input);
  expect(result.errors).toBeUndefined();
  return result.data.incidentMetrics as any[];
}

const stats = (count: number, mean: number | null, p50: number | null, p90: number | null, p95: number | null, max: number | null) => ({
  count,
  mean,
  p50,
  p90,
  p95,
  max,
});
const none = stats(0, null, null, null, null, null);

describe("incidentMetrics: durations worked out by hand", () => {
  let alpha: string;
  let beta: string;
  const january = { from: "2026-01-01T00:00:00.000Z", to: "2026-02-01T00:00:00.000Z" };

  beforeAll(async () => {
    alpha = (await createService(server, { name: "Alpha" })).id;
    beta = (await createService(server, { name: "Beta" })).id;
    const day = (d: number) => ms(`2026-01-${String(d).padStart(2, "0")}T10:00:00.000Z`);
    await seed({ serviceId: alpha, created: day(5), ack: 60, resolve: 3600, priority: "HIGH", assigneeId: bob.id });
    await seed({ serviceId: alpha, created: day(6), ack: 120, resolve: 7200, status: "CLOSED", priority: "CRITICAL", assigneeId: ann.id });
    await seed({ serviceId: alpha, created: day(7), ack: 300, resolve: 1800, bySystem: true, priority: "HIGH", assigneeId: ann.id });
    await seed({ serviceId: alpha, created: day(8), ack: 600, priority: "LOW" });
    await seed({ serviceId: alpha, created: day(9), priority: "LOW", assigneeId: bob.id });
    await seed({ serviceId: beta, created: day(10), ack: 30.5, resolve: 100.25, priority: "HIGH", assigneeId: bob.id });
    await seed({ created: day(11), priority: "CRITICAL" });
    // Just outside [from, to).
    await seed({ serviceId: alpha, created: ms(january.from) - 1, ack: 1 });
    await seed({ serviceId: alpha, created: ms(january.to), ack: 1 });
  });

  it("counts and summarises one bucket per service, by service name, no service last", async () => {
    expect(await rows({ ...january, groupBy: ["SERVICE"] })).toEqual([
      {
        bucketStart: null,
        service: { name: "Alpha" },
        priority: null,
        assignee: null,
        created: 5,
        acknowledged: 4,
        resolved: 3,
        autoResolved: 1,
        // [60, 120, 300, 600]: nearest ranks ceil(0.5 * 4) = 2, ceil(0.9 * 4) = 4, ceil(0.95 * 4) = 4.
        timeToAcknowledge: stats(4, 270, 120, 600, 600, 600),
        // [1800, 3600, 7200]: ranks 2, 3, 3.
        timeToResolve: stats(3, 4200, 3600, 7200, 7200, 7200),
      },
      {
        bucketStart: null,
        service: { name: "Beta" },
        priority: null,
        assignee: null,
        created: 1,
        acknowledged: 1,
        resolved: 1,
        autoResolved: 0,
        timeToAcknowledge: stats(1, 30.5, 30.5, 30.5, 30.5, 30.5),
        timeToResolve: stats(1, 100.25, 100.25, 100.25, 100.25, 100.25),
      },
      {
        bucketStart: null,
        service: null,
        priority: null,
        assignee: null,
        created: 1,
        acknowledged: 0,
        resolved: 0,
        autoResolved: 0,
        timeToAcknowledge: none,
        timeToResolve: none,
      },
    ]);
  });

  it("orders by priority (CRITICAL first), then assignee name (none last)", async () => {
    const result = await rows({ ...january, filter: { serviceId: [alpha, beta] }, groupBy: ["ASSIGNEE", "PRIORITY"] });
    expect(result.map((row) => [row.priority, row.assignee?.name ?? null, row.created])).toEqual([
      ["CRITICAL", "Ann", 1],
      ["HIGH", "Ann", 1],
      ["HIGH", "Bob", 2],
      ["LOW", "Bob", 1],
      ["LOW", null, 1],
    ]);
    // HIGH and Bob: [60, 30.5] to acknowledge, [3600, 100.25] to resolve.
    expect(result[2].timeToAcknowledge).toEqual(stats(2, 45.25, 30.5, 60, 60, 60));
    expect(result[2].timeToResolve).toEqual(stats(2, 1850.125, 100.25, 3600, 3600, 3600));
  });

  it("takes the nearest rank, not the nearest value: ceil(p * n / 100)", async () => {
    const gamma = (await createService(server, { name: "Gamma" })).id;
    // Seven acknowledgements of 10 to 70 seconds: p50 is the 4th (3.5 rounds up), p90 the 7th (6.3), p95 the 7th.
    for (let i = 1; i <= 7; i++) await seed({ serviceId: gamma, created: ms("2026-01-20T00:00:00.000Z") + i * 1000, ack: i * 10 });
    const [row] = await rows({ ...january, filter: { serviceId: [gamma] } });
    expect(row.timeToAcknowledge).toEqual(stats(7, 40, 40, 70, 70, 70));
  });

  it("counts a RESOLVED or CLOSED incident without resolvedAt (as imported history may hold) as resolved, with no time to resolve", async () => {
    const epsilon = (await createService(server, { name: "Epsilon" })).id;
    const at = (minute: number) => ms("2026-01-21T00:00:00.000Z") + minute * 60_000;
    await seed({ serviceId: epsilon, created: at(1), ack: 10, resolve: 50, status: "RESOLVED" });
    await seed({ serviceId: epsilon, created: at(2), ack: 20, status: "CLOSED" });
    await seed({ serviceId: epsilon, created: at(3), status: "RESOLVED", bySystem: true });
    await seed({ serviceId: epsilon, created: at(4), ack: 30 });
    const [row] = await rows({ ...january, filter: { serviceId: [epsilon] } });
    expect(row).toMatchObject({ created: 4, acknowledged: 3, resolved: 3, autoResolved: 1 });
    expect(row.timeToAcknowledge).toEqual(stats(3, 20, 20, 30, 30, 30));
    expect(row.timeToResolve).toEqual(stats(1, 50, 50, 50, 50, 50));
  });

  it("applies the incident filter", async () => {
    const result = await rows({ ...january, filter: { priority: ["HIGH"], serviceId: [alpha] } });
    expect(result).toHaveLength(1);
    expect(result[0]).toMatchObject({ created: 2, acknowledged: 2, resolved: 2, autoResolved: 1 });
    expect(result[0].timeToResolve).toEqual(stats(2, 2700, 1800, 3600, 3600, 3600));
    expect(await rows({ ...january, filter: { status: [] } })).toEqual([]);
    // Label pairs: every pair must be on the incident.
    const delta = (await createService(server, { name: "Delta" })).id;
    for (const labels of [[{ key: "env", value: "prod" }, { key: "team", value: "core" }], [{ key: "env", value: "prod" }], []]) {
      const made = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input: { title: "Labelled", serviceId: delta, labels } }, responder.token);
      await server.db.exec(`UPDATE incidents SET created_at = ${literal(ms("2026-01-15T00:00:00.000Z"))} WHERE id = ${Number(made.data.createIncident.id)}`);
    }
    const labelled = (labels: Array<{ key: string; value: string }>) => rows({ ...january, filter: { serviceId: [delta], labels } });
    expect((await labelled([{ key: "env", value: "prod" }]))[0].created).toBe(2);
    expect((await labelled([{ key: "env", value: "prod" }, { key: "team", value: "core" }]))[0].created).toBe(1);
    expect(await labelled([{ key: "env", value: "staging" }])).toEqual([]);
    expect((await rows({ ...january, filter: { serviceId: [delta], search: "LABEL" } }))[0].created).toBe(3);
    expect(await rows({ ...january, filter: { search: "nothing like this" } })).toEqual([]);
  });

  it("buckets by UTC week starting on Monday, and by month", async () => {
    const weeks = await rows({ ...january, groupBy: ["SERVICE"], bucket: "WEEK", filter: { serviceId: [alpha] } });
    // 2026-01-05 is a Monday: the 5th-9th are one week; the week of January 1st (from Monday December 29th) is empty.
    expect(weeks.map((row) => [row.bucketStart, row.created])).toEqual([["2026-01-05T00:00:00.000Z", 5]]);
    const months = await rows({ from: "2025-12-01T00:00:00.000Z", to: "2026-03-01T00:00:00.000Z", bucket: "MONTH", filter: { serviceId: [alpha] } });
    expect(months.map((row) => [row.bucketStart, row.created])).toEqual([
      ["2025-12-01T00:00:00.000Z", 1],
      ["2026-01-01T00:00:00.000Z", 5],
      ["2026-02-01T00:00:00.000Z", 1],
    ]);
  });
});

describe("incidentMetrics: local midnights across daylight-saving changes", () => {
  let dst: string;
  beforeAll(async () => {
    dst = (await createService(server, { name: "DST" })).id;
    for (const created of [
      "2026-03-28T22:59:59.999Z", // Berlin: Saturday 28th, 23:59:59.999 CET
      "2026-03-28T23:00:00.000Z", // Sunday 29th, 00:00 CET (the day clocks go forward: 23 hours)
      "2026-03-29T21:59:59.999Z", // Sunday 29th, 23:59:59.999 CEST
      "2026-03-29T22:00:00.000Z", // Monday 30th, 00:00 CEST
      "2026-10-24T22:00:00.000Z", // Sunday October 25th, 00:00 CEST (clocks go back: 25 hours)
      "2026-10-25T22:59:59.999Z", // Sunday 25th, 23:59:59.999 CET
      "2026-10-25T23:00:00.000Z", // Monday 26th, 00:00 CET
    ]) {
      await seed({ serviceId: dst, created: ms(created), ack: 90 });
    }
  });

  const buckets = async (input: Record<string, unknown>) =>
    (await rows({ filter: { serviceId: [dst] }, ...input })).map((row) => [row.bucketStart, row.created, row.timeToAcknowledge.p50]);

  it("starts Berlin's days at local midnight: 23 hours when clocks go forward, 25 when they go back", async () => {
    expect(await buckets({ from: "2026-03-27T23:00:00.000Z", to: "2026-03-30T22:00:00.000Z", bucket: "DAY", timeZone: "Europe/Berlin" })).toEqual([
      ["2026-03-27T23:00:00.000Z", 1, 90],
      ["2026-03-28T23:00:00.000Z", 2, 90],
      ["2026-03-29T22:00:00.000Z", 1, 90],
    ]);
    expect(await buckets({ from: "2026-10-20T00:00:00.000Z", to: "2026-10-30T00:00:00.000Z", bucket: "DAY", timeZone: "Europe/Berlin" })).toEqual([
      ["2026-10-24T22:00:00.000Z", 2, 90],
      ["2026-10-25T23:00:00.000Z", 1, 90],
    ]);
  });

  it("starts weeks on local Monday midnight, whatever the offset that day", async () => {
    // Monday March 23rd 00:00 CET and Monday March 30th 00:00 CEST.
    expect(await buckets({ from: "2026-03-01T00:00:00.000Z", to: "2026-04-05T00:00:00.000Z", bucket: "WEEK", timeZone: "Europe/Berlin" })).toEqual([
      ["2026-03-22T23:00:00.000Z", 3, 90],
      ["2026-03-29T22:00:00.000Z", 1, 90],
    ]);
    // The same instants in New York (already on EDT since March 8th): all in the week of Monday March 23rd.
    expect(await buckets({ from: "2026-03-01T00:00:00.000Z", to: "2026-04-05T00:00:00.000Z", bucket: "WEEK", timeZone: "America/New_York" })).toEqual([
      ["2026-03-23T04:00:00.000Z", 4, 90],
    ]);
  });

  it("starts months at local midnight of the 1st, in a zone with a half-hour offset", async () => {
    expect(await buckets({ from: "2026-03-01T00:00:00.000Z", to: "2026-11-01T00:00:00.000Z", bucket: "MONTH", timeZone: "Asia/Kolkata" })).toEqual([
      ["2026-02-28T18:30:00.000Z", 4, 90],
      ["2026-09-30T18:30:00.000Z", 3, 90],
    ]);
  });
});

/** The local calendar date of an instant, "YYYY-MM-DD", from Intl alone. */
const localDate = (time: number, timeZone: string) =>
  new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(time);

/** The reference's bucket key: the local date its bucket starts on. */
function bucketDate(time: number, bucket: "DAY" | "WEEK" | "MONTH", timeZone: string): string {
  const date = localDate(time, timeZone);
  if (bucket === "DAY") return date;
  if (bucket === "MONTH") return `${date.slice(0, 8)}01`;
  const noon = Date.parse(`${date}T12:00:00Z`);
  const monday = noon - ((new Date(noon).getUTCDay() + 6) % 7) * 86_400_000;
  return new Date(monday).toISOString().slice(0, 10);
}

const nearest = (sorted: number[], p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
function reference(durations: number[]) {
  if (durations.length === 0) return none;
  const sorted = [...durations].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return stats(sorted.length, mean, nearest(sorted, 50), nearest(sorted, 90), nearest(sorted, 95), sorted.at(-1)!);
}

/** Every incident the filter matches, page by page through the API: the reference works from what the server stores. */
async function everyIncident(filter: Record<string, unknown>, fields: string): Promise<any[]> {
  const PAGE = `query($filter: IncidentFilter, $after: String) { incidents(first: 100, after: $after, filter: $filter) {
    pageInfo { endCursor hasNextPage } nodes { ${fields} } } }`;
  const incidents: any[] = [];
  let after: string | undefined;
  do {
    const page = (await server.gql(PAGE, { filter, after }, viewer.token)).data.incidents;
    incidents.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
  } while (after);
  return incidents;
}

describe("incidentMetrics: recomputed from the incidents' own timestamps", () => {
  it("agrees with a reference over a year of random incidents, by service, in local days, weeks, months and one bucket", async () => {
    const next = seededRandom(20260101);
    const services = [(await createService(server, { name: "Ref one" })).id, (await createService(server, { name: "Ref two" })).id];
    const yearStart = ms("2027-01-01T00:00:00.000Z");
    for (let i = 0; i < 120; i++) {
      const created = yearStart + Math.floor(next() * 365 * 86_400_000);
      const ack = next() < 0.8 ? Math.round(next() * 7200 * 1000) / 1000 : null;
      const resolve = ack !== null && next() < 0.7 ? ack + Math.round(next() * 86_400 * 1000) / 1000 : null;
      const status = resolve === null ? undefined : next() < 0.5 ? ("CLOSED" as const) : ("RESOLVED" as const);
      await seed({ serviceId: services[i % 2]!, created, ack, resolve, status, bySystem: resolve !== null && next() < 0.3 });
    }
    // The server's own rows, read back through the API: the reference works from what it stores.
    const incidents = await everyIncident({ serviceId: services }, "id service { name } status createdAt acknowledgedAt resolvedAt");
    expect(incidents).toHaveLength(120);

    const cases: Array<[string, "DAY" | "WEEK" | "MONTH" | null]> = [
      ["America/Sao_Paulo", "WEEK"],
      ["Europe/London", "MONTH"],
      ["Australia/Lord_Howe", "DAY"],
      ["UTC", null],
    ];
    for (const [timeZone, bucket] of cases) {
      const keyOf = (date: string | null, service: string) => `${date ?? "all"}|${service}`;
      const expected = new Map<string, any[]>();
      for (const incident of incidents) {
        const key = keyOf(bucket && bucketDate(Date.parse(incident.createdAt), bucket, timeZone), incident.service.name);
        expected.set(key, [...(expected.get(key) ?? []), incident]);
      }
      const input = { from: "2027-01-01T00:00:00.000Z", to: "2028-01-01T00:00:00.000Z", groupBy: ["SERVICE"], timeZone, filter: { serviceId: services } };
      const result = await rows(bucket ? { ...input, bucket } : input);
      const dateOf = (row: any) => (row.bucketStart === null ? null : localDate(Date.parse(row.bucketStart), timeZone));
      // Rows in order, each bucket labelled with its first local day, at that day's local midnight.
      expect(result.map((row) => keyOf(dateOf(row), row.service.name))).toEqual([...expected.keys()].sort());
      for (const row of result) {
        const group = expected.get(keyOf(dateOf(row), row.service.name))!;
        if (bucket) expect(localDate(Date.parse(row.bucketStart) - 1, timeZone)).not.toBe(dateOf(row));
        const done = group.filter((incident) => incident.status === "RESOLVED" || incident.status === "CLOSED");
        const seconds = (end: string, start: string) => (Date.parse(end) - Date.parse(start)) / 1000;
        expect(row.created).toBe(group.length);
        expect(row.acknowledged).toBe(group.filter((incident) => incident.acknowledgedAt).length);
        expect(row.resolved).toBe(done.length);
        const ack = reference(group.filter((incident) => incident.acknowledgedAt).map((incident) => seconds(incident.acknowledgedAt, incident.createdAt)));
        const res = reference(done.map((incident) => seconds(incident.resolvedAt, incident.createdAt)));
        for (const [actual, wanted] of [
          [row.timeToAcknowledge, ack],
          [row.timeToResolve, res],
        ]) {
          expect({ ...actual, mean: actual.mean === null ? null : Number(actual.mean.toFixed(6)) }).toEqual({
            ...wanted,
            mean: wanted.mean === null ? null : Number(wanted.mean.toFixed(6)),
          });
        }
      }
    }
  });

  it("agrees with the reference for every grouping, with empty buckets and groups left out", async () => {
    const next = seededRandom(20280101);
    const services = [(await createService(server, { name: "Grouped one" })).id, (await createService(server, { name: "Grouped two" })).id];
    const assignees = [ann.id, bob.id, null];
    const priorities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
    const yearStart = ms("2028-01-01T00:00:00.000Z");
    for (let i = 0; i < 90; i++) {
      // Only the first half of the year: the weeks after it are empty and must give no row.
      const created = yearStart + Math.floor(next() * 180 * 86_400_000);
      const ack = next() < 0.7 ? Math.round(next() * 3600 * 1000) / 1000 : null;
      const resolve = ack !== null && next() < 0.7 ? ack + Math.round(next() * 7200 * 1000) / 1000 : null;
      const serviceId = next() < 0.2 ? null : services[Math.floor(next() * 2)]!;
      const assigneeId = assignees[Math.floor(next() * 3)]!;
      const priority = priorities[Math.floor(next() * 4)]!;
      await seed({ serviceId, assigneeId, priority, created, ack, resolve });
    }
    const incidents = await everyIncident(
      { createdAfter: "2028-01-01T00:00:00.000Z", createdBefore: "2029-01-01T00:00:00.000Z" },
      "service { name } priority assignee { name } status createdAt acknowledgedAt resolvedAt",
    );
    expect(incidents).toHaveLength(90);

    const groupings: string[][] = [[], ["PRIORITY"], ["ASSIGNEE"], ["SERVICE", "PRIORITY", "ASSIGNEE"]];
    for (const groupBy of groupings) {
      for (const bucket of ["WEEK", null] as const) {
        const keyOf = (week: string | null, service: string | null, priority: string | null, assignee: string | null) =>
          JSON.stringify([week, groupBy.includes("SERVICE") ? service : null, groupBy.includes("PRIORITY") ? priority : null, groupBy.includes("ASSIGNEE") ? assignee : null]);
        const expected = new Map<string, any[]>();
        for (const incident of incidents) {
          const week = bucket && bucketDate(Date.parse(incident.createdAt), bucket, "UTC");
          const key = keyOf(week, incident.service?.name ?? null, incident.priority, incident.assignee?.name ?? null);
          expected.set(key, [...(expected.get(key) ?? []), incident]);
        }
        const input = { from: "2028-01-01T00:00:00.000Z", to: "2029-01-01T00:00:00.000Z", groupBy, ...(bucket ? { bucket } : {}) };
        const result = await rows(input);
        const context = `${groupBy.join("+") || "no grouping"} by ${bucket ?? "range"}`;
        const keys = result.map((row) => keyOf(row.bucketStart && row.bucketStart.slice(0, 10), row.service?.name ?? null, row.priority, row.assignee?.name ?? null));
        expect(new Set(keys), context).toEqual(new Set(expected.keys()));
        expect(keys, context).toHaveLength(expected.size);
        for (const [index, row] of result.entries()) {
          const group = expected.get(keys[index]!)!;
          const done = group.filter((incident) => incident.status === "RESOLVED" || incident.status === "CLOSED");
          const seconds = (end: string, start: string) => (Date.parse(end) - Date.parse(start)) / 1000;
          expect([row.created, row.acknowledged, row.resolved], context).toEqual([
            group.length,
            group.filter((incident) => incident.acknowledgedAt).length,
            done.length,
          ]);
          const ack = reference(group.filter((incident) => incident.acknowledgedAt).map((incident) => seconds(incident.acknowledgedAt, incident.createdAt)));
          const res = reference(done.map((incident) => seconds(incident.resolvedAt, incident.createdAt)));
          for (const [actual, wanted] of [
            [row.timeToAcknowledge, ack],
            [row.timeToResolve, res],
          ]) {
            // The server's mean divides an exact integer sum of milliseconds; the reference adds floating seconds.
            expect({ ...actual, mean: null }, context).toEqual({ ...wanted, mean: null });
            if (wanted.mean === null) expect(actual.mean, context).toBeNull();
            else expect(actual.mean, context).toBeCloseTo(wanted.mean, 6);
          }
        }
      }
    }
  });

  it("counts incidents the system resolved when their alerts did, and not those a person resolved", async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const { amKey, serviceId } = await alertSetup(server, { name: "Auto" });
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "auto-1" }], { groupKey: "g-auto" }));
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "auto-1", status: "resolved" }], { groupKey: "g-auto" }));
    const byHand = await server.gql(`mutation($s: ID!) { createIncident(input: { title: "By hand", serviceId: $s }) { id } }`, { s: serviceId }, responder.token);
    for (const status of ["INVESTIGATING", "RESOLVED"]) {
      await server.gql(`mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { id } }`, { id: byHand.data.createIncident.id, status }, responder.token);
    }
    expect((await server.gql(`query($id: ID!) { incident(id: $id) { status } }`, { id: opened.body.incidents[0] }, viewer.token)).data.incident.status).toBe("RESOLVED");
    const to = new Date(Date.now() + 60_000).toISOString();
    const [row] = await rows({ from, to, filter: { serviceId: [serviceId] } });
    expect(row).toMatchObject({ created: 2, acknowledged: 1, resolved: 2, autoResolved: 1 });
  });
});

describe("incidentMetrics: bad input", () => {
  const codeOf = async (input: Record<string, unknown>) => {
    const result = await metrics(input);
    return result.errors ? [result.status < 500, onlyError(result).extensions?.code, onlyError(result).extensions?.field] : [true, "OK"];
  };

  it("refuses from >= to, a range over 366 days and unknown time zones with BAD_USER_INPUT", async () => {
    const from = "2026-01-01T00:00:00.000Z";
    expect(await codeOf({ from, to: from })).toEqual([true, "BAD_USER_INPUT", "from"]);
    expect(await codeOf({ from: "2026-02-01T00:00:00.000Z", to: from })).toEqual([true, "BAD_USER_INPUT", "from"]);
    expect(await codeOf({ from, to: "2027-01-02T00:00:00.001Z" })).toEqual([true, "BAD_USER_INPUT", "to"]);
    expect(await codeOf({ from, to: "2027-01-02T00:00:00.000Z", bucket: "DAY" })).toEqual([true, "OK"]);
    for (const timeZone of ["Mars/Olympus_Mons", "", "+02:00", "Europe/Berlin ", "../../etc/passwd", "x".repeat(10_000)]) {
      expect(await codeOf({ from, to: "2026-01-02T00:00:00.000Z", timeZone })).toEqual([true, "BAD_USER_INPUT", "timeZone"]);
    }
    expect(await codeOf({ from, to: "2026-01-02T00:00:00.000Z", timeZone: "Pacific/Chatham", bucket: "DAY" })).toEqual([true, "OK"]);
  });

  it("refuses an answer of more than 5,000 rows, and says how to narrow it", async () => {
    // 14 services x 366 days of 2029: 5,124 groups, one incident each, written in one statement.
    const days = onPostgres ? "SELECT generate_series(0, 365) AS day" : "WITH RECURSIVE d(day) AS (SELECT 0 UNION ALL SELECT day + 1 FROM d WHERE day < 365) SELECT day FROM d";
    const now = onPostgres ? "now()" : String(Date.now());
    await server.db.exec(`INSERT INTO services (name, name_key, created_at, updated_at)
      SELECT 'Bulk ' || day, 'bulk ' || day, ${now}, ${now} FROM (${days}) AS s WHERE day < 14`);
    const created = onPostgres ? "timestamptz '2029-01-01 12:00:00Z' + d.day * interval '1 day'" : `${Date.parse("2029-01-01T12:00:00Z")} + d.day * 86400000`;
    await server.db.exec(`INSERT INTO incidents (title, status, priority, service_id, created_at, updated_at)
      SELECT 'Bulk', 'OPEN', 'LOW', s.id, ${created}, ${created} FROM services AS s CROSS JOIN (${days}) AS d WHERE s.name LIKE 'Bulk %'`);
    const year = { from: "2029-01-01T00:00:00.000Z", to: "2030-01-01T00:00:00.000Z" };
    expect(await codeOf({ ...year, groupBy: ["SERVICE"], bucket: "DAY" })).toEqual([true, "BAD_USER_INPUT", "groupBy"]);
    expect((await rows({ ...year, groupBy: ["SERVICE"], bucket: "WEEK" })).length).toBe(14 * 53);
  });

  it("is for signed-in users of every role", async () => {
    const anonymous = await server.gql(`{ incidentMetrics(input: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }) { created } }`);
    expect(onlyError(anonymous).extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("answers any generated range, zone, bucket and grouping with data or BAD_USER_INPUT, never a 500", async () => {
    const instant = fc.integer({ min: Date.parse("1900-01-01T00:00:00Z"), max: Date.parse("2200-01-01T00:00:00Z") });
    const zones = fc.oneof(
      fc.constantFrom(...Intl.supportedValuesOf("timeZone"), "UTC", "Etc/GMT+12", "Etc/GMT-14", "America/Santiago", "Asia/Beirut"),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(
        instant,
        fc.integer({ min: -10 * 86_400_000, max: 400 * 86_400_000 }),
        zones,
        fc.option(fc.constantFrom("DAY", "WEEK", "MONTH"), { nil: undefined }),
        fc.subarray(["SERVICE", "PRIORITY", "ASSIGNEE"]),
        async (from, length, timeZone, bucket, groupBy) => {
          const input = { from: new Date(from).toISOString(), to: new Date(from + length).toISOString(), timeZone, bucket, groupBy };
          const result = await metrics(input);
          expect(result.status).toBeLessThan(500);
          if (result.errors) {
            expect(onlyError(result).extensions?.code).toBe("BAD_USER_INPUT");
          } else {
            expect(length).toBeGreaterThan(0);
            expect(length).toBeLessThanOrEqual(366 * 86_400_000);
            for (const row of result.data.incidentMetrics) expect(row.created).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
