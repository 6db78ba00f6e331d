import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertSetup } from "./support/alerts.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { until } from "./support/until.js";

// A real Prometheus Alertmanager (Debian's prometheus-alertmanager, installed by .ci/run) sending to the hook with
// the webhook_configs of the README: its own payloads, bearer key, grouping and resolved notifications.

const BINARY = "/usr/bin/prometheus-alertmanager";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("a real Alertmanager sending to /hooks/alertmanager (needs prometheus-alertmanager)", () => {
  let server: TestServer;
  let alertmanager: ChildProcess | undefined;
  let amUrl: string;
  let output = "";

  beforeAll(async () => {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: apt-get install prometheus-alertmanager (.ci/run does)`);
    server = await startTestServer();
    const { amKey } = await alertSetup(server);
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    const config = join(server.dir, "alertmanager.yml");
    writeFileSync(
      config,
      `route:
  receiver: incident-api
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: incident-api
    webhook_configs:
      - url: ${server.base}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${amKey}
`,
    );
    alertmanager = spawn(
      BINARY,
      [`--config.file=${config}`, `--storage.path=${join(server.dir, "am-data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    alertmanager.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    alertmanager.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await until(async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.status === 200, `Alertmanager to be ready\n${output}`, 20_000);
  });

  afterAll(async () => {
    if (alertmanager && alertmanager.exitCode === null) {
      const exited = new Promise((resolve) => alertmanager!.once("exit", resolve));
      alertmanager.kill("SIGTERM");
      await exited;
    }
    await server?.close();
  });

  const push = async (alerts: unknown[]) => {
    const response = await fetch(`${amUrl}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
    expect(response.status, await response.text()).toBe(200);
  };

  it("opens one incident for a group, adds to it, and resolves it when Alertmanager resolves every alert", async () => {
    const startsAt = new Date().toISOString();
    const alert = (instance: string, endsAt?: string) => ({
      labels: { alertname: "DiskFull", instance, severity: "critical" },
      annotations: { summary: `Disk full on ${instance}`, description: "less than 1% free" },
      startsAt,
      ...(endsAt ? { endsAt } : {}),
      generatorURL: "http://prometheus.example:9090/graph",
    });
    await push([alert("db-1"), alert("db-2")]);
    const firing = await until(
      async () => (await server.db.scalar("SELECT count(*) FROM alerts WHERE status = 'FIRING'")) === 2,
      `two firing alerts\n${output}`,
      20_000,
    );
    expect(firing).toBe(true);
    await push([alert("db-3")]);
    await until(async () => (await server.db.scalar("SELECT count(*) FROM alerts")) === 3, "the third alert", 20_000);
    expect(await server.db.scalar("SELECT count(DISTINCT incident_id) FROM alerts")).toBe(1);
    const [incident] = await server.db.query<{ id: unknown; title: string; priority: string; reporter_id: unknown }>(
      "SELECT id, title, priority, reporter_id FROM incidents",
    );
    expect(incident).toMatchObject({ priority: "CRITICAL", reporter_id: null });
    expect(incident!.title).toMatch(/^Disk full on db-[12]$/);

    const ended = new Date().toISOString();
    await push([alert("db-1", ended), alert("db-2", ended), alert("db-3", ended)]);
    await until(
      async () => (await server.db.query<{ status: string }>("SELECT status FROM incidents"))[0]?.status === "RESOLVED",
      `the incident to be resolved\n${output}`,
      20_000,
    );
    expect(await server.db.scalar("SELECT count(*) FROM alerts WHERE status = 'RESOLVED'")).toBe(3);
    expect(await server.db.scalar("SELECT count(*) FROM incidents")).toBe(1);
  }, 60_000);
});
