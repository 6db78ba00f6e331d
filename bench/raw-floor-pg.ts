// The raw floor on PostgreSQL: node:http, a `pg` Pool with hand-written SQL as named prepared statements (parsed
// once per connection, then reused), and JSON.stringify. No GraphQL, no auth, no framework, no ORM.
// Benchmark-only: the server never imports this file.
//
// Same routes and the same bytes as bench/raw-floor.ts (the SQLite floor); test/bench-floor-pg.test.ts checks the
// identity with the API for the nested read and incident by id. A nested page costs three statements whatever its
// size (the page; every entry of every incident on it through one LATERAL join; the names of every user it names),
// incident by id one (a join of the incident with its two users).
//
// Run alone: node dist/bench/raw-floor-pg.js --url postgres://... [--port 0] [--pool 10]   (prints {"port":N})
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import pg from "pg";
import type { NestedArgs } from "./raw-floor.js";

export interface FloorPg {
  nested(args: NestedArgs): Promise<string>;
  incident(id: string): Promise<string>;
  update(args: { id: string; priority?: string; title?: string; actor: number }): Promise<string>;
  note(args: { id: string; message: string; actor: number }): Promise<string>;
  statements(): number;
  close(): Promise<void>;
}

const idPattern = /^[1-9][0-9]{0,15}$/;
const parseId = (id: unknown): number | undefined =>
  typeof id === "string" && idPattern.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : undefined;

// Rows as arrays (rowMode "array"): no object per row. bigint columns arrive as strings, which is what the JSON wants.
// The timelines need no ORDER BY of their own: the rows are grouped by incident here, and each LATERAL range comes
// in id order from the index, so a sort of the whole result would be work that the answer does not need.
const PAGE = "SELECT id, reporter_id, assignee_id FROM incidents ORDER BY created_at DESC, id DESC LIMIT $1";
const FILTERED_PAGE =
  "SELECT id, reporter_id, assignee_id FROM incidents WHERE status = ANY($1::text[]) ORDER BY created_at DESC, id DESC LIMIT $2";
const LOGS = `SELECT l.incident_id, l.message, l.author_id
  FROM unnest($1::bigint[]) AS p(id)
  CROSS JOIN LATERAL (SELECT incident_id, message, author_id FROM incident_logs WHERE incident_id = p.id ORDER BY id LIMIT $2) l`;
const USER_NAMES = "SELECT id, name FROM users WHERE id = ANY($1::bigint[])";
const BY_ID = `SELECT i.id, i.title, i.status, i.priority, r.name, i.assignee_id, a.name
  FROM incidents i JOIN users r ON r.id = i.reporter_id LEFT JOIN users a ON a.id = i.assignee_id
  WHERE i.id = $1`;
const LOCK = "SELECT id, title, status, priority, version FROM incidents WHERE id = $1 FOR UPDATE";
const EXISTS = "SELECT id FROM incidents WHERE id = $1";
const SET_PRIORITY =
  "UPDATE incidents SET priority = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4 RETURNING id, title, priority, version";
const SET_TITLE =
  "UPDATE incidents SET title = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4 RETURNING id, title, priority, version";
const INSERT_LOG = `INSERT INTO incident_logs (incident_id, kind, message, author_id, from_status, to_status, created_at)
  VALUES ($1, $2, $3, $4, NULL, NULL, $5) RETURNING id, kind, message`;

