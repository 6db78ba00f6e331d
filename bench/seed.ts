// Fast, deterministic seeding of the incident database, straight through better-sqlite3 (one transaction of
// prepared inserts). Used by the benchmark driver and by test/bench-floor.test.ts. The schema must exist already
// (migrations applied by the server or by applyMigrations).
import type Database from "better-sqlite3";

export interface SeedUsers {
  /** Active RESPONDERs: reporters and assignees. */
  responders: number[];
  /** Writes some timeline entries, never reports or owns an incident (so a page always needs a second user batch). */
  scribe: number;
  /** Everyone seeded, for reporters. */
  all: number[];
}

export interface SeedResult {
  users: SeedUsers;
  /** Ids of the incidents inserted by this call, oldest first. */
  incidentIds: number[];
  /** Inserted incidents that are not CLOSED, so `updateIncident` can change them. */
  writable: number[];
  firstCreatedAt: number;
  lastCreatedAt: number;
}

const statuses = ["OPEN", "INVESTIGATING", "RESOLVED", "CLOSED"] as const;
const priorities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"] as const;

// Names and messages that JSON has to escape, or that are outside ASCII, so that byte-identity means something.
const userNames = [
  "Ada Lovelace",
  'Renée "RJ" Jonés',
  "Zoë Ökten",
  "Li Wei 李伟",
  "Back\\slash O'Brien",
  "Émile\tTab",
];
const phrases = [
  "Checkout returns 502",
  'Error rate > 5% on "payments"',
  "Latency spike — p99 at 2.3 s",
  "Disk 93% full on db-02\nrotating logs",
  "Cache miss storm ✓ mitigated",
  "Path C:\\temp\\dump is growing",
  "Ünïcödé in the subject: 東京 region",
  "Line\u2028separator and emoji 🔥",
];

/**
 * Inserts the seed users (once per database: they are found again by e-mail on later calls). The bench user that
 * signed up through the API is not one of them and is never a reporter, assignee or author of seeded rows.
 */
/** The rows both seeds write (bench/seed.ts for SQLite, bench/seed-pg.ts for PostgreSQL): one definition, same data. */
export interface SeedIncidentRow {
  title: string;
  description: string;
  status: string;
  priority: string;
  reporter: number;
  assignee: number | null;
  createdAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  logs: Array<{ kind: string; message: string; author: number | null; createdAt: number }>;
}

export const seedShapes = {
  passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$bench$notarealhash",
  scribe: { email: "bench-scribe@example.com", name: "Scribe «bot»", role: "VIEWER" },
  users(count: number): Array<{ email: string; name: string; role: string }> {
    return Array.from({ length: Math.max(2, count) }, (_, i) => ({
      email: `bench-user-${i}@example.com`,
      name: userNames[i % userNames.length]! + (i >= userNames.length ? ` ${i}` : ""),
      role: "RESPONDER",
    }));
  },
  /**
   * `count` incidents after `base` existing ones, with `logsPerIncident` timeline entries each, newest last. Every
   * 7th incident shares its created_at with the previous one (the id breaks the tie in the ordering), every 3rd has
   * no assignee, and every 4th entry is a system entry (no author).
   */
  incidents(users: SeedUsers, base: number, count: number, logsPerIncident: number, start: number): SeedIncidentRow[] {
    const rows: SeedIncidentRow[] = [];
    let createdAt = start;
    for (let n = 0; n < count; n++) {
      const i = base + n;
      if (n > 0 && i % 7 !== 0) createdAt += 1000;
      const status = statuses[i % 4]!;
      const logs: SeedIncidentRow["logs"] = [];
      for (let j = 0; j < logsPerIncident; j++) {
        // j = 1 is always the scribe, so every page has an author that is neither a reporter nor an assignee.
        const author = j % 4 === 3 ? null : j === 1 ? users.scribe : users.all[(i + j) % users.all.length]!;
        const kind = j === 0 ? "NOTE" : j % 5 === 2 ? "PRIORITY_CHANGE" : j % 4 === 3 ? "EDIT" : "NOTE";
        const message = `${phrases[(i + j) % phrases.length]!} (entry ${j + 1} of incident ${i + 1})`;
        logs.push({ kind, message, author, createdAt: createdAt + j * 10 });
      }
      rows.push({
        title: `${phrases[i % phrases.length]!} #${i + 1}`,
        description: `Seeded incident ${i + 1}. ${phrases[(i + 3) % phrases.length]!}`,
        status,
        priority: priorities[(i >> 2) % 4]!,
        reporter: users.all[i % users.all.length]!,
        assignee: i % 3 === 0 ? null : users.responders[(i + 1) % users.responders.length]!,
        createdAt,
        acknowledgedAt: status === "OPEN" ? null : createdAt + 500,
        resolvedAt: status === "RESOLVED" || status === "CLOSED" ? createdAt + 800 : null,
        closedAt: status === "CLOSED" ? createdAt + 900 : null,
        logs,
      });
    }
    return rows;
  },
};

