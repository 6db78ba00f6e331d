// The raw floor: what the same reads and writes cost with nothing but node:http, better-sqlite3 with hand-written
// prepared statements (prepared once, reused), and JSON.stringify. No GraphQL, no auth, no framework.
// Benchmark-only: the server never imports this file.
//
// As fast as a person could write each read by hand: the fewest statements, rows as arrays, no per-row work the
// answer does not need. A nested page is three statements whatever its size (the page; every entry of every
// incident on it, each parent's a LIMITed range of incident_logs_incident_idx; the names of every user it names),
// incident by id one (the incident joined with its two users). In process, against the earlier floor (one timeline
// statement per incident and one per user), the 50x10 page took 1.19 and 0.85 ms against 1.72 and 1.15 ms (two runs
// on a shared machine, minimum of 7 rounds of 500 each).
//
// Its read responses are byte-identical to the API's for the benchmark's documents (test/bench-floor.test.ts):
//   query { incidents(first: F[, filter: {status: [..]}]) { nodes { id reporter { name } assignee { name }
//           logs(first: L) { nodes { message author { name } } } } } }
//   query($id: ID!) { incident(id: $id) { id title status priority reporter { name } assignee { name } } }
//
// Routes (POST, JSON body):
//   /nested    {"first": 50, "logs": 10, "status": ["OPEN"]?}
//   /incident  {"id": "12"}
//   /update    {"id": "12", "priority": "HIGH"} or {"id": "12", "title": "..."}, "actor": 1   (one timeline entry)
//   /note      {"id": "12", "message": "...", "actor": 1}
//   GET /stats {"statements": N}   statements executed so far (to compare with the API's db_queries_total)
//
// Run alone: node dist/bench/raw-floor.js --db /path/incidents.db [--port 0]   (prints {"port":N} when listening)
import Database from "better-sqlite3";
import { connectionPragmas } from "../src/db/sqlite-pragmas.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

export interface NestedArgs {
  first: number;
  logs: number;
  status?: readonly string[];
}

export interface Floor {
  nested(args: NestedArgs): string;
  incident(id: string): string;
  update(args: { id: string; priority?: string; title?: string; actor: number }): string;
  note(args: { id: string; message: string; actor: number }): string;
  statements(): number;
  close(): void;
}

const idPattern = /^[1-9][0-9]{0,15}$/;
const parseId = (id: unknown): number | undefined =>
  typeof id === "string" && idPattern.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : undefined;

