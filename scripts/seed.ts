// `npm run seed [-- --force]`: fills DATABASE_URL with a realistic quarter (demo-quarter.ts) through the product's own
// services and repositories: the same rules, timelines, alert grouping, auto-resolution and merges as the API.
// The quarter ends at the start of today (UTC). Each change is made, then settled at its simulated time: whatever
// the change stamped with the clock (times, timeline entries, alerts resolved with it) is moved back to when it
// happened in the story. Refuses a database that already has incidents, unless --force.
import { existsSync } from "node:fs";
import { pino } from "pino";
import { createPasswordHasher } from "../src/auth/password.js";
import { createLoginThrottle } from "../src/auth/login-throttle.js";
import { createTokenService } from "../src/auth/tokens.js";
import { ConfigError, loadConfig, type Config } from "../src/config.js";
import { openDatabase, type AppDatabase } from "../src/db/open-database.js";
import { openPostgres } from "../src/db/postgres.js";
import { postgresBackend, sqliteBackend, type SqlBackend } from "../src/db/sql-backend.js";
import { all } from "../src/db/sql-work.js";
import { openSqlite } from "../src/db/sqlite.js";
import type { IncomingAlert, IngestTarget } from "../src/modules/alerts/alert-ingest.js";
import { IntegrationService } from "../src/modules/alerts/integration.service.js";
import type { Priority } from "../src/modules/incidents/incident-priority.js";
import { IncidentService } from "../src/modules/incidents/incident.service.js";
import { InsightService } from "../src/modules/insights/insight.service.js";
import { ServiceService } from "../src/modules/services/service.service.js";
import type { ServiceRow } from "../src/modules/services/service.table.js";
import { Role } from "../src/modules/users/user-role.js";
import type { UserRow } from "../src/modules/users/user.table.js";
import { UserService } from "../src/modules/users/user.service.js";
import { createCursorCodec } from "../src/shared/cursor.js";
import { createLoaders, type Loaders } from "../src/shared/loaders.js";
import { createMetrics } from "../src/shared/metrics.js";
import { createMemoryWindowCounter } from "../src/shared/window-counter.js";
import { anomalies, DEMO_PASSWORD, demoServices, notes, people, prng, unservicedTitles, type DemoService, type ProblemFamily } from "./demo-quarter.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const QUARTER_DAYS = 91;
const severityPriority: Record<string, Priority> = { CRITICAL: "CRITICAL", ERROR: "HIGH", WARNING: "MEDIUM", INFO: "LOW" };

interface World {
  db: AppDatabase;
  raw: SqlBackend;
  loaders: Loaders;
  users: UserService;
  incidents: IncidentService;
  insights: InsightService;
  admin: UserRow;
  responders: UserRow[];
  /** When the seed started: every time the services stamp is at or after it, every simulated time before it. */
  realStart: Date;
  end: number;
  /** Duplicates merged so far. */
  merged: number;
  /** Sets this run's alert fingerprints apart from an earlier run's (--force), whose alerts may still fire. */
  run: string;
}

/**
 * Moves what a change stamped with the clock back to `at`, the simulated time it happened; `alerts`: the change may
 * have resolved the incident's alerts (a person resolving or closing it).
 */
async function settle(world: World, incidentId: number, at: number, alerts = false): Promise<void> {
  const d = world.raw.dialect;
  const [when, real] = [d.time(new Date(at)), d.time(world.realStart)];
  const moved = (column: string) => `${column} = CASE WHEN ${column} >= ? THEN ? ELSE ${column} END`;
  await world.raw.transaction(function* () {
    yield* all(
      {
        name: "seed_settle_incident",
        text: `UPDATE incidents SET ${["updated_at", "created_at", "acknowledged_at", "resolved_at", "closed_at"].map(moved).join(", ")} WHERE id = ?`,
      },
      [real, when, real, when, real, when, real, when, real, when, incidentId],
    );
    yield* all({ name: "seed_settle_logs", text: `UPDATE incident_logs SET created_at = ? WHERE incident_id = ? AND created_at >= ?` }, [when, incidentId, real]);
    if (alerts) yield* all({ name: "seed_settle_alerts", text: `UPDATE alerts SET ${moved("resolved_at")}, ${moved("last_seen_at")} WHERE incident_id = ?` }, [
      real,
      when,
      real,
      when,
      incidentId,
    ]);
  });
}

async function person(world: Pick<World, "users" | "db">, spec: (typeof people)[number], admin: UserRow | undefined): Promise<UserRow> {
  const existing = await world.db.users.findByEmail(spec.email);
  let user = existing ?? (await world.users.signUp({ email: spec.email, name: spec.name, password: DEMO_PASSWORD })).user;
  const actor = admin ?? user;
  if (user.role !== spec.role && actor.role === Role.ADMIN) user = await world.users.update(actor, String(user.id), { role: spec.role });
  return user;
}

