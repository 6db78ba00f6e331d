import { HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, Kind, getVariableValues, type FragmentDefinitionNode } from "graphql";
import type { GraphQLContext } from "../shared/context.js";
import { QueryTooComplexError, RateLimitedError } from "../shared/errors.js";
import type { WindowCounter } from "../shared/window-counter.js";
import { nodeCount } from "./document-limits.js";

/** What a request cost and what its client has left: `Query.rateLimit` and the x-ratelimit-* headers. */
export interface RateLimitState {
  limit: number;
  cost: number;
  used: number;
  remaining: number;
  resetAt: Date;
}

export interface CostBudget {
  /** Points spent per client in the current window (in memory, or shared through Redis). */
  spent: WindowCounter;
  points: number;
}

/** GitHub's cost: the worst-case node count over 100, rounded, and at least one point. */
export const requestCost = (nodes: number) => Math.max(1, Math.round(nodes / 100));

const refusal = (error: Error, status: number, headers?: HeaderMap) =>
  new GraphQLError(error.message, { originalError: error, extensions: { http: { status, ...(headers ? { headers } : {}) } } });

function rateLimitHeaders(state: RateLimitState): [string, string][] {
  return [
    ["x-ratelimit-limit", String(state.limit)],
    ["x-ratelimit-remaining", String(state.remaining)],
    ["x-ratelimit-reset", String(Math.ceil(state.resetAt.getTime() / 1000))],
  ];
}

/**
 * Prices each operation once it is resolved, still before any resolver or SQL: GitHub's node limit (the sum over
 * every connection and paged list of the product of the `first` values on its path, plus the fixed weight of each
 * ranking or metrics call: see nodeCount), then, with a budget, its cost charged to the client. Over the node limit: QUERY_TOO_COMPLEX. Over the budget: RATE_LIMITED with `retryAfter` (HTTP 429).
 */
export function queryCostPlugin(nodeLimit: number, budget: CostBudget | undefined): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      let state: RateLimitState | undefined;
      return {
        async didResolveOperation({ schema, operation, document, request, contextValue }) {
          if (!operation) return;
          const rootType = schema.getRootType(operation.operation);
          if (!rootType) return;
          const fragments = new Map<string, FragmentDefinitionNode>(
            document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
          );
          // Coerced as execution will see them: a variable left out takes its declared default.
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
          const variables = coerced.coerced ?? request.variables ?? {};
          const nodes = nodeCount(schema, operation.selectionSet, rootType, fragments, variables, nodeLimit);
          // Like the validation-stage limits, a 400: the request itself is at fault.
          if (nodes > nodeLimit) throw refusal(new QueryTooComplexError("node"), 400);
          if (!budget) return;
          const cost = requestCost(nodes);
          const spent = await budget.spent.add(contextValue.client ?? "unknown", cost);
          state = {
            limit: budget.points,
            cost,
            used: Math.min(spent.count, budget.points),
            remaining: Math.max(0, budget.points - spent.count),
            resetAt: new Date(spent.resetAt),
          };
          contextValue.rateLimit = state;
          if (spent.count > budget.points) {
            const retryAfter = Math.max(1, Math.ceil((spent.resetAt - Date.now()) / 1000));
            const headers = new HeaderMap([["retry-after", String(retryAfter)], ...rateLimitHeaders(state)]);
            throw refusal(new RateLimitedError(retryAfter, "Rate limit exceeded: this request costs more points than are left in the window"), 429, headers);
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (!budget) return;
          // A request refused before it was priced (a syntax error, say) costs nothing, but still says where its
          // client stands.
          if (!state) {
            const spent = await budget.spent.peek(contextValue.client ?? "unknown");
            const used = Math.min(spent.count, budget.points);
            state = { limit: budget.points, cost: 0, used, remaining: budget.points - used, resetAt: new Date(spent.resetAt) };
          }
          for (const [name, value] of rateLimitHeaders(state)) response.http.headers.set(name, value);
        },
      };
    },
  };
}
