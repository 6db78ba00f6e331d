import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  alertmanagerPayload,
  alertSetup,
  countRows,
  type AmAlert,
  enqueue,
  eventAction,
  incidentWithAlerts,
  post,
  sendAlertmanager,
  triggerEvent,
} from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { onPostgres } from "./support/database.js";
import { alertStatements } from "../src/modules/alerts/alert-statements.js";
import { postgresDialect, sqliteDialect } from "../src/db/sql-work.js";

// Section 9's rules, over real HTTP, on the backend under test (TEST_DATABASE).

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const resolveIncident = async (id: string) => {
  for (const status of ["INVESTIGATING", "RESOLVED"]) {
    const result = await server.gql(
      `mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { status } }`,
      { id, status },
      server.admin.token,
    );
    expect(result.errors).toBeUndefined();
  }
};

describe("Alertmanager webhook", () => {
  it("opens one incident for a firing group, titled and prioritised from the alert, with no reporter", async () => {
    const { amKey, serviceId } = await alertSetup(server);
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload([{}, {}]));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok", alerts: 2, incidents: [expect.any(String)] });
    const incident = await incidentWithAlerts(server, answer.body.incidents[0]);
    expect(incident).toMatchObject({
      title: "Latency above 2s on web-0",
      description: "p99 latency over the SLO for 5 minutes",
      status: "OPEN",
      priority: "CRITICAL",
      reporter: null,
      service: { id: serviceId },
      labels: [
        { key: "alertname", value: "HighLatency" },
        { key: "instance", value: "web-0:9100" },
        { key: "job", value: "node" },
        { key: "severity", value: "critical" },
      ],
    });
    expect(incident.alerts.totalCount).toBe(2);
    expect(incident.alerts.nodes[0]).toMatchObject({
      fingerprint: "fp00000000000000",
      status: "FIRING",
      severity: "CRITICAL",
      eventCount: 1,
      startsAt: "2026-11-30T01:00:00.000Z",
      generatorUrl: "http://prometheus.example:9090/graph?g0.expr=latency",
      integration: { kind: "ALERTMANAGER" },
      incident: { id: incident.id },
    });
    expect(incident.logs.nodes.map((log: any) => [log.kind, log.author])).toEqual([
      ["ALERT", null],
      ["ALERT", null],
    ]);
  });

  it("deduplicates a repeated notification into the same alert: no new alert, incident or entry", async () => {
    const { amKey } = await alertSetup(server);
    const payload = alertmanagerPayload([{}]);
    const first = await sendAlertmanager(server, amKey, payload);
    const [before, logsBefore] = [await countRows(server, "alerts"), await countRows(server, "incident_logs")];
    const incidentsBefore = await countRows(server, "incidents");
    for (let i = 0; i < 3; i++) {
      const again = await sendAlertmanager(server, amKey, { ...payload, alerts: [{ ...payload.alerts[0], annotations: { summary: `now ${i}` } }] });
      expect(again.body.incidents).toEqual(first.body.incidents);
    }
    expect(await countRows(server, "alerts")).toBe(before);
    expect(await countRows(server, "incidents")).toBe(incidentsBefore);
    expect(await countRows(server, "incident_logs")).toBe(logsBefore);
    const incident = await incidentWithAlerts(server, first.body.incidents[0]);
    expect(incident.alerts.nodes[0]).toMatchObject({ eventCount: 4, summary: "now 2" });
  });

  it("groups alerts that come with the same groupKey, and opens another incident for another group", async () => {
    const { amKey } = await alertSetup(server);
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "a1" }], { groupKey: "g1" }));
    const same = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "a2" }], { groupKey: "g1" }));
    const other = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "a3" }], { groupKey: "g2" }));
    expect(same.body.incidents).toEqual(first.body.incidents);
    expect(other.body.incidents[0]).not.toBe(first.body.incidents[0]);
  });

  it("reads each alert's own status in a mixed group, never the top-level one", async () => {
    const { amKey } = await alertSetup(server);
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}, {}]));
    const mixed = alertmanagerPayload([{}, { status: "resolved", endsAt: "2026-11-30T01:10:00.123Z" }], { status: "firing" });
    const answer = await sendAlertmanager(server, amKey, mixed);
    expect(answer.status).toBe(200);
    const incident = await incidentWithAlerts(server, opened.body.incidents[0]);
    expect(incident.alerts.nodes.map((alert: any) => [alert.status, alert.resolvedAt])).toEqual([
      ["FIRING", null],
      ["RESOLVED", "2026-11-30T01:10:00.123Z"],
    ]);
    expect(incident.status).toBe("OPEN");
  });

  it("dates a resolution with an endsAt in the future (a sender's clock ahead of ours) no later than its receipt", async () => {
    const { amKey } = await alertSetup(server);
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}, {}]));
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const sent = Date.now();
    expect((await sendAlertmanager(server, amKey, alertmanagerPayload([{ status: "resolved", endsAt: future }, { status: "resolved" }]))).status).toBe(200);
    const received = Date.now();
    const incident = await incidentWithAlerts(server, opened.body.incidents[0]);
    for (const alert of incident.alerts.nodes) {
      const at = Date.parse(alert.resolvedAt);
      expect(at).toBeGreaterThanOrEqual(sent - 1_000);
      expect(at).toBeLessThanOrEqual(received);
    }
    expect(Date.parse(incident.resolvedAt)).toBeGreaterThanOrEqual(Math.max(...incident.alerts.nodes.map((alert: any) => Date.parse(alert.resolvedAt))));
  });

  it("auto-resolves the incident when its last firing alert resolves (system author, acknowledgedAt kept)", async () => {
    const { amKey } = await alertSetup(server);
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}, {}]));
    const resolved = alertmanagerPayload([{ status: "resolved" }, { status: "resolved" }]);
    expect((await sendAlertmanager(server, amKey, resolved)).status).toBe(200);
    const incident = await incidentWithAlerts(server, opened.body.incidents[0]);
    expect(incident).toMatchObject({ status: "RESOLVED", acknowledgedAt: null, version: 2 });
    expect(incident.resolvedAt).not.toBeNull();
    const change = incident.logs.nodes.find((log: any) => log.kind === "STATUS_CHANGE");
    expect(change).toMatchObject({ fromStatus: "OPEN", toStatus: "RESOLVED", author: null });
    expect(incident.logs.nodes.filter((log: any) => log.kind === "ALERT")).toHaveLength(4);
  });

  it("leaves the incident open when the service does not auto-resolve", async () => {
    const { amKey } = await alertSetup(server, { autoResolve: false });
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}]));
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ status: "resolved" }]));
    const incident = await incidentWithAlerts(server, opened.body.incidents[0]);
    expect(incident.status).toBe("OPEN");
    expect(incident.alerts.nodes[0].status).toBe("RESOLVED");
  });

  it("never attaches to a resolved incident: the next firing opens a new one", async () => {
    const { amKey } = await alertSetup(server);
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([{}]));
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ status: "resolved" }]));
    const again = await sendAlertmanager(server, amKey, alertmanagerPayload([{}]));
    expect(again.body.incidents[0]).not.toBe(first.body.incidents[0]);
    expect((await incidentWithAlerts(server, again.body.incidents[0])).status).toBe("OPEN");
  });

  it("within one payload, a group whose incident the system resolves opens a new one for its next firing alert", async () => {
    const { amKey } = await alertSetup(server);
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "x" }], { groupKey: "one-payload" }));
    const mixed = alertmanagerPayload(
      [{ fingerprint: "a" }, { fingerprint: "a", status: "resolved" }, { fingerprint: "x", status: "resolved" }, { fingerprint: "z" }],
      { groupKey: "one-payload" },
    );
    const answer = await sendAlertmanager(server, amKey, mixed);
    expect(answer.status).toBe(200);
    expect(answer.body.incidents).toHaveLength(2);
    expect(answer.body.incidents[0]).toBe(first.body.incidents[0]);
    const [resolved, opened] = await Promise.all(answer.body.incidents.map((id: string) => incidentWithAlerts(server, id)));
    expect(resolved.status).toBe("RESOLVED");
    expect(resolved.alerts.nodes.map((alert: any) => alert.fingerprint)).toEqual(["x", "a"]);
    expect(opened.status).toBe("OPEN");
    expect(opened.alerts.nodes.map((alert: any) => alert.fingerprint)).toEqual(["z"]);
  });

  it("accepts and ignores a resolved-only notification: no incident is opened", async () => {
    const { amKey } = await alertSetup(server);
    const incidents = await countRows(server, "incidents");
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload([{ status: "resolved" }]));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok", alerts: 1, incidents: [] });
    expect(await countRows(server, "incidents")).toBe(incidents);
  });

  it("uses a hash of the sorted labels when an alert has no fingerprint, and tolerates fields it does not know", async () => {
    const { amKey } = await alertSetup(server);
    const alert = { fingerprint: undefined, labels: { b: "2", alertname: "NoPrint", a: "1" }, newField: { x: 1 } };
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([alert], { futureField: [1, 2] }));
    const reordered = { ...alert, labels: { a: "1", alertname: "NoPrint", b: "2" } };
    const second = await sendAlertmanager(server, amKey, alertmanagerPayload([reordered]));
    expect(first.status).toBe(200);
    expect(second.body.incidents).toEqual(first.body.incidents);
    const incident = await incidentWithAlerts(server, first.body.incidents[0]);
    expect(incident.alerts.nodes).toHaveLength(1);
    expect(incident.alerts.nodes[0].eventCount).toBe(2);
    expect(incident.priority).toBe("MEDIUM"); // no severity label: warning
  });

  it("keeps only the labels that fit the incident rules on a new incident", async () => {
    const { amKey } = await alertSetup(server);
    const labels: Record<string, string> = { alertname: "Many", "Bad-Key": "x", long: "v".repeat(201) };
    for (let i = 0; i < 30; i++) labels[`k${String(i).padStart(2, "0")}`] = String(i);
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload([{ labels }]));
    const incident = await incidentWithAlerts(server, answer.body.incidents[0]);
    expect(incident.labels).toHaveLength(20);
    expect(incident.labels[0]).toEqual({ key: "alertname", value: "Many" });
    expect(incident.labels.some((label: any) => label.key === "Bad-Key" || label.key === "long")).toBe(false);
    expect(incident.alerts.nodes[0].labels).toHaveLength(33);
  });
});