function poisson(random: ReturnType<typeof prng>, mean: number): number {
  const limit = Math.exp(-mean);
  let [k, p] = [0, 1];
  do {
    k++;
    p *= random.next();
  } while (p > limit);
  return k - 1;
}

/** One incident of the story: when it starts, what it is, and how it goes. */
interface Plan {
  at: number;
  service: DemoService;
  serviceId: number;
  family: ProblemFamily | null;
  title: string;
  description: string;
  priority: Priority;
}

function planQuarter(random: ReturnType<typeof prng>, start: number, serviceIds: ReadonlyMap<string, number>): Plan[] {
  const plans: Plan[] = [];
  for (let day = 0; day < QUARTER_DAYS; day++) {
    // The team gets better over the quarter: a fifth fewer incidents at the end than at the start.
    const trend = 1.1 - 0.2 * (day / QUARTER_DAYS);
    for (const service of demoServices) {
      for (const family of service.families) {
        for (let n = poisson(random, family.rate * trend); n > 0; n--) {
          const title = family.title(random);
          plans.push({ at: start + day * DAY + random.int(0, DAY - 1), service, serviceId: serviceIds.get(service.name)!, family, title, description: family.description, priority: severityPriority[family.severity]! });
        }
      }
    }
  }
  anomalies.forEach((anomaly, i) => {
    const service = demoServices.find((candidate) => candidate.name === anomaly.service)!;
    plans.push({ at: start + (QUARTER_DAYS - 20 + i * 4) * DAY + 10 * HOUR, service, serviceId: serviceIds.get(service.name)!, family: null, title: anomaly.title, description: anomaly.description, priority: anomaly.priority });
  });
  return plans.sort((a, b) => a.at - b.at);
}

async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const force = process.argv.includes("--force");
  const config = loadConfig(process.env);
  // The demo accounts share one published password: never on a production server.
  if (config.production) {
    console.error("NODE_ENV is production: nothing was written. The demo quarter's accounts share a published password.");
    process.exitCode = 1;
    return;
  }
  const db = await openDatabase(config, createMetrics(), pino({ level: "silent" }));
  const { raw, closeRaw } = openRaw(config);
  try {
    // Accounts first: --force does not get past them, so their refusal must not be the one that suggests it.
    const refusal = await accountsRefusal(db);
    if (refusal) {
      console.error(`${refusal}: nothing was written. Seed a database of its own instead, e.g. DATABASE_URL=file:./data/demo.db npm run seed, and start the server with the same DATABASE_URL.`);
      process.exitCode = 1;
      return;
    }
    const existing = await db.incidents.count({});
    if (existing > 0 && !force) {
      console.error(`The database already has ${existing} incidents: nothing was written. Run with --force to add the demo quarter anyway.`);
      process.exitCode = 1;
      return;
    }
    await seed(db, raw);
  } finally {
    await closeRaw();
    await db.close();
  }
}

/**
 * Why the demo accounts may not be written here, if they may not. On a database whose accounts are someone's own,
 * the demo's logins (one published password) would be new ways in: the first user is its admin, and each demo
 * account would sign up beside them. A database the seed wrote before (its admin is the demo's) is fine.
 */
async function accountsRefusal(db: AppDatabase): Promise<string | undefined> {
  if ((await db.users.count()) === 0) return undefined;
  const admin = await db.users.findByEmail(people[0].email);
  if (admin?.role === Role.ADMIN) return undefined;
  return `The database has accounts of its own, and ${people[0].email} is not its admin`;
}

/** A second connection, for settling times below the services. */
function openRaw(config: Config): { raw: SqlBackend; closeRaw: () => Promise<void> } {
  if (config.database.kind === "sqlite") {
    const handle = openSqlite({ path: config.database.path, busyTimeoutMs: config.dbBusyTimeoutMs });
    return { raw: sqliteBackend(handle), closeRaw: async () => handle.close() };
  }
  const handle = openPostgres({ url: config.database.url, poolSize: 1 });
  return { raw: postgresBackend(handle), closeRaw: () => handle.close() };
}

