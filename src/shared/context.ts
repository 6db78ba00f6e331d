import type { Logger } from "pino";
import type { UserRow } from "../modules/users/user.table.js";
import type { RateLimitState } from "../graphql/query-cost.js";
import type { Loaders } from "./loaders.js";
import type { Pause } from "./time-slicer.js";

/** What every resolver receives: built once per request (or per subscription event). */
export interface GraphQLContext {
  requestId: string;
  log: Logger;
  loaders: Loaders;
  /** The client's network address, for per-address throttling; absent outside HTTP. */
  clientAddress?: string;
  /** Who a request's fair share and cost budget belong to: `user:<id>` from its token, else `address:<ip>`. */
  client?: string;
  /** Before a page loads: a request past its time slice waits here for a turn of its own (time-slicer.ts). */
  pause?: Pause;
  /** The authenticated caller, read from the database; throws UNAUTHENTICATED when there is none. */
  viewer(): Promise<UserRow>;
  /** Set before execution when a cost budget applies: what this request cost and what the client has left. */
  rateLimit?: RateLimitState;
  /** Set by the executor: bytes of answer counted so far by the fields that build large values, and the limit. */
  responseBytes?: { used: number; max: number };
}
