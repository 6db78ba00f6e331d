// How long resolving (or merging into a resolved incident) an incident with N firing alerts holds the event loop
// and the request: `npx tsx test/bench/resolve-stall.ts <N> <endpoint:0|1> [merge]`, TEST_DATABASE=postgres for PostgreSQL.
// The server runs in this process; the stall is the longest event-loop block seen while the mutation runs (a probe
// timer every 2 ms), which is what every other request waits for; then, on SQLite, how long until every delivery's body
// is written (a large resolution's are written after the commit, in slices) and the longest block meanwhile.
import { startTestServer } from "../support/server.js";
import { alertmanagerPayload, alertSetup, sendAlertmanager, countRows } from "../support/alerts.js";
import { startReceiver } from "../support/webhook-receiver.js";
import { blockProbe } from "../support/event-loop.js";

const n = Number(process.argv[2] ?? 10_000);
const withEndpoint = process.argv[3] === "1";
const merge = process.argv[4] === "merge";

const server = await startTestServer({ INGEST_RATE_LIMIT: "100000" });
const receiver = await startReceiver(() => "stall");
try {
  const { amKey } = await alertSetup(server);
  const send = async (from: number, count: number, groupKey: string) => {
    const alerts = Array.from({ length: count }, (_, i) => ({ fingerprint: `fp-${groupKey}-${from + i}`, labels: { alertname: `A${from + i}`, severity: "warning" } }));
    const posted = await sendAlertmanager(server, amKey, alertmanagerPayload(alerts, { groupKey }));
    if (posted.status !== 200) throw new Error(JSON.stringify(posted.body));
    return posted.body.incidents[0] as string;
  };
  let incident = "";
  for (let i = 0; i < n; i += 1000) incident = await send(i, Math.min(1000, n - i), "g1");
  const responder = await server.user("RESPONDER");
  const gql = async (query: string, variables: Record<string, unknown>) => {
    const result = await server.gql(query, variables, responder.token);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data;
  };
  const setStatus = (id: string, status: string) =>
    gql(`mutation($id: ID!, $status: IncidentStatus!) { updateIncident(id: $id, input: { status: $status }) { id } }`, { id, status });
  let run: () => Promise<unknown>;
  if (merge) {
    // The target is resolved (one alert of its own); the source holds the N firing alerts.
    const target = await send(0, 1, "target");
    await setStatus(target, "INVESTIGATING");
    await setStatus(target, "RESOLVED");
    run = () => gql(`mutation($t: ID!, $s: [ID!]!) { mergeIncidents(targetId: $t, sourceIds: $s) { id } }`, { t: target, s: [incident] });
  } else {
    await setStatus(incident, "INVESTIGATING");
    run = () => setStatus(incident, "RESOLVED");
  }
  if (withEndpoint) {
    const created = await server.gql(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`, { input: { url: receiver.url } }, server.admin.token);
    if (created.errors) throw new Error(JSON.stringify(created.errors));
  }
  const firing = await countRows(server, "alerts", "WHERE status = 'FIRING'");
  await new Promise((resolve) => setTimeout(resolve, 200));
  const probe = blockProbe();
  const started = performance.now();
  await run();
  const took = performance.now() - started;
  const duringMutation = probe.longest();
  // SQLite writes the bodies of a large resolution's deliveries after the commit, in slices: they hold the event loop
  // too, until none is left.
  probe.reset();
  while (Number(await countRows(server, "webhook_deliveries", "WHERE render_alert_id IS NOT NULL")) > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const bodiesMs = performance.now() - started;
  const longest = probe.longest();
  probe.stop();
  const entries = await countRows(server, "incident_logs", "WHERE kind = 'ALERT' AND message LIKE '%resolved%'");
  const deliveries = await countRows(server, "webhook_deliveries", "WHERE event_type = 'ALERT_RESOLVED'");
  console.log(
    JSON.stringify({ backend: process.env.TEST_DATABASE ?? "sqlite", op: merge ? "merge" : "resolve", firing: Number(firing), endpoint: withEndpoint, mutationMs: Math.round(took), longestBlockMs: Math.round(duringMutation), bodiesWrittenMs: Math.round(bodiesMs), longestBlockAfterMs: Math.round(longest), entries: Number(entries), deliveries: Number(deliveries) }),
  );
} finally {
  await receiver.close();
  await server.close();
}