async function seed(db: AppDatabase, raw: SqlBackend): Promise<void> {
  const started = Date.now();
  const random = prng(20260101);
  const cursors = createCursorCodec("seed-only-cursor-secret-0123456789abcdef");
  const throttle = () => createLoginThrottle({ failures: createMemoryWindowCounter({ windowMs: 60_000, maxBytes: 1 << 20 }), maxFailures: 10 });
  const users = new UserService({
    users: db.users,
    hasher: createPasswordHasher(),
    tokens: createTokenService("seed-only-token-secret-0123456789abcdefgh", 60),
    cursors,
    throttle: throttle(),
    addressThrottle: throttle(),
    allowSignup: true,
  });
  const loaders = createLoaders({ users: db.users, incidents: db.incidents, services: db.services, alerts: db.alerts, insights: db.insights, webhooks: db.webhooks });
  const incidents = new IncidentService({ incidents: db.incidents, cursors });
  const world: World = {
    db,
    raw,
    loaders,
    users,
    incidents,
    insights: new InsightService({ insights: db.insights, incidents: db.incidents, incidentService: incidents }),
    admin: undefined as unknown as UserRow,
    responders: [],
    realStart: new Date(),
    end: Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()),
    merged: 0,
    run: Date.now().toString(36),
  };
  world.admin = await person(world, people[0], undefined);
  for (const spec of people.slice(1)) {
    const user = await person(world, spec, world.admin);
    if (user.role === Role.RESPONDER) world.responders.push(user);
  }

  const services = new ServiceService({ services: db.services, cursors });
  const integrations = new IntegrationService(db.alerts);
  const targets = new Map<string, { row: ServiceRow; target?: IngestTarget }>();
  // With --force on a seeded database, the services of the earlier run are used again (names are unique).
  const existing = new Map((await db.services.page(100, undefined)).map((row) => [row.name, row]));
  for (const spec of demoServices) {
    const row = existing.get(spec.name) ?? (await services.create(world.admin, { name: spec.name, description: spec.description, autoResolve: spec.autoResolve }));
    let target: IngestTarget | undefined;
    if (spec.source !== "PEOPLE") {
      const { key } = await integrations.create(world.admin, { serviceId: String(row.id), name: `${spec.name} ${spec.source === "ALERTMANAGER" ? "Alertmanager" : "Events API"}`, kind: spec.source });
      target = (await integrations.authenticate(key, spec.source))!.target;
    }
    targets.set(spec.name, { row, target });
  }

  const start = world.end - QUARTER_DAYS * DAY;
  const plans = planQuarter(random, start, new Map([...targets].map(([name, { row }]) => [name, row.id])));
  let [alerted, reported] = [0, 0];
  for (const [index, plan] of plans.entries()) {
    const { target } = targets.get(plan.service.name)!;
    if (target && plan.family) {
      await alertIncident(world, random, plan, target, index);
      alerted++;
    } else {
      await reportedIncident(world, random, plan, plan.serviceId);
      reported++;
    }
  }
  for (let i = 0; i < 12; i++) {
    const at = start + random.int(0, QUARTER_DAYS - 1) * DAY + random.int(8, 18) * HOUR;
    await reportedIncident(world, random, { at, title: random.pick(unservicedTitles), description: "", priority: "LOW" }, null);
    reported++;
  }
  const total = await db.incidents.count({});
  console.log(
    `Seeded ${total} incidents (${alerted} opened by alerts, ${reported} by people, ${world.merged} duplicates merged) over the ${QUARTER_DAYS} days ` +
      `before ${new Date(world.end).toISOString().slice(0, 10)}, ${demoServices.length} services, ${people.length} people, in ${((Date.now() - started) / 1000).toFixed(1)} s.\n` +
      `Sign in as ${people[0].email} (or priya@example.com, a responder) with the password ${DEMO_PASSWORD}.`,
  );
}

const responder = (world: World, random: ReturnType<typeof prng>) => random.pick(world.responders);

async function update(world: World, actor: UserRow, id: number, input: Record<string, unknown>, at: number): Promise<boolean> {
  if (at >= world.end) return false;
  await world.incidents.update(actor, String(id), input, world.loaders);
  await settle(world, id, at, input.status === "RESOLVED" || input.status === "CLOSED");
  return true;
}

async function note(world: World, actor: UserRow, id: number, at: number, random: ReturnType<typeof prng>): Promise<void> {
  if (at >= world.end) return;
  await world.incidents.addNote(actor, String(id), random.pick(notes));
  await settle(world, id, at);
}