export function openFloor(dbPath: string): Floor {
  const db = new Database(dbPath, { timeout: 5000 });
  // The same connection settings as the server: WAL, synchronous=FULL, foreign keys, the map and the cache.
  for (const pragma of connectionPragmas) db.pragma(pragma);
  db.pragma("busy_timeout = 5000");
  let statements = 0;

  // Rows as arrays: no object per row. Page rows are [id, reporter_id, assignee_id].
  type PageRow = [number, number, number | null];
  const page = db
    .prepare<[number], PageRow>("SELECT id, reporter_id, assignee_id FROM incidents ORDER BY created_at DESC, id DESC LIMIT ?")
    .raw();
  const filteredPages = new Map<number, Database.Statement<unknown[], PageRow>>();
  const filteredPage = (count: number) => {
    let statement = filteredPages.get(count);
    if (!statement) {
      statement = db
        .prepare<unknown[], PageRow>(
          `SELECT id, reporter_id, assignee_id FROM incidents WHERE status IN (${Array(count).fill("?").join(", ")})
           ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .raw();
      filteredPages.set(count, statement);
    }
    return statement;
  };
  // [incident_id, message, author_id] for the first `?` entries of every incident of the JSON array, in the array's
  // order and then by id: a LIMITed covering-index range per parent, then the row by rowid.
  const logs = db
    .prepare<[string, number], [number, string, number | null]>(
      `SELECT l.incident_id, l.message, l.author_id FROM json_each(?) AS parent
       JOIN incident_logs AS l ON l.id IN (SELECT id FROM incident_logs WHERE incident_id = parent.value ORDER BY id LIMIT ?)`,
    )
    .raw();
  const userNames = db
    .prepare<[string], [number, string]>("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))")
    .raw();
  // [id, title, status, priority, reporter name, assignee_id, assignee name]
  const incidentWithUsers = db
    .prepare<[number], [number, string, string, string, string, number | null, string | null]>(
      `SELECT i.id, i.title, i.status, i.priority, r.name, i.assignee_id, a.name
       FROM incidents AS i JOIN users AS r ON r.id = i.reporter_id LEFT JOIN users AS a ON a.id = i.assignee_id
       WHERE i.id = ?`,
    )
    .raw();
  const incidentById = db.prepare<
    [number],
    { id: number; title: string; status: string; priority: string; version: number; reporter_id: number; assignee_id: number | null }
  >("SELECT id, title, status, priority, version, reporter_id, assignee_id FROM incidents WHERE id = ?");
  const setPriority = db.prepare<[string, number, number, number], { id: number; title: string; priority: string; version: number }>(
    "UPDATE incidents SET priority = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? RETURNING id, title, priority, version",
  );
  const setTitle = db.prepare<[string, number, number, number], { id: number; title: string; priority: string; version: number }>(
    "UPDATE incidents SET title = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ? RETURNING id, title, priority, version",
  );
  const insertLog = db.prepare<[number, string, string, number | null, number], { id: number; kind: string; message: string }>(
    `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
     VALUES (?, ?, ?, ?, NULL, NULL, ?) RETURNING id, kind, message`,
  );
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");

  const write = <T>(work: () => T): T => {
    statements++;
    begin.run();
    try {
      const result = work();
      statements++;
      commit.run();
      return result;
    } catch (error) {
      statements++;
      rollback.run();
      throw error;
    }
  };

  const failure = (message: string, code: string) => JSON.stringify({ errors: [{ message, extensions: { code } }], data: null }) + "\n";

  return {
    nested({ first, logs: logsFirst, status }) {
      statements++;
      const rows = status ? filteredPage(status.length).all(...status, first) : page.all(first);
      if (rows.length === 0) return JSON.stringify({ data: { incidents: { nodes: [] } } }) + "\n";
      const timelines = new Map<number, Array<{ message: string; author: { name: string } | null }>>();
      const userIds = new Set<number>();
      for (const row of rows) {
        timelines.set(row[0], []);
        userIds.add(row[1]);
        if (row[2] !== null) userIds.add(row[2]);
      }
      statements++;
      const entries = logs.all(JSON.stringify(rows.map((row) => row[0])), logsFirst);
      for (const entry of entries) if (entry[2] !== null) userIds.add(entry[2]);
      statements++;
      const names = new Map<number, { name: string }>();
      for (const [id, name] of userNames.all(JSON.stringify([...userIds]))) names.set(id, { name });
      const user = (id: number | null) => (id === null ? null : (names.get(id) ?? null));
      for (const entry of entries) timelines.get(entry[0])!.push({ message: entry[1], author: user(entry[2]) });
      const nodes = rows.map((row) => ({
        id: String(row[0]),
        reporter: user(row[1]),
        assignee: user(row[2]),
        logs: { nodes: timelines.get(row[0])! },
      }));
      // Apollo Server ends its JSON with a newline (prettyJSONStringify).
      return JSON.stringify({ data: { incidents: { nodes } } }) + "\n";
    },

    incident(rawId) {
      const id = parseId(rawId);
      if (id === undefined) return JSON.stringify({ data: { incident: null } }) + "\n";
      statements++;
      const row = incidentWithUsers.get(id);
      if (!row) return JSON.stringify({ data: { incident: null } }) + "\n";
      return (
        JSON.stringify({
          data: {
            incident: {
              id: String(row[0]),
              title: row[1],
              status: row[2],
              priority: row[3],
              reporter: { name: row[4] },
              assignee: row[5] === null ? null : { name: row[6] },
            },
          },
        }) + "\n"
      );
    },

    update({ id: rawId, priority, title, actor }) {
      const id = parseId(rawId);
      if (id === undefined) return failure("Incident not found", "NOT_FOUND");
      return write(() => {
        statements++;
        const current = incidentById.get(id);
        if (!current) return failure("Incident not found", "NOT_FOUND");
        if (current.status === "CLOSED") return failure("A closed incident cannot change", "BAD_USER_INPUT");
        const now = Date.now();
        let updated;
        let entry: [string, string];
        if (priority !== undefined && priority !== current.priority) {
          statements++;
          updated = setPriority.get(priority, now, id, current.version);
          entry = ["PRIORITY_CHANGE", `Priority changed from ${current.priority} to ${priority}`];
        } else if (title !== undefined && title !== current.title) {
          statements++;
          updated = setTitle.get(title, now, id, current.version);
          entry = ["EDIT", "Title edited"];
        } else {
          return JSON.stringify({
            data: { updateIncident: { id: String(current.id), title: current.title, priority: current.priority, version: current.version } },
          }) + "\n";
        }
        if (!updated) return failure("Incident was changed meanwhile", "CONFLICT");
        statements++;
        insertLog.get(id, entry[0], entry[1], actor, now);
        return (
          JSON.stringify({
            data: { updateIncident: { id: String(updated.id), title: updated.title, priority: updated.priority, version: updated.version } },
          }) + "\n"
        );
      });
    },

    note({ id: rawId, message, actor }) {
      const id = parseId(rawId);
      if (id === undefined) return failure("Incident not found", "NOT_FOUND");
      return write(() => {
        statements++;
        if (!incidentById.get(id)) return failure("Incident not found", "NOT_FOUND");
        statements++;
        const log = insertLog.get(id, "NOTE", message, actor, Date.now())!;
        return JSON.stringify({ data: { addIncidentLog: { id: String(log.id), kind: log.kind, message: log.message } } }) + "\n";
      });
    },

    statements: () => statements,
    close() {
      if (db.open) db.close();
    },
  };
}

/** node:http around a floor; one request at a time reaches SQLite (it is synchronous), like the API. */
export function createFloorServer(floor: Floor): Server {
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const route = (req: IncomingMessage, text: string): string | undefined => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/stats") return JSON.stringify({ statements: floor.statements() });
    if (req.method === "GET" && path === "/healthz") return JSON.stringify({ status: "ok" });
    if (req.method !== "POST") return undefined;
    const body = (text ? JSON.parse(text) : {}) as Record<string, any>;
    switch (path) {
      case "/nested":
        return floor.nested({ first: Number(body.first ?? 20), logs: Number(body.logs ?? 50), status: body.status ?? undefined });
      case "/incident":
        return floor.incident(String(body.id));
      case "/update":
        return floor.update({ id: String(body.id), priority: body.priority, title: body.title, actor: Number(body.actor ?? 1) });
      case "/note":
        return floor.note({ id: String(body.id), message: String(body.message), actor: Number(body.actor ?? 1) });
      default:
        return undefined;
    }
  };
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const body = route(req, chunks.length === 0 ? "" : Buffer.concat(chunks).toString("utf8"));
        if (body === undefined) send(res, 404, JSON.stringify({ error: "not found" }));
        else send(res, 200, body);
      } catch (error) {
        send(res, 500, JSON.stringify({ error: String(error) }));
      }
    });
  });
}

/** Opens the floor over `dbPath` and listens; resolves with the port. */
export async function startFloor(dbPath: string, port = 0, host = "127.0.0.1"): Promise<{ server: Server; floor: Floor; port: number; close(): Promise<void> }> {
  const floor = openFloor(dbPath);
  const server = createFloorServer(floor);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    floor,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          floor.close();
          resolve();
        });
      }),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const arg = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const dbPath = arg("db");
  if (!dbPath) {
    process.stderr.write("usage: raw-floor --db PATH [--port N]\n");
    process.exit(2);
  }
  const running = await startFloor(dbPath, Number(arg("port") ?? 0));
  process.stdout.write(JSON.stringify({ port: running.port }) + "\n");
  const stop = () => void running.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Exit with the parent if it goes away without signalling us.
  process.on("disconnect", stop);
}
