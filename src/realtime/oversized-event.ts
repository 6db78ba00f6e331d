import { GraphQLError, type ExecutionResult } from "graphql";
import { withinResponseSize } from "../graphql/response-size.js";
import type { GraphQLContext } from "../shared/context.js";

/**
 * Holds an event to the response size limit, as an HTTP answer is, but keeps what says which event it was: every
 * scalar of the event (its kind, its incident's id) stays, and each object (the incident, alert, log or actor, all
 * nullable) becomes null with its own QUERY_TOO_COMPLEX error at its path. The subscriber learns which incident
 * changed and can read it over HTTP, where an answer without data told it nothing.
 */
export function eventWithinResponseSize(result: ExecutionResult, maxBytes: number, context: GraphQLContext): ExecutionResult {
  const bounded = withinResponseSize(result, maxBytes, context);
  if (bounded === result || result.data == null) return bounded;
  const tooLarge = bounded.errors![0]!;
  // A field stopped at the limit while it executed is already null, its error deeper in its path.
  const failed = new Set((result.errors ?? []).map((error) => `${error.path?.[0]}.${error.path?.[1]}`));
  const data: Record<string, unknown> = {};
  const errors: GraphQLError[] = [];
  for (const [root, event] of Object.entries(result.data)) {
    if (event === null || typeof event !== "object") {
      data[root] = event;
      continue;
    }
    const kept: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(event)) {
      const dropped = (value !== null && typeof value === "object") || (value === null && failed.has(`${root}.${field}`));
      kept[field] = dropped ? null : value;
      if (dropped) errors.push(new GraphQLError(tooLarge.message, { path: [root, field], originalError: tooLarge.originalError }));
    }
    data[root] = kept;
  }
  return { data, errors };
}