async function alertIncident(world: World, random: ReturnType<typeof prng>, plan: Plan, target: IngestTarget, index: number): Promise<void> {
  const family = plan.family!;
  const fingerprints = Array.from({ length: random.chance(0.25) ? random.int(2, 3) : 1 }, (_, i) => `demo-${world.run}-${index}-${i}-${random.hex(8)}`);
  const labels: Record<string, string> = { alertname: family.alertName, severity: family.severity.toLowerCase(), env: "prod", team: plan.service.name.toLowerCase().replace(/\s+/g, "-"), ...family.labels?.(random) };
  const alert = (fingerprint: string, action: IncomingAlert["action"], at: number): IncomingAlert => ({
    action,
    fingerprint,
    severity: family.severity,
    summary: plan.title,
    title: plan.title,
    description: plan.description,
    source: labels.instance ?? null,
    labels,
    annotations: { summary: plan.title, description: plan.description },
    generatorUrl: null,
    groupKey: `demo-group-${world.run}-${index}`,
    startsAt: new Date(at),
    endsAt: action === "resolve" ? new Date(at) : null,
  });
  const opened = await world.db.alerts.ingest(target, fingerprints.map((fingerprint) => alert(fingerprint, "trigger", plan.at)), new Date(plan.at));
  const id = opened.incidentIds[0]!;
  let now = plan.at;
  if (random.chance(0.3)) {
    now += 5 * MINUTE;
    await world.db.alerts.ingest(target, [alert(fingerprints[0]!, "trigger", now)], new Date(now));
  }
  if (random.chance(0.04)) now = await duplicateReport(world, random, plan, id, now);
  const owner = responder(world, random);
  const ackAt = now + random.tail(8 * MINUTE);
  const acknowledged = random.chance(0.85) && (await update(world, owner, id, { status: "INVESTIGATING", assigneeId: String(owner.id) }, ackAt));
  now = acknowledged ? ackAt : now;
  if (acknowledged && random.chance(0.6)) await note(world, owner, id, (now += random.tail(10 * MINUTE)), random);
  // Some of the last two days' problems are still being worked on.
  if (plan.at > world.end - 2 * DAY && random.chance(0.4)) return;
  const resolveAt = now + random.tail(45 * MINUTE);
  if (resolveAt >= world.end) return;
  if (target.autoResolve && random.chance(0.7)) {
    await world.db.alerts.ingest(target, fingerprints.map((fingerprint) => alert(fingerprint, "resolve", resolveAt)), new Date(resolveAt));
  } else {
    if (!acknowledged && !(await update(world, owner, id, { status: "INVESTIGATING" }, resolveAt - MINUTE))) return;
    await update(world, owner, id, { status: "RESOLVED" }, resolveAt);
  }
  if (random.chance(0.5)) {
    const current = await world.db.incidents.findById(id);
    if (current?.status === "RESOLVED") await update(world, owner, id, { status: "CLOSED" }, resolveAt + random.tail(DAY));
  }
}

/**
 * A person reports what monitoring opened minutes ago; a responder merges the report into the alert's incident.
 * Returns the time of the merge.
 */
async function duplicateReport(world: World, random: ReturnType<typeof prng>, plan: Plan, targetId: number, after: number): Promise<number> {
  const reportAt = after + random.int(3, 10) * MINUTE;
  const mergeAt = reportAt + random.int(5, 15) * MINUTE;
  if (mergeAt >= world.end) return after;
  const report = await world.incidents.create(
    responder(world, random),
    { title: `${plan.service.name}: ${plan.title.toLowerCase()}?`, description: "Customers are complaining.", priority: plan.priority, serviceId: String(plan.serviceId) },
    world.loaders,
  );
  await settle(world, report.id, reportAt);
  await world.insights.merge(responder(world, random), String(targetId), [String(report.id)]);
  await settle(world, report.id, mergeAt);
  await settle(world, targetId, mergeAt);
  world.merged++;
  return mergeAt;
}

async function reportedIncident(
  world: World,
  random: ReturnType<typeof prng>,
  plan: Pick<Plan, "at" | "title" | "description" | "priority">,
  serviceId: number | null,
): Promise<void> {
  const reporter = responder(world, random);
  const owner = random.chance(0.7) ? responder(world, random) : null;
  const input = { title: plan.title, description: plan.description, priority: plan.priority, ...(serviceId ? { serviceId: String(serviceId) } : {}), ...(owner ? { assigneeId: String(owner.id) } : {}) };
  const row = await world.incidents.create(reporter, input, world.loaders);
  await settle(world, row.id, plan.at);
  const actor = owner ?? reporter;
  const ackAt = plan.at + random.tail(25 * MINUTE);
  if (!(await update(world, actor, row.id, { status: "INVESTIGATING" }, ackAt))) return;
  let now = ackAt;
  for (let n = random.int(0, 3); n > 0; n--) await note(world, actor, row.id, (now += random.tail(30 * MINUTE)), random);
  const resolveAt = now + random.tail(3 * HOUR);
  if (!(await update(world, actor, row.id, { status: "RESOLVED" }, resolveAt))) return;
  if (random.chance(0.6)) await update(world, actor, row.id, { status: "CLOSED" }, resolveAt + random.tail(DAY));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Invalid configuration: ${error.message}` : error);
  process.exitCode = 1;
});