/**
 * Inserts the seed users (once per database: they are found again by e-mail on later calls). The bench user that
 * signed up through the API is not one of them and is never a reporter, assignee or author of seeded rows.
 */
export function seedUsers(db: Database.Database, count = 6): SeedUsers {
  const now = Date.UTC(2025, 0, 1);
  const find = db.prepare("SELECT id FROM users WHERE email = ?").pluck();
  const insert = db.prepare(
    `INSERT INTO users (email, name, password_hash, role, active, token_version, created_at, updated_at)
     VALUES (?, ?, ?, ?, 1, 0, ?, ?)`,
  );
  const ids: number[] = [];
  const ensure = (email: string, name: string, role: string): number => {
    const existing = find.get(email) as number | undefined;
    if (existing !== undefined) return existing;
    return Number(insert.run(email, name, seedShapes.passwordHash, role, now, now).lastInsertRowid);
  };
  db.transaction(() => {
    for (const user of seedShapes.users(count)) ids.push(ensure(user.email, user.name, user.role));
  })();
  const scribe = db.transaction(() => ensure(seedShapes.scribe.email, seedShapes.scribe.name, seedShapes.scribe.role))();
  return { responders: ids, scribe, all: ids };
}

export interface SeedOptions {
  incidents: number;
  logsPerIncident: number;
  users?: number;
  /** created_at of the first inserted incident; later calls continue after the newest existing one by default. */
  startAt?: number;
}

/**
 * Inserts `incidents` incidents with `logsPerIncident` timeline entries each, newest last, in one transaction.
 * Every 7th incident shares its created_at with the previous one (the id breaks the tie in the ordering), every
 * 3rd has no assignee, and every 4th entry is a system entry (no author).
 */
export function seedIncidents(db: Database.Database, options: SeedOptions): SeedResult {
  const users = seedUsers(db, options.users ?? 6);
  const newest = db.prepare("SELECT max(created_at) FROM incidents").pluck().get() as number | null;
  const start = options.startAt ?? (newest ?? Date.UTC(2025, 0, 1)) + 60_000;
  const insertIncident = db.prepare(
    `INSERT INTO incidents (title, description, status, priority, reporter_id, assignee_id, version, created_at, updated_at,
                            acknowledged_at, resolved_at, closed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertLog = db.prepare(
    `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const base = (db.prepare("SELECT count(*) FROM incidents").pluck().get() as number) ?? 0;
  const incidentIds: number[] = [];
  const writable: number[] = [];
  const rows = seedShapes.incidents(users, base, options.incidents, options.logsPerIncident, start);
  db.transaction(() => {
    for (const row of rows) {
      const id = Number(
        insertIncident.run(row.title, row.description, row.status, row.priority, row.reporter, row.assignee, 1, row.createdAt, row.createdAt + 900,
          row.acknowledgedAt, row.resolvedAt, row.closedAt).lastInsertRowid,
      );
      incidentIds.push(id);
      if (row.status !== "CLOSED") writable.push(id);
      for (const entry of row.logs) insertLog.run(id, entry.kind, entry.message, entry.author, null, null, entry.createdAt);
    }
  })();
  const createdAt = rows.length > 0 ? rows[rows.length - 1]!.createdAt : start;
  return { users, incidentIds, writable, firstCreatedAt: start, lastCreatedAt: createdAt };
}
