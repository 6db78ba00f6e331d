// Every table of the PostgreSQL backend, for drizzle-kit (drizzle.pg.config.ts) and for the connection.
import type { IncidentLogRow } from "../modules/incidents/incident-log.table.js";
import type { PgIncidentLogRow } from "../modules/incidents/incident-log.pg-table.js";
import type { IncidentRow } from "../modules/incidents/incident.table.js";
import type { PgIncidentRow } from "../modules/incidents/incident.pg-table.js";
import type { UserRow } from "../modules/users/user.table.js";
import type { PgUserRow } from "../modules/users/user.pg-table.js";

export { users } from "../modules/users/user.pg-table.js";
export { incidents } from "../modules/incidents/incident.pg-table.js";
export { incidentLogs } from "../modules/incidents/incident-log.pg-table.js";
export { generatedSecrets } from "../auth/secret.pg-table.js";

// The services work with the SQLite row types; both backends must read rows of exactly the same shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShapes: [Same<PgUserRow, UserRow>, Same<PgIncidentRow, IncidentRow>, Same<PgIncidentLogRow, IncidentLogRow>] = [true, true, true];
void sameShapes;
