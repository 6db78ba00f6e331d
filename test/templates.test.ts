import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createService } from "./support/alerts.js";
import { onPostgres } from "./support/database.js";
import { startTestServer, type TestServer, type TestUser } from "./support/server.js";

// Section 10, templates and outliers: an incident's template, how many incidents of its service shared it in the
// 30 days before it was created, that count's share of all the service's incidents in those days, and the class
// read from them (ANOMALY: none; FREQUENT: share >= 0.20; RARE: share <= 0.05; otherwise null).

let server: TestServer;
let responder: TestUser;
beforeAll(async () => {
  server = await startTestServer();
  responder = await server.user("RESPONDER");
});
afterAll(async () => {
  await server?.close();
});

const DAY = 86_400_000;
const T = Date.parse("2026-06-15T12:00:00.000Z");
/** A time as the backend stores it, as an SQL literal. */
const stored = (ms: number) => (onPostgres ? `'${new Date(ms).toISOString()}'` : String(ms));

async function incidentAt(title: string, serviceId: string | null, createdAt: number): Promise<string> {
  const input = serviceId ? { title, serviceId } : { title };
  const result = await server.gql(`mutation($input: CreateIncidentInput!) { createIncident(input: $input) { id } }`, { input }, responder.token);
  const id = result.data.createIncident.id as string;
  await server.db.exec(`UPDATE incidents SET created_at = ${stored(createdAt)} WHERE id = ${Number(id)}`);
  return id;
}

const TEMPLATE = `template { text serviceCount30d serviceShare30d serviceTotal30d } outlier`;
const evidenceOf = async (id: string) => (await server.gql(`query($id: ID!) { incident(id: $id) { ${TEMPLATE} } }`, { id }, responder.token)).data.incident;

