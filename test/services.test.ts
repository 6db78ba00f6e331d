import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerPayload, alertSetup, countRows, createService, sendAlertmanager } from "./support/alerts.js";
import { onlyError, startTestServer, type TestServer, type TestUser } from "./support/server.js";

// Section 8: services, labels, the filters over them, and what deleting a service keeps.

let server: TestServer;
let responder: TestUser;
let viewer: TestUser;
beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER");
  viewer = await server.user("VIEWER");
});
afterAll(async () => {
  await server?.close();
});

const SERVICE = `id name description autoResolve alertGrouping { labels windowSeconds } createdAt`;
const INCIDENT = `id version service { id name } labels { key value } reporter { id } logs { nodes { kind message } }`;

const createIncident = async (input: Record<string, unknown>, token = responder.token) =>
  server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { ${INCIDENT} } }`, { input: { title: "Broken", ...input } }, token);
const updateIncident = async (id: string, input: Record<string, unknown>) =>
  server.gql(`mutation($id: ID!, $input: UpdateIncidentInput!) { updateIncident(id: $id, input: $input) { ${INCIDENT} } }`, { id, input }, responder.token);

describe("services", () => {
  it("creates a service with its defaults, trims the name, and refuses a duplicate ignoring case", async () => {
    const created = await server.gql(
      `mutation { createService(input: { name: "  Checkout API  " }) { ${SERVICE} } }`,
      {},
      server.admin.token,
    );
    expect(created.data.createService).toMatchObject({
      name: "Checkout API",
      description: "",
      autoResolve: true,
      alertGrouping: { labels: [], windowSeconds: 0 },
    });
    const duplicate = await server.gql(`mutation { createService(input: { name: "checkout api" }) { id } }`, {}, server.admin.token);
    expect(onlyError(duplicate).extensions?.code).toBe("CONFLICT");
  });

  it("lets only admins create, change and delete services; every role reads them", async () => {
    const service = await createService(server);
    for (const token of [responder.token, viewer.token]) {
      expect(onlyError(await server.gql(`mutation { createService(input: { name: "nope" }) { id } }`, {}, token)).extensions?.code).toBe("FORBIDDEN");
      const update = await server.gql(`mutation($id: ID!) { updateService(id: $id, input: { description: "x" }) { id } }`, { id: service.id }, token);
      expect(onlyError(update).extensions?.code).toBe("FORBIDDEN");
      expect(onlyError(await server.gql(`mutation($id: ID!) { deleteService(id: $id) }`, { id: service.id }, token)).extensions?.code).toBe("FORBIDDEN");
    }
    const read = await server.gql(`query($id: ID!) { service(id: $id) { name } services(first: 100) { totalCount nodes { id } } }`, { id: service.id }, viewer.token);
    expect(read.data.service.name).toBe(service.name);
    expect(read.data.services.nodes.map((node: any) => node.id)).toContain(service.id);
  });

  it("updates partially, checks the grouping, and refuses an empty update", async () => {
    const service = await createService(server);
    const update = (input: Record<string, unknown>) =>
      server.gql(`mutation($id: ID!, $input: UpdateServiceInput!) { updateService(id: $id, input: $input) { ${SERVICE} } }`, { id: service.id, input }, server.admin.token);
    const changed = await update({ autoResolve: false, alertGrouping: { labels: ["cluster", "alertname"], windowSeconds: 300 } });
    expect(changed.data.updateService).toMatchObject({ name: service.name, autoResolve: false, alertGrouping: { labels: ["cluster", "alertname"], windowSeconds: 300 } });
    for (const input of [
      {},
      { name: "" },
      { name: "x".repeat(101) },
      { alertGrouping: { labels: [], windowSeconds: 86_401 } },
      { alertGrouping: { labels: [], windowSeconds: -1 } },
      { alertGrouping: { labels: Array.from({ length: 11 }, (_, i) => `k${i}`), windowSeconds: 0 } },
      { alertGrouping: { labels: ["Bad Key"], windowSeconds: 0 } },
    ]) {
      expect(onlyError(await update(input)).extensions?.code).toBe("BAD_USER_INPUT");
    }
    expect(onlyError(await server.gql(`mutation { updateService(id: "999999", input: { description: "x" }) { id } }`, {}, server.admin.token)).extensions?.code).toBe("NOT_FOUND");
  });

  it("deleting a service keeps its incidents (service null) and alerts, and removes its integrations", async () => {
    const { serviceId, amKey } = await alertSetup(server);
    const opened = await sendAlertmanager(server, amKey, alertmanagerPayload([{}]));
    const incidentId = opened.body.incidents[0];
    const alerts = await countRows(server, "alerts", `WHERE incident_id = ${Number(incidentId)}`);
    const deleted = await server.gql(`mutation($id: ID!) { deleteService(id: $id) }`, { id: serviceId }, server.admin.token);
    expect(deleted.data.deleteService).toBe(serviceId);
    const incident = await server.gql(`query($id: ID!) { incident(id: $id) { service { id } alerts { totalCount } } }`, { id: incidentId }, server.admin.token);
    expect(incident.data.incident).toEqual({ service: null, alerts: { totalCount: alerts } });
    expect(await countRows(server, "integrations", `WHERE service_id = ${Number(serviceId)}`)).toBe(0);
    expect((await sendAlertmanager(server, amKey, alertmanagerPayload([{}]))).status).toBe(401);
    expect(await server.db.integrityProblems()).toEqual([]);
  });
});

describe("incidents with a service and labels", () => {
  it("creates an incident on a service with labels sorted by key; a missing service is NOT_FOUND on serviceId", async () => {
    const service = await createService(server);
    const created = await createIncident({ serviceId: service.id, labels: [{ key: "team", value: "payments" }, { key: "env", value: "prod" }] });
    expect(created.data.createIncident).toMatchObject({
      service: { id: service.id },
      labels: [
        { key: "env", value: "prod" },
        { key: "team", value: "payments" },
      ],
      reporter: { id: responder.id },
    });
    const missing = onlyError(await createIncident({ serviceId: "999999" }));
    expect(missing.extensions).toMatchObject({ code: "NOT_FOUND", field: "serviceId" });
  });

  it("refuses labels that break the rules with BAD_USER_INPUT on labels", async () => {
    for (const labels of [
      [{ key: "Env", value: "x" }],
      [{ key: "1env", value: "x" }],
      [{ key: "k".repeat(64), value: "x" }],
      [{ key: "env", value: "v".repeat(201) }],
      [
        { key: "env", value: "a" },
        { key: "env", value: "b" },
      ],
      Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: "v" })),
    ]) {
      const error = onlyError(await createIncident({ labels }));
      expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "labels" });
    }
    const fine = await createIncident({ labels: [{ key: "a.b-c/d_e", value: "" }, { key: "k".repeat(63), value: "v".repeat(200) }] });
    expect(fine.errors).toBeUndefined();
  });

  it("records a change of service or labels as one EDIT entry with version + 1; an unchanged set is no change", async () => {
    const [one, two] = [await createService(server), await createService(server)];
    const id = (await createIncident({ serviceId: one.id, labels: [{ key: "env", value: "prod" }] })).data.createIncident.id;
    const moved = (await updateIncident(id, { serviceId: two.id })).data.updateIncident;
    expect(moved).toMatchObject({ version: 2, service: { id: two.id } });
    expect(moved.logs.nodes.at(-1)).toEqual({ kind: "EDIT", message: `Service set to ${two.name}` });
    const relabelled = (await updateIncident(id, { labels: [{ key: "env", value: "staging" }] })).data.updateIncident;
    expect(relabelled.version).toBe(3);
    expect(relabelled.logs.nodes.at(-1)).toEqual({ kind: "EDIT", message: "Labels set to env=staging" });
    const same = (await updateIncident(id, { labels: [{ key: "env", value: "staging" }] })).data.updateIncident;
    expect(same.version).toBe(3);
    const detached = (await updateIncident(id, { serviceId: null, labels: [] })).data.updateIncident;
    expect(detached).toMatchObject({ version: 4, service: null, labels: [] });
    expect(detached.logs.nodes.at(-1)).toEqual({ kind: "EDIT", message: "Service removed; Labels removed" });
    expect(detached.logs.nodes.filter((log: any) => log.kind === "EDIT")).toHaveLength(3);
    expect(onlyError(await updateIncident(id, { labels: null })).extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("filters by any of several services and by every given label pair", async () => {
    const [a, b] = [await createService(server), await createService(server)];
    const make = async (serviceId: string, labels: Array<{ key: string; value: string }>) =>
      (await createIncident({ serviceId, labels })).data.createIncident.id as string;
    const i1 = await make(a.id, [{ key: "env", value: "prod" }, { key: "team", value: "core" }]);
    const i2 = await make(a.id, [{ key: "env", value: "prod" }]);
    const i3 = await make(b.id, [{ key: "env", value: "dev" }, { key: "team", value: "core" }]);
    const ids = async (filter: Record<string, unknown>) =>
      (await server.gql(`query($f: IncidentFilter) { incidents(first: 100, filter: $f) { totalCount nodes { id } } }`, { f: filter }, viewer.token)).data.incidents;
    expect((await ids({ serviceId: [a.id] })).nodes.map((n: any) => n.id).sort()).toEqual([i1, i2].sort());
    expect((await ids({ serviceId: [a.id, b.id] })).totalCount).toBe(3);
    expect((await ids({ serviceId: ["nope"] })).totalCount).toBe(0);
    expect((await ids({ serviceId: [a.id, b.id], labels: [{ key: "team", value: "core" }] })).nodes.map((n: any) => n.id).sort()).toEqual([i1, i3].sort());
    const both = await ids({ labels: [{ key: "team", value: "core" }, { key: "env", value: "prod" }], serviceId: [a.id, b.id] });
    expect(both.nodes.map((n: any) => n.id)).toEqual([i1]);
    const scoped = await server.gql(`query($id: ID!) { service(id: $id) { incidents(first: 10) { totalCount } } }`, { id: b.id }, viewer.token);
    expect(scoped.data.service.incidents.totalCount).toBe(1);
  });
});