export function openFloorPg(url: string, poolSize = 10): FloorPg {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on("error", () => {});
  let statements = 0;
  const run = async <R extends unknown[]>(client: pg.Pool | pg.PoolClient, name: string, text: string, values: unknown[]): Promise<R[]> => {
    statements++;
    const result = await client.query<R>({ name, text, values, rowMode: "array" });
    return result.rows;
  };
  const failure = (message: string, code: string) => JSON.stringify({ errors: [{ message, extensions: { code } }], data: null }) + "\n";
  const missing = JSON.stringify({ data: { incident: null } }) + "\n";

  /** BEGIN ... COMMIT on one connection of the pool. */
  const write = async (work: (client: pg.PoolClient) => Promise<string>): Promise<string> => {
    const client = await pool.connect();
    try {
      statements++;
      await client.query("BEGIN");
      try {
        const result = await work(client);
        statements++;
        await client.query("COMMIT");
        return result;
      } catch (error) {
        statements++;
        await client.query("ROLLBACK");
        throw error;
      }
    } finally {
      client.release();
    }
  };

  return {
    async nested({ first, logs: logsFirst, status }) {
      const rows = status
        ? await run<[string, string, string | null]>(pool, "floor_filtered_page", FILTERED_PAGE, [status, first])
        : await run<[string, string, string | null]>(pool, "floor_page", PAGE, [first]);
      if (rows.length === 0) return JSON.stringify({ data: { incidents: { nodes: [] } } }) + "\n";
      const entries = await run<[string, string, string | null]>(pool, "floor_logs", LOGS, [rows.map((row) => row[0]), logsFirst]);
      const byIncident = new Map<string, Array<[string, string | null]>>();
      const userIds = new Set<string>();
      for (const row of rows) {
        byIncident.set(row[0], []);
        userIds.add(row[1]);
        if (row[2] !== null) userIds.add(row[2]);
      }
      for (const entry of entries) {
        byIncident.get(entry[0])!.push([entry[1], entry[2]]);
        if (entry[2] !== null) userIds.add(entry[2]);
      }
      const names = new Map<string, { name: string }>();
      for (const [id, name] of await run<[string, string]>(pool, "floor_user_names", USER_NAMES, [[...userIds]])) names.set(id, { name });
      const user = (id: string | null) => (id === null ? null : (names.get(id) ?? null));
      const nodes = rows.map((row) => ({
        id: row[0],
        reporter: user(row[1]),
        assignee: user(row[2]),
        logs: { nodes: byIncident.get(row[0])!.map((entry) => ({ message: entry[0], author: user(entry[1]) })) },
      }));
      // Apollo Server ends its JSON with a newline (prettyJSONStringify).
      return JSON.stringify({ data: { incidents: { nodes } } }) + "\n";
    },

    async incident(rawId) {
      const id = parseId(rawId);
      if (id === undefined) return missing;
      const [row] = await run<[string, string, string, string, string, string | null, string | null]>(pool, "floor_by_id", BY_ID, [id]);
      if (!row) return missing;
      return (
        JSON.stringify({
          data: {
            incident: {
              id: row[0],
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

    async update({ id: rawId, priority, title, actor }) {
      const id = parseId(rawId);
      if (id === undefined) return failure("Incident not found", "NOT_FOUND");
      return write(async (client) => {
        const [current] = await run<[string, string, string, string, number]>(client, "floor_lock", LOCK, [id]);
        if (!current) return failure("Incident not found", "NOT_FOUND");
        const [, currentTitle, currentStatus, currentPriority, version] = current;
        if (currentStatus === "CLOSED") return failure("A closed incident cannot change", "BAD_USER_INPUT");
        const now = new Date();
        let updated: [string, string, string, number] | undefined;
        let entry: [string, string];
        if (priority !== undefined && priority !== currentPriority) {
          [updated] = await run<[string, string, string, number]>(client, "floor_set_priority", SET_PRIORITY, [priority, now, id, version]);
          entry = ["PRIORITY_CHANGE", `Priority changed from ${currentPriority} to ${priority}`];
        } else if (title !== undefined && title !== currentTitle) {
          [updated] = await run<[string, string, string, number]>(client, "floor_set_title", SET_TITLE, [title, now, id, version]);
          entry = ["EDIT", "Title edited"];
        } else {
          return JSON.stringify({ data: { updateIncident: { id: current[0], title: currentTitle, priority: currentPriority, version } } }) + "\n";
        }
        if (!updated) return failure("Incident was changed meanwhile", "CONFLICT");
        await run(client, "floor_insert_log", INSERT_LOG, [id, entry[0], entry[1], actor, now]);
        return JSON.stringify({ data: { updateIncident: { id: updated[0], title: updated[1], priority: updated[2], version: updated[3] } } }) + "\n";
      });
    },

    async note({ id: rawId, message, actor }) {
      const id = parseId(rawId);
      if (id === undefined) return failure("Incident not found", "NOT_FOUND");
      return write(async (client) => {
        // The lookup answers NOT_FOUND before the insert, as the SQLite floor does.
        const [current] = await run(client, "floor_exists", EXISTS, [id]);
        if (!current) return failure("Incident not found", "NOT_FOUND");
        const [log] = await run<[string, string, string]>(client, "floor_insert_log", INSERT_LOG, [id, "NOTE", message, actor, new Date()]);
        return JSON.stringify({ data: { addIncidentLog: { id: log![0], kind: log![1], message: log![2] } } }) + "\n";
      });
    },

    statements: () => statements,
    close: () => pool.end(),
  };
}

/** node:http around a PostgreSQL floor. */
export function createFloorPgServer(floor: FloorPg): Server {
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const route = (req: IncomingMessage, text: string): Promise<string> | string | undefined => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/stats") return JSON.stringify({ statements: floor.statements() });
    if (req.method === "GET" && path === "/healthz") return JSON.stringify({ status: "ok" });
    if (req.method !== "POST") return undefined;
    const body = text === "" ? {} : JSON.parse(text);
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
      Promise.resolve()
        .then(() => route(req, chunks.length === 0 ? "" : Buffer.concat(chunks).toString("utf8")))
        .then(
          (body) => (body === undefined ? send(res, 404, JSON.stringify({ error: "not found" })) : send(res, 200, body)),
          (error) => send(res, 500, JSON.stringify({ error: String(error) })),
        );
    });
  });
}

/** Opens the floor over `url` and listens; resolves with the port. */
export async function startFloorPg(
  url: string,
  port = 0,
  host = "127.0.0.1",
  poolSize = 10,
): Promise<{ server: Server; floor: FloorPg; port: number; close(): Promise<void> }> {
  const floor = openFloorPg(url, poolSize);
  const server = createFloorPgServer(floor);
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
        server.close(() => void floor.close().then(resolve, () => resolve()));
      }),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const arg = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? process.argv[index + 1] : undefined;
  };
  const url = arg("url");
  if (!url) {
    process.stderr.write("usage: raw-floor-pg --url postgres://... [--port N] [--pool N]\n");
    process.exit(2);
  }
  const running = await startFloorPg(url, Number(arg("port") ?? 0), "127.0.0.1", Number(arg("pool") ?? 10));
  process.stdout.write(JSON.stringify({ port: running.port }) + "\n");
  const stop = () => void running.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop);
}