describe("templates and outliers", () => {
  let service: string;
  const probes: Record<string, string> = {};

  beforeAll(async () => {
    service = (await createService(server)).id;
    const other = (await createService(server)).id;
    // The 30 days before T: 20 incidents of the service.
    const history: string[] = [
      ...["Disk 91% full on db-7", "Disk 88% full on db-3", "Disk 97% full on db-12", "Disk 90% full on db-1", "Disk 99% full on db-2"],
      "Certificate expires in 7 days",
      "Latency above 750ms on api-gateway",
      "Latency above 900ms on api-gateway",
      ...Array.from({ length: 12 }, (_, i) => `Queue "orders-${i}" backed up`),
    ];
    // From the window's first instant (inclusive) to just before T.
    for (const [i, title] of history.entries()) await incidentAt(title, service, T - 30 * DAY + i * DAY);
    // Outside the window: just before it starts, and at T itself (not "before" T); other services; no service.
    await incidentAt("Disk 50% full on db-9", service, T - 30 * DAY - 1);
    await incidentAt("Certificate expires in 3 days", service, T);
    await incidentAt("Brand new problem", other, T - DAY);
    await incidentAt("Disk 70% full on db-4", other, T - DAY);
    await incidentAt("Disk 70% full on db-4", null, T - DAY);

    probes.frequent = await incidentAt("Disk 93% full on db-11", service, T);
    probes.rare = await incidentAt("Certificate expires in 30 days", service, T);
    probes.between = await incidentAt("Latency above 1200ms on api-gateway", service, T);
    probes.anomaly = await incidentAt("Brand new problem", service, T);
    probes.unserviced = await incidentAt("Disk 93% full on db-11", null, T);
    probes.firstOfItsService = await incidentAt("Disk 93% full on db-11", (await createService(server)).id, T);
  });

  it("is FREQUENT at a share of at least 0.20, with the evidence", async () => {
    expect(await evidenceOf(probes.frequent!)).toEqual({
      template: { text: "Disk <*>% full on <*>", serviceCount30d: 5, serviceShare30d: 0.25, serviceTotal30d: 20 },
      outlier: "FREQUENT",
    });
  });

  it("is RARE at a share of at most 0.05 (the window's first instant counts, T itself does not)", async () => {
    expect(await evidenceOf(probes.rare!)).toEqual({
      template: { text: "Certificate expires in <*> days", serviceCount30d: 1, serviceShare30d: 0.05, serviceTotal30d: 20 },
      outlier: "RARE",
    });
  });

  it("is null between RARE and FREQUENT", async () => {
    expect(await evidenceOf(probes.between!)).toEqual({
      template: { text: "Latency above <*>ms on api-gateway", serviceCount30d: 2, serviceShare30d: 0.1, serviceTotal30d: 20 },
      outlier: null,
    });
  });

  it("is an ANOMALY when the service had incidents but none like it (other services' do not count)", async () => {
    expect(await evidenceOf(probes.anomaly!)).toEqual({
      template: { text: "Brand new problem", serviceCount30d: 0, serviceShare30d: 0, serviceTotal30d: 20 },
      outlier: "ANOMALY",
    });
  });

  it("is null without a service, and for a service with no history", async () => {
    const none = { text: "Disk <*>% full on <*>", serviceCount30d: 0, serviceShare30d: 0, serviceTotal30d: 0 };
    expect(await evidenceOf(probes.unserviced!)).toEqual({ template: none, outlier: null });
    expect(await evidenceOf(probes.firstOfItsService!)).toEqual({ template: none, outlier: null });
  });

  it("loads a whole page's evidence in a fixed number of statements", async () => {
    const page = (first: number) =>
      server.gql(`query($s: [ID!], $first: Int) { incidents(first: $first, filter: { serviceId: $s }) { nodes { id ${TEMPLATE} } } }`, { s: [service], first }, responder.token);
    const statements = async (first: number) => {
      const before = await server.metric("db_queries_total");
      const result = await page(first);
      expect(result.errors).toBeUndefined();
      expect(result.data.incidents.nodes).toHaveLength(first);
      return (await server.metric("db_queries_total")) - before;
    };
    await page(30); // the viewer's row, prepared statements, and the templates of the services' windows, once
    expect(await statements(20)).toBe(await statements(3));
    const nodes = (await page(30)).data.incidents.nodes;
    const byId = new Map(nodes.map((node: any) => [node.id, node]));
    expect(byId.get(probes.frequent)).toEqual(expect.objectContaining({ outlier: "FREQUENT" }));
    expect(byId.get(probes.anomaly)).toEqual(expect.objectContaining({ outlier: "ANOMALY" }));
  });

  it("keeps each incident's template once, and follows a title edit, a move to another service and a deletion", async () => {
    await evidenceOf(probes.frequent!);
    const kept = await server.db.scalar(`SELECT count(*) FROM incident_templates WHERE service_id = ${Number(service)}`);
    expect(kept).toBeGreaterThanOrEqual(20);
    const [edited] = await server.db.query<{ id: number }>(`SELECT id FROM incidents WHERE title = 'Disk 99% full on db-2'`);
    const retitle = (title: string) =>
      server.gql(`mutation($id: ID!, $t: String!) { updateIncident(id: $id, input: { title: $t }) { id } }`, { id: String(edited!.id), t: title }, responder.token);
    expect((await retitle("Brand new problem")).errors).toBeUndefined();
    expect((await evidenceOf(probes.anomaly!)).template).toMatchObject({ serviceCount30d: 1, serviceTotal30d: 20 });
    expect((await evidenceOf(probes.frequent!)).template).toMatchObject({ serviceCount30d: 4, serviceTotal30d: 20 });
    expect((await retitle("Disk 99% full on db-2")).errors).toBeUndefined();
    expect(await evidenceOf(probes.frequent!)).toMatchObject({ template: { serviceCount30d: 5 }, outlier: "FREQUENT" });
    expect((await evidenceOf(probes.anomaly!)).outlier).toBe("ANOMALY");

    // Moved to another service (straight in the database, as no mutation moves one): it leaves this service's counts.
    const [elsewhere] = await server.db.query<{ service_id: number }>(`SELECT service_id FROM incidents WHERE id = ${Number(probes.firstOfItsService)}`);
    await server.db.exec(`UPDATE incidents SET service_id = ${elsewhere!.service_id} WHERE id = ${edited!.id}`);
    expect((await evidenceOf(probes.frequent!)).template).toMatchObject({ serviceCount30d: 4, serviceTotal30d: 19 });
    await server.db.exec(`UPDATE incidents SET service_id = ${Number(service)} WHERE id = ${edited!.id}`);
    expect((await evidenceOf(probes.frequent!)).template).toMatchObject({ serviceCount30d: 5, serviceTotal30d: 20 });

    const deleted = await server.gql(`mutation($id: ID!) { deleteIncident(id: $id) }`, { id: String(edited!.id) }, server.admin.token);
    expect(deleted.errors).toBeUndefined();
    expect(await server.db.scalar(`SELECT count(*) FROM incident_templates WHERE incident_id = ${edited!.id}`)).toBe(0);
    expect((await evidenceOf(probes.frequent!)).template).toMatchObject({ serviceCount30d: 4, serviceTotal30d: 19 });
  });

  it.skipIf(!onPostgres)("keeps no template from a title that a transaction is changing meanwhile (PostgreSQL)", async () => {
    const other = (await createService(server)).id;
    const changing = await incidentAt("Disk 91% full on db-7", other, T - 5 * DAY);
    const probe = await incidentAt("Disk 12% full on db-9", other, T - DAY);
    const change = new pg.Client({ connectionString: server.db.url });
    await change.connect();
    try {
      await change.query("BEGIN");
      await change.query(`UPDATE incidents SET title = 'Checkout latency high' WHERE id = ${Number(changing)}`);
      // The first look at the window starts while the title change is not committed yet: it waits for it.
      const during = evidenceOf(probe);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await change.query("COMMIT");
      expect((await during).template).toMatchObject({ serviceCount30d: 0, serviceTotal30d: 1 });
    } finally {
      await change.end();
    }
    expect((await evidenceOf(probe)).template).toMatchObject({ serviceCount30d: 0, serviceTotal30d: 1 });
    const [kept] = await server.db.query<{ template: string }>(`SELECT template FROM incident_templates WHERE incident_id = ${Number(changing)}`);
    expect(kept?.template ?? "Checkout latency high").toBe("Checkout latency high");
  });
});