describe("Events API v2", () => {
  it("answers 202 with the dedup_key, deduplicates triggers, and maps payload fields to labels", async () => {
    const { v2Key } = await alertSetup(server);
    const first = await enqueue(server, triggerEvent(v2Key, { dedupKey: "disk-db7" }));
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ status: "success", message: "Event processed", dedup_key: "disk-db7" });
    const again = await enqueue(server, triggerEvent(v2Key, { dedupKey: "disk-db7", summary: "Disk 95% full on db-7" }));
    expect(again.status).toBe(202);
    const id = (await server.db.query<{ incident_id: unknown }>("SELECT incident_id FROM alerts WHERE fingerprint = 'disk-db7'"))[0]!.incident_id;
    const incident = await incidentWithAlerts(server, String(id));
    expect(incident).toMatchObject({ title: "Disk 91% full on db-7", priority: "HIGH", reporter: null });
    expect(incident.alerts.nodes).toHaveLength(1);
    expect(incident.alerts.nodes[0]).toMatchObject({ eventCount: 2, summary: "Disk 95% full on db-7", source: "db-7.prod.example", severity: "ERROR" });
    expect(incident.alerts.nodes[0].labels).toEqual([
      { key: "class", value: "disk" },
      { key: "component", value: "postgres" },
      { key: "free bytes", value: "1024" },
      { key: "group", value: "storage" },
      { key: "mount", value: "/var/lib/postgresql" },
      { key: "source", value: "db-7.prod.example" },
    ]);
  });

  it("gives a trigger without a dedup_key a new key, returned in the answer", async () => {
    const { v2Key } = await alertSetup(server);
    const first = await enqueue(server, triggerEvent(v2Key));
    const second = await enqueue(server, triggerEvent(v2Key));
    expect(first.body.dedup_key).toMatch(/^[0-9a-f]{32}$/);
    expect(second.body.dedup_key).not.toBe(first.body.dedup_key);
    expect(await countRows(server, "alerts", `WHERE fingerprint IN ('${first.body.dedup_key}', '${second.body.dedup_key}')`)).toBe(2);
  });

  it("acknowledge moves an OPEN incident to INVESTIGATING; resolve resolves it", async () => {
    const { v2Key } = await alertSetup(server);
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "cpu-1", severity: "critical" }));
    const ack = await enqueue(server, eventAction(v2Key, "acknowledge", "cpu-1"));
    expect(ack.status).toBe(202);
    expect(ack.body.dedup_key).toBe("cpu-1");
    const id = String((await server.db.query<{ incident_id: unknown }>("SELECT incident_id FROM alerts WHERE fingerprint = 'cpu-1'"))[0]!.incident_id);
    let incident = await incidentWithAlerts(server, id);
    expect(incident).toMatchObject({ status: "INVESTIGATING", priority: "CRITICAL" });
    expect(incident.acknowledgedAt).not.toBeNull();
    expect((await enqueue(server, eventAction(v2Key, "resolve", "cpu-1"))).status).toBe(202);
    incident = await incidentWithAlerts(server, id);
    expect(incident.status).toBe("RESOLVED");
    expect(incident.acknowledgedAt).not.toBeNull();
  });

  it("accepts and ignores acknowledge and resolve for a key with no firing alert", async () => {
    const { v2Key } = await alertSetup(server);
    const incidents = await countRows(server, "incidents");
    expect((await enqueue(server, eventAction(v2Key, "resolve", "never-fired"))).status).toBe(202);
    expect((await enqueue(server, eventAction(v2Key, "acknowledge", "never-fired"))).status).toBe(202);
    expect(await countRows(server, "incidents")).toBe(incidents);
  });

  it("groups by the service's label window: the same cluster joins, another cluster opens its own", async () => {
    const { v2Key } = await alertSetup(server, { alertGrouping: { labels: ["cluster"], windowSeconds: 600 } });
    const send = (key: string, cluster: string) => enqueue(server, triggerEvent(v2Key, { dedupKey: key, details: { cluster } }));
    await send("w1", "eu-1");
    await send("w2", "eu-1");
    await send("w3", "us-2");
    const rows = await server.db.query<{ fingerprint: string; incident_id: unknown }>(
      "SELECT fingerprint, incident_id FROM alerts WHERE fingerprint IN ('w1', 'w2', 'w3') ORDER BY fingerprint",
    );
    const [w1, w2, w3] = rows.map((row) => String(row.incident_id));
    expect(w2).toBe(w1);
    expect(w3).not.toBe(w1);
  });

  it("groups by new grouping labels at once, matching alerts received before the change", async () => {
    const { v2Key, serviceId } = await alertSetup(server, { alertGrouping: { labels: ["cluster"], windowSeconds: 600 } });
    const send = (key: string, details: Record<string, string>) => enqueue(server, triggerEvent(v2Key, { dedupKey: key, details }));
    await send("regroup-1", { cluster: "eu-1", host: "db-7" });
    const changed = await server.gql(
      `mutation($id: ID!) { updateService(id: $id, input: { alertGrouping: { labels: ["host"], windowSeconds: 600 } }) { id } }`,
      { id: serviceId },
      server.admin.token,
    );
    expect(changed.errors).toBeUndefined();
    // Same host, another cluster: grouped by the host now, with the alert that came before the change.
    await send("regroup-2", { cluster: "us-2", host: "db-7" });
    await send("regroup-3", { cluster: "eu-1", host: "db-8" });
    const rows = await server.db.query<{ incident_id: unknown }>(
      "SELECT incident_id FROM alerts WHERE fingerprint IN ('regroup-1', 'regroup-2', 'regroup-3') ORDER BY fingerprint",
    );
    const [first, second, third] = rows.map((row) => String(row.incident_id));
    expect(second).toBe(first);
    expect(third).not.toBe(first);
  });

  it("finds a window's group by its stored values, whatever else the window holds", async () => {
    const { v2Key, serviceId } = await alertSetup(server, { alertGrouping: { labels: ["cluster", "zone"], windowSeconds: 600 } });
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "stored-1", details: { cluster: "eu-1", zone: "a" } }));
    const stored = await server.db.query<{ group_values: string }>("SELECT group_values FROM alerts WHERE fingerprint = 'stored-1'");
    expect(JSON.parse(stored[0]!.group_values)).toEqual([
      ["cluster", "eu-1"],
      ["zone", "a"],
    ]);
    // An alert lacking a grouping label stores null for it, as the lookup compares it.
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "stored-2", details: { cluster: "eu-1" } }));
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "stored-3", details: { cluster: "eu-1" } }));
    const rows = await server.db.query<{ fingerprint: string; incident_id: unknown; group_values: string }>(
      `SELECT fingerprint, incident_id, group_values FROM alerts WHERE service_id = ${Number(serviceId)} ORDER BY fingerprint`,
    );
    expect(JSON.parse(rows[1]!.group_values)).toEqual([
      ["cluster", "eu-1"],
      ["zone", null],
    ]);
    expect(String(rows[1]!.incident_id)).not.toBe(String(rows[0]!.incident_id));
    expect(String(rows[2]!.incident_id)).toBe(String(rows[1]!.incident_id));
  });

  // SQLite's plan (PostgreSQL's planner reads a table this small sequentially, whatever the indexes).
  it.skipIf(onPostgres)("looks the window's group up by an index seek on the stored values, not a walk of the window", async () => {
    const statement = alertStatements(sqliteDialect).windowIncident(1);
    const params = [1, '[["cluster","eu-1"]]', 0, 1, 0, '$."cluster"', "eu-1"];
    const plan = await server.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${statement.text}`, params);
    expect(plan.map((row) => row.detail)).toContainEqual(
      expect.stringMatching(/alerts_group_values_active_idx \(service_id=\? AND group_values=\? AND received_at>\?\)/),
    );
  });

  it("keeps a flapping group's alerts of resolved incidents out of the grouping lookups' reach", async () => {
    const { amKey, serviceId } = await alertSetup(server, { autoResolve: true, alertGrouping: { labels: ["alertname"], windowSeconds: 3600 } });
    const groupKey = '{}:{alertname="Flappy"}';
    // 150 flaps in one request: each firing opens an incident, its resolution resolves it.
    const flaps = Array.from({ length: 150 }, (_, i): AmAlert[] => [
      { fingerprint: `flap-${i}`, labels: { alertname: "Flappy" } },
      { fingerprint: `flap-${i}`, labels: { alertname: "Flappy" }, status: "resolved", endsAt: "2026-11-30T01:05:00.000Z" },
    ]).flat();
    expect((await sendAlertmanager(server, amKey, alertmanagerPayload(flaps, { groupKey }))).status).toBe(200);
    const where = `WHERE service_id = ${Number(serviceId)} AND group_key = '{}:{alertname="Flappy"}'`;
    expect(await countRows(server, "alerts", where)).toBe(150);
    expect(await countRows(server, "incidents", `WHERE service_id = ${Number(serviceId)} AND status = 'RESOLVED'`)).toBe(150);
    // What the lookups' partial indexes hold: none of them.
    expect(await countRows(server, "alerts", `${where} AND incident_active = 1`)).toBe(0);

    const again = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "flap-new", labels: { alertname: "Flappy" } }], { groupKey }));
    expect(await countRows(server, "incidents", `WHERE id = ${Number(again.body.incidents[0])} AND status = 'OPEN'`)).toBe(1);
    expect(await countRows(server, "alerts", `${where} AND incident_active = 1`)).toBe(1);
    // The next firing of the group joins it, through that one entry.
    const next = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "flap-next", labels: { alertname: "Flappy" } }], { groupKey }));
    expect(next.body.incidents).toEqual(again.body.incidents);
  });

  // SQLite's plan: both lookups seek partial indexes of alerts of active incidents only.
  it.skipIf(onPostgres)("looks groups up only among alerts of active incidents (partial indexes)", async () => {
    const q = alertStatements(sqliteDialect);
    const detail = async (text: string, params: unknown[]) =>
      (await server.db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)).map((row) => row.detail).join("\n");
    expect(await detail(q.groupKeyIncident.text, [1, "g"])).toMatch(/SEARCH a USING (COVERING )?INDEX alerts_group_key_active_idx \(service_id=\? AND group_key=\?\)/);
    const window = await detail(q.windowIncident(1).text, [1, '[["cluster","eu-1"]]', 0, 1, 0, '$."cluster"', "eu-1"]);
    expect(window).toMatch(/alerts_group_values_active_idx \(service_id=\? AND group_values=\? AND received_at>\?\)/);
  });

  it.runIf(onPostgres)("looks groups up only among alerts of active incidents (partial indexes, PostgreSQL)", async () => {
    const q = alertStatements(postgresDialect);
    // A test database is too small for the planner to prefer any index; with sequential scans priced out, it
    // still has to pick among the indexes, and the lookups must be able to use their partial ones.
    await server.db.exec("SET enable_seqscan = off");
    try {
      const plan = async (text: string, params: unknown[]) =>
        (await server.db.query<{ "QUERY PLAN": string }>(`EXPLAIN ${text}`, params)).map((row) => row["QUERY PLAN"]).join("\n");
      expect(await plan(q.groupKeyIncident.text, [1, "g"])).toMatch(/Index (Only )?Scan (Backward )?using alerts_group_key_active_idx on alerts a/);
      const window = await plan(q.windowIncident(1).text, [1, '[["cluster","eu-1"]]', new Date(0), 1, new Date(0), "cluster", "eu-1"]);
      expect(window).toMatch(/Index (Only )?Scan (Backward )?using alerts_group_values_active_idx on alerts a/);
    } finally {
      await server.db.exec("RESET enable_seqscan");
    }
  });

  it("keeps alerts.incident_active in step with the incident through resolution, reopening, merges and auto-resolve", async () => {
    const { v2Key, serviceId } = await alertSetup(server, { autoResolve: true });
    const open = async (dedupKey: string) => {
      await enqueue(server, triggerEvent(v2Key, { dedupKey }));
      const rows = await server.db.query<{ incident_id: unknown }>(`SELECT incident_id FROM alerts WHERE fingerprint = '${dedupKey}'`);
      return String(rows[0]!.incident_id);
    };
    const active = async (id: string) => {
      const rows = await server.db.query<{ a: unknown }>(`SELECT incident_active AS a FROM alerts WHERE incident_id = ${Number(id)}`);
      return rows.map((row) => Number(row.a));
    };
    const status = async (id: string, to: string) => {
      const result = await server.gql(
        `mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { status } }`,
        { id, status: to },
        server.admin.token,
      );
      expect(result.errors).toBeUndefined();
    };
    const first = await open("step-1");
    expect(await active(first)).toEqual([1]);
    await resolveIncident(first);
    expect(await active(first)).toEqual([0]);
    await status(first, "INVESTIGATING"); // reopened
    expect(await active(first)).toEqual([1]);
    await status(first, "RESOLVED");
    // Merged into a resolved incident: the moved alerts stay out of reach; into an active one, they come in.
    const second = await open("step-2");
    const merge = (targetId: string, sourceIds: string[]) =>
      server.gql(`mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`, { t: targetId, s: sourceIds }, server.admin.token);
    expect((await merge(first, [second])).errors).toBeUndefined();
    expect(await active(first)).toEqual([0, 0]);
    const third = await open("step-3");
    const fourth = await open("step-4");
    expect(fourth).not.toBe(third);
    await resolveIncident(fourth);
    expect((await merge(third, [fourth])).errors).toBeUndefined();
    expect(await active(third)).toEqual([1, 1]);
    // Auto-resolve: the last firing alert resolves the incident.
    await enqueue(server, eventAction(v2Key, "resolve", "step-3"));
    expect(await countRows(server, "incidents", `WHERE id = ${Number(third)} AND status = 'RESOLVED'`)).toBe(1);
    expect(await active(third)).toEqual([0, 0]);
    expect(await countRows(server, "alerts", `WHERE service_id = ${Number(serviceId)} AND incident_active = 1`)).toBe(0);
  });

  it("groups any alert of the service within the window when no labels are named", async () => {
    const { v2Key } = await alertSetup(server, { alertGrouping: { labels: [], windowSeconds: 60 } });
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "any-1" }));
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "any-2", summary: "Something else" }));
    expect(await server.db.scalar("SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint IN ('any-1', 'any-2')")).toBe(1);
  });
});

// Random, so that PostgreSQL cannot compress an index entry under its limit; the last character is what differs.
const randomText = (length: number) => randomBytes(length).toString("base64").slice(0, length);
const lastChanged = (text: string) => text.slice(0, -1) + (text.endsWith("A") ? "B" : "A");

describe("texts cut to their limits", () => {
  // An emoji is two UTF-16 units: a cut between them left half of it, and the notification was refused.
  const fire = "\u{1F525}";

  it("cuts an Alertmanager summary before an emoji that straddles the title's limit, taking the notification", async () => {
    const { amKey } = await alertSetup(server);
    const summary = `${"x".repeat(199)}${fire} disk full`;
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload([{ annotations: { summary } }], { groupKey: "{}:{cut=1}" }));
    expect(answer.status).toBe(200);
    expect((await incidentWithAlerts(server, answer.body.incidents[0])).title).toBe("x".repeat(199));
  });

  it("keeps an emoji that ends exactly at the limit", async () => {
    const { amKey } = await alertSetup(server);
    const answer = await sendAlertmanager(server, amKey, alertmanagerPayload([{ annotations: { summary: `${"y".repeat(198)}${fire}tail` } }], { groupKey: "{}:{cut=2}" }));
    expect(answer.status).toBe(200);
    expect((await incidentWithAlerts(server, answer.body.incidents[0])).title).toBe(`${"y".repeat(198)}${fire}`);
  });

  it("cuts an Events v2 summary before an emoji at its 1,024-unit limit and at the title's 200", async () => {
    const { v2Key } = await alertSetup(server);
    const atSummaryLimit = await enqueue(server, triggerEvent(v2Key, { dedupKey: "cut-1024", summary: `${"s".repeat(1_023)}${fire}` }));
    expect(atSummaryLimit.status).toBe(202);
    const atTitleLimit = await enqueue(server, triggerEvent(v2Key, { dedupKey: "cut-200", summary: `${"t".repeat(199)}${fire} more` }));
    expect(atTitleLimit.status).toBe(202);
    const [alert] = await server.db.query<{ summary: string }>("SELECT summary FROM alerts WHERE fingerprint = 'cut-1024'");
    expect(alert!.summary).toBe("s".repeat(1_023));
    const id = (await server.db.query<{ incident_id: unknown }>("SELECT incident_id FROM alerts WHERE fingerprint = 'cut-200'"))[0]!.incident_id;
    expect((await incidentWithAlerts(server, String(id))).title).toBe("t".repeat(199));
  });
});

describe("grouping by long values", () => {
  const incidentOf = async (fingerprint: string) =>
    String((await server.db.query<{ incident_id: unknown }>("SELECT incident_id FROM alerts WHERE fingerprint = ?", [fingerprint]))[0]?.incident_id);
  // PostgreSQL refuses a btree entry past about 2.7 KB: what the grouping indexes hold stays well under it.
  const longestStored = async (serviceId: string) =>
    Number(await server.db.scalar(`SELECT max(length(group_key)) + max(length(group_values)) FROM alerts WHERE service_id = ${Number(serviceId)}`));

  it("accepts a groupKey of any length, and groups by all of it", async () => {
    const { amKey, serviceId } = await alertSetup(server);
    for (const length of [3_000, 100_000]) {
      const groupKey = randomText(length);
      const send = (fingerprint: string, key: string) => sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint }], { groupKey: key }));
      const first = await send(`gk${length}-1`, groupKey);
      const same = await send(`gk${length}-2`, groupKey);
      const other = await send(`gk${length}-3`, lastChanged(groupKey));
      expect([first.status, same.status, other.status]).toEqual([200, 200, 200]);
      expect(same.body.incidents).toEqual(first.body.incidents);
      expect(other.body.incidents).not.toEqual(first.body.incidents);
      const stored = await Promise.all([1, 2, 3].map((n) => incidentOf(`gk${length}-${n}`)));
      expect(stored).toEqual([first.body.incidents[0], first.body.incidents[0], other.body.incidents[0]]);
    }
    expect(await longestStored(serviceId)).toBeLessThanOrEqual(1_100);
  });

  it("accepts grouping label values of 1,000 characters on both hooks, and groups by all of them", async () => {
    const { amKey, v2Key, serviceId } = await alertSetup(server, { alertGrouping: { labels: ["a", "b", "c"], windowSeconds: 300 } });
    const values = { a: randomText(1_000), b: randomText(1_000), c: randomText(1_000) };
    const other = { ...values, c: lastChanged(values.c) };
    // A groupKey of its own each: only the values can group them.
    const am = (fingerprint: string, labels: Record<string, string>) =>
      sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint, labels: { alertname: "Long", ...labels } }], { groupKey: fingerprint }));
    const ev = (dedupKey: string, details: Record<string, string>) => enqueue(server, triggerEvent(v2Key, { dedupKey, details }));
    expect((await am("gv-am-1", values)).status).toBe(200);
    expect((await ev("gv-ev-1", values)).status).toBe(202);
    expect((await am("gv-am-2", other)).status).toBe(200);
    expect((await ev("gv-ev-2", other)).status).toBe(202);
    const [am1, ev1, am2, ev2] = await Promise.all(["gv-am-1", "gv-ev-1", "gv-am-2", "gv-ev-2"].map(incidentOf));
    expect(am1).not.toBe("undefined");
    expect(ev1).toBe(am1);
    expect(ev2).toBe(am2);
    expect(am2).not.toBe(am1);
    expect(await longestStored(serviceId)).toBeLessThanOrEqual(1_100);
  });

  it("still groups with an alert whose row holds a long groupKey and values as they are, as rows written before did", async () => {
    const { amKey } = await alertSetup(server, { alertGrouping: { labels: ["a", "b"], windowSeconds: 300 } });
    const groupKey = randomText(2_000);
    const labels = { alertname: "Legacy", a: randomText(800), b: randomText(800) };
    const first = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "legacy-1", labels }], { groupKey }));
    // Base64 and JSON quotes only: safe inside SQL literals.
    const values = JSON.stringify([["a", labels.a], ["b", labels.b]]);
    await server.db.exec(`UPDATE alerts SET group_key = '${groupKey}', group_values = '${values}' WHERE fingerprint = 'legacy-1'`);
    const byKey = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "legacy-2", labels: { alertname: "Legacy" } }], { groupKey }));
    const byValues = await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "legacy-3", labels }], { groupKey: "another" }));
    expect(byKey.body.incidents).toEqual(first.body.incidents);
    expect(byValues.body.incidents).toEqual(first.body.incidents);
  });
});

describe("alerts and people", () => {
  const alertRows = (fingerprint: string) =>
    server.db.query<{ incident_id: unknown; status: string; event_count: unknown }>(
      `SELECT incident_id, status, event_count FROM alerts WHERE fingerprint = '${fingerprint}' ORDER BY id`,
    );
  const merge = async (targetId: string, sourceIds: string[]) => {
    const result = await server.gql(`mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`, { t: targetId, s: sourceIds }, server.admin.token);
    expect(result.errors).toBeUndefined();
  };

  it("a merge into a resolved incident resolves the firing alerts it moves; their next firing opens an active incident", async () => {
    const { v2Key } = await alertSetup(server);
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "into-resolved-1" }));
    const resolved = String((await alertRows("into-resolved-1"))[0]!.incident_id);
    await resolveIncident(resolved);
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "into-resolved-2" }));
    const source = String((await alertRows("into-resolved-2"))[0]!.incident_id);
    expect(source).not.toBe(resolved);
    await merge(resolved, [source]);
    const merged = await incidentWithAlerts(server, resolved);
    expect(merged.status).toBe("RESOLVED");
    expect(merged.alerts.nodes.map((alert: { status: string }) => alert.status)).toEqual(["RESOLVED", "RESOLVED"]);
    expect(merged.logs.nodes.at(-1)).toMatchObject({ kind: "ALERT", author: null, message: expect.stringContaining("merged into a resolved incident") });

    await enqueue(server, triggerEvent(v2Key, { dedupKey: "into-resolved-2" }));
    const rows = await alertRows("into-resolved-2");
    expect(rows.map((row) => [row.status, Number(row.event_count)])).toEqual([["RESOLVED", 1], ["FIRING", 1]]);
    const fresh = String(rows[1]!.incident_id);
    expect(fresh).not.toBe(resolved);
    expect((await incidentWithAlerts(server, fresh)).status).toBe("OPEN");
  });

  it("a firing alert stranded on an incident that is no longer active is resolved there, and its next firing opens an active incident", async () => {
    const { v2Key } = await alertSetup(server);
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "stranded-1" }));
    const stale = String((await alertRows("stranded-1"))[0]!.incident_id);
    // As a merge into a resolved incident left it before merges resolved the alerts they move (and the migration
    // marked alerts of resolved incidents): the incident RESOLVED, its alert still FIRING.
    await server.db.exec(`UPDATE incidents SET status = 'RESOLVED' WHERE id = ${Number(stale)}`);
    await server.db.exec(`UPDATE alerts SET incident_active = 0 WHERE incident_id = ${Number(stale)}`);

    const answer = await enqueue(server, triggerEvent(v2Key, { dedupKey: "stranded-1" }));
    expect(answer.status).toBe(202);
    const rows = await alertRows("stranded-1");
    expect(rows.map((row) => [String(row.incident_id), row.status, Number(row.event_count)])).toEqual([
      [stale, "RESOLVED", 1],
      [expect.not.stringMatching(`^${stale}$`), "FIRING", 1],
    ]);
    expect((await incidentWithAlerts(server, String(rows[1]!.incident_id))).status).toBe("OPEN");
    const old = await incidentWithAlerts(server, stale);
    expect(old.logs.nodes.at(-1)).toMatchObject({ kind: "ALERT", author: null, message: expect.stringContaining("no longer active") });
    // Repeats now land on the new alert.
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "stranded-1" }));
    expect((await alertRows("stranded-1")).map((row) => Number(row.event_count))).toEqual([1, 2]);
  });

  it("resolving the incident by hand resolves its firing alerts; a later trigger opens a new incident", async () => {
    const { v2Key } = await alertSetup(server);
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "hand-1" }));
    const id = String((await server.db.query<{ incident_id: unknown }>("SELECT incident_id FROM alerts WHERE fingerprint = 'hand-1'"))[0]!.incident_id);
    await resolveIncident(id);
    const incident = await incidentWithAlerts(server, id);
    expect(incident.alerts.nodes[0].status).toBe("RESOLVED");
    const entries = incident.logs.nodes.filter((log: any) => log.kind === "ALERT");
    expect(entries).toHaveLength(2);
    expect(entries[1].author).toBeNull();
    await enqueue(server, triggerEvent(v2Key, { dedupKey: "hand-1" }));
    expect(await server.db.scalar("SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint = 'hand-1'")).toBe(2);
  });
});

describe("keys", () => {
  it("refuses a missing, unknown, rotated, deleted or other-kind key with 401, storing nothing", async () => {
    const { amKey, v2Key, amId, v2Id } = await alertSetup(server);
    const alerts = await countRows(server, "alerts");
    const unauthorized = (answer: { status: number; body: any }) => {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ status: "unauthorized", message: expect.any(String) });
    };
    unauthorized(await post(server, "/hooks/alertmanager", alertmanagerPayload([{}])));
    unauthorized(await sendAlertmanager(server, "x".repeat(43), alertmanagerPayload([{}])));
    unauthorized(await sendAlertmanager(server, v2Key, alertmanagerPayload([{}])));
    unauthorized(await enqueue(server, triggerEvent(amKey)));
    const rotated = await server.gql(`mutation($id: ID!) { rotateIntegrationKey(id: $id) { key integration { keyHint } } }`, { id: amId }, server.admin.token);
    const newKey = rotated.data.rotateIntegrationKey.key as string;
    expect(rotated.data.rotateIntegrationKey.integration.keyHint).toBe(newKey.slice(-4));
    unauthorized(await sendAlertmanager(server, amKey, alertmanagerPayload([{}])));
    expect((await sendAlertmanager(server, newKey, alertmanagerPayload([{ fingerprint: "after-rotation" }]))).status).toBe(200);
    await server.gql(`mutation($id: ID!) { deleteIntegration(id: $id) }`, { id: v2Id }, server.admin.token);
    unauthorized(await enqueue(server, triggerEvent(v2Key)));
    expect(await countRows(server, "alerts")).toBe(alerts + 1);
  });

  it("lets only admins create, rotate and delete integrations", async () => {
    const { serviceId, amId } = await alertSetup(server);
    const responder = await server.user("RESPONDER");
    const attempts = [
      [`mutation($s: ID!) { createIntegration(input: { serviceId: $s, name: "x", kind: EVENTS_V2 }) { key } }`, { s: serviceId }],
      [`mutation($id: ID!) { rotateIntegrationKey(id: $id) { key } }`, { id: amId }],
      [`mutation($id: ID!) { deleteIntegration(id: $id) }`, { id: amId }],
    ] as const;
    for (const [query, variables] of attempts) {
      expect((await server.gql(query, variables, responder.token)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    const missing = await server.gql(`mutation { createIntegration(input: { serviceId: "999999", name: "x", kind: EVENTS_V2 }) { key } }`, {}, server.admin.token);
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "serviceId" });
  });

  it("shows a key of at least 24 random bytes once, and stores only its hash", async () => {
    const { amKey, amId } = await alertSetup(server);
    expect(Buffer.from(amKey, "base64url").length).toBeGreaterThanOrEqual(24);
    const stored = await server.db.query<{ key_hash: string }>("SELECT key_hash FROM integrations WHERE id = ?", [Number(amId)]);
    expect(stored[0]!.key_hash).not.toContain(amKey);
    const all = await server.db.query<Record<string, unknown>>("SELECT * FROM integrations");
    expect(JSON.stringify(all)).not.toContain(amKey);
  });
});

describe("bad input", () => {
  const invalid = (answer: { status: number; body: any }) => {
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: "invalid event", message: expect.any(String), errors: expect.any(Array) });
    expect(answer.body.errors.length).toBeGreaterThan(0);
  };

  it("refuses malformed bodies to either endpoint with the JSON error, storing nothing", async () => {
    const { amKey, v2Key } = await alertSetup(server);
    const [alerts, incidents] = [await countRows(server, "alerts"), await countRows(server, "incidents")];
    const good = alertmanagerPayload([{}]);
    const am = (body: unknown) => sendAlertmanager(server, amKey, body);
    invalid(await am("{not json"));
    invalid(await am({ ...good, version: "3" }));
    invalid(await am({ ...good, alerts: "none" }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], status: "pending" }] }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], startsAt: "yesterday" }] }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], startsAt: "2026-02-30T00:00:00Z" }] }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], labels: { a: 1 } }] }));
    invalid(await am({ ...good, alerts: [{}, { ...good.alerts[0] }] }));
    // one bad alert among good ones: none of them is stored
    invalid(await am({ ...good, alerts: [good.alerts[0], { ...good.alerts[0], fingerprint: "x", status: 7 }] }));
    invalid(await am({ ...good, alerts: Array.from({ length: 1001 }, (_, i) => ({ ...good.alerts[0], fingerprint: `f${i}` })) }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, "v"])) }] }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], labels: { ["k".repeat(101)]: "v" } }] }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], annotations: { summary: "s".repeat(1001) } }] }));
    invalid(await am([good]));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], labels: { alertname: "nul\u0000" } }] }));
    invalid(await am({ ...good, groupKey: "g\u0000" }));
    const v2 = (body: unknown) => enqueue(server, body);
    const trigger = triggerEvent(v2Key);
    invalid(await v2("{"));
    invalid(await v2({ ...trigger, routing_key: undefined }));
    invalid(await v2({ ...trigger, event_action: "escalate" }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, summary: undefined } }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, source: undefined } }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, severity: "fatal" } }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, severity: "constructor" } }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, timestamp: "31/12/2026" } }));
    invalid(await v2({ ...trigger, payload: undefined }));
    invalid(await v2({ routing_key: v2Key, event_action: "resolve" }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, summary: "a\u0000b" } }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, custom_details: { "k\u0000": "v" } } }));
    invalid(await v2({ routing_key: v2Key, event_action: "resolve", dedup_key: "d\u0000" }));
    invalid(await v2({ ...trigger, payload: { ...trigger.payload, custom_details: { mount: "\ud800" } } }));
    invalid(await am({ ...good, alerts: [{ ...good.alerts[0], annotations: { summary: "x\udc00" } }] }));
    invalid(await v2({ routing_key: v2Key, event_action: "acknowledge", dedup_key: "" }));
    expect([await countRows(server, "alerts"), await countRows(server, "incidents")]).toEqual([alerts, incidents]);
  });

  it("tells a sender whose JSON was not sent as application/json to send it so, storing nothing", async () => {
    const { amKey, v2Key } = await alertSetup(server);
    const [alerts, incidents] = [await countRows(server, "alerts"), await countRows(server, "incidents")];
    const bodies: Array<{ path: string; text: string; authorization: Record<string, string> }> = [
      { path: "/hooks/alertmanager", text: JSON.stringify(alertmanagerPayload([{}])), authorization: { authorization: `Bearer ${amKey}` } },
      { path: "/v2/enqueue", text: JSON.stringify(triggerEvent(v2Key)), authorization: {} },
    ];
    for (const { path, text, authorization } of bodies) {
      // A string body goes as text/plain; bytes go with no content type at all.
      const sends: Array<[string | Uint8Array, Record<string, string>]> = [[text, { "content-type": "text/plain" }], [new TextEncoder().encode(text), {}]];
      for (const [body, headers] of sends) {
        const response = await fetch(`${server.base}${path}`, { method: "POST", headers: { ...headers, ...authorization }, body });
        const answer: { status: number; body: any } = { status: response.status, body: await response.json() };
        invalid(answer);
        expect(answer.body.errors, `${path} ${JSON.stringify(headers)}`).toEqual(["the body must be JSON sent with content-type: application/json"]);
      }
    }
    expect([await countRows(server, "alerts"), await countRows(server, "incidents")]).toEqual([alerts, incidents]);
  });

  it("names a missing or unknown event_action, and asks for no dedup_key without one", async () => {
    const { v2Key } = await alertSetup(server);
    const empty = await enqueue(server, {});
    invalid(empty);
    expect(empty.body.errors).toEqual(["routing_key is required", "event_action is required: one of trigger, acknowledge, resolve"]);
    const unknown = await enqueue(server, { routing_key: v2Key, event_action: "escalate" });
    invalid(unknown);
    expect(unknown.body.errors).toEqual(["event_action must be one of trigger, acknowledge, resolve"]);
    const resolve = await enqueue(server, { routing_key: v2Key, event_action: "resolve" });
    expect(resolve.body.errors).toEqual(["dedup_key is required for acknowledge and resolve"]);
  });

  it("cuts a long summary to 1,024 characters, as PagerDuty does", async () => {
    const { v2Key } = await alertSetup(server);
    const answer = await enqueue(server, triggerEvent(v2Key, { dedupKey: "long-summary", summary: "s".repeat(5000) }));
    expect(answer.status).toBe(202);
    const [row] = await server.db.query<{ summary: string }>("SELECT summary FROM alerts WHERE fingerprint = 'long-summary'");
    expect(row!.summary).toHaveLength(1024);
  });

  it("answers 413 to a body over 1 MB", async () => {
    const { amKey } = await alertSetup(server);
    const big = alertmanagerPayload([{ annotations: { description: "x".repeat(1024 * 1024) } }]);
    const answer = await sendAlertmanager(server, amKey, big);
    expect(answer.status).toBe(413);
  });
});

describe("reading alerts", () => {
  it("pages an incident's alerts oldest first, filters them by status, and answers Service.integrations to admins only", async () => {
    const { amKey, serviceId } = await alertSetup(server);
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}, {}, {}]));
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "fp00000000000001", status: "resolved" }]));
    const id = opened.body.incidents[0];
    const page = async (after: string | null, status?: string[]) =>
      (
        await server.gql(
          `query($id: ID!, $after: String, $status: [AlertStatus!]) { incident(id: $id) { alerts(first: 2, after: $after, status: $status) {
             totalCount nodes { fingerprint } pageInfo { hasNextPage endCursor } } } }`,
          { id, after, status },
          server.admin.token,
        )
      ).data.incident.alerts;
    const first = await page(null);
    expect(first.nodes.map((node: any) => node.fingerprint)).toEqual(["fp00000000000000", "fp00000000000001"]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.nodes.map((node: any) => node.fingerprint)).toEqual(["fp00000000000002"]);
    const firing = await page(null, ["FIRING"]);
    expect(firing.totalCount).toBe(2);
    const viewer = await server.user("VIEWER");
    const query = `query($id: ID!) { service(id: $id) { name integrations { kind keyHint } } }`;
    const forViewer = await server.gql(query, { id: serviceId }, viewer.token);
    expect(forViewer.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const forAdmin = await server.gql(query, { id: serviceId }, server.admin.token);
    expect(forAdmin.data.service.integrations.map((i: any) => i.kind)).toEqual(["ALERTMANAGER", "EVENTS_V2"]);
  });

  it("loads the alerts of a page of incidents in a fixed number of statements, whatever its size", async () => {
    const { amKey, serviceId } = await alertSetup(server);
    for (let group = 0; group < 12; group++) {
      await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: `p${group}a` }, { fingerprint: `p${group}b` }], { groupKey: `page-${group}` }));
    }
    const statementsFor = async (first: number) => {
      const query = `query($s: [ID!], $first: Int) { incidents(first: $first, filter: { serviceId: $s }) { nodes { id service { name } labels { key }
        alerts(first: 5) { totalCount nodes { fingerprint integration { kind } incident { id } } } } } }`;
      const before = await server.metric("db_queries_total");
      const result = await server.gql(query, { s: [serviceId], first }, server.admin.token);
      expect(result.errors).toBeUndefined();
      expect(result.data.incidents.nodes).toHaveLength(first);
      return (await server.metric("db_queries_total")) - before;
    };
    expect(await statementsFor(12)).toBe(await statementsFor(3));
  });
});

describe("load and metrics", () => {
  it("counts alerts_received_total by kind and outcome", async () => {
    const { amKey, v2Key } = await alertSetup(server);
    const text = async () => (await fetch(`${server.base}/metrics`)).text();
    const value = (body: string, labels: string) =>
      Number(body.split("\n").find((line) => line.startsWith(`alerts_received_total{${labels}}`))?.split(" ")[1] ?? 0);
    const before = await text();
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "m1" }, { fingerprint: "m2" }]));
    await sendAlertmanager(server, amKey, alertmanagerPayload([{ fingerprint: "m1" }, { fingerprint: "m2", status: "resolved" }]));
    await enqueue(server, { routing_key: v2Key, event_action: "nope" });
    await enqueue(server, "{not json");
    await sendAlertmanager(server, "unknown-key", alertmanagerPayload([{}]));
    const after = await text();
    const delta = (labels: string) => value(after, labels) - value(before, labels);
    expect(delta('integration_kind="alertmanager",outcome="created"')).toBe(2);
    expect(delta('integration_kind="alertmanager",outcome="deduplicated"')).toBe(1);
    expect(delta('integration_kind="alertmanager",outcome="resolved"')).toBe(1);
    expect(delta('integration_kind="events_v2",outcome="rejected"')).toBe(2);
    expect(delta('integration_kind="alertmanager",outcome="rejected"')).toBe(1);
  });
});

describe("rate limit (INGEST_RATE_LIMIT=3)", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ INGEST_RATE_LIMIT: "3" });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it("answers Alertmanager 503 and Events v2 429 with Retry-After past the limit, per integration", async () => {
    const { amKey, v2Key } = await alertSetup(limited);
    for (let i = 0; i < 3; i++) expect((await sendAlertmanager(limited, amKey, alertmanagerPayload([{}]))).status).toBe(200);
    const over = await sendAlertmanager(limited, amKey, alertmanagerPayload([{ fingerprint: "over" }]));
    expect(over.status).toBe(503);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await countRows(limited, "alerts", "WHERE fingerprint = 'over'")).toBe(0);
    for (let i = 0; i < 3; i++) expect((await enqueue(limited, triggerEvent(v2Key, { dedupKey: "r" }))).status).toBe(202);
    const tooMany = await enqueue(limited, triggerEvent(v2Key, { dedupKey: "r" }));
    expect(tooMany.status).toBe(429);
    expect(Number(tooMany.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
