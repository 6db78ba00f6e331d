import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
} from "graphql";
import { createHash } from "node:crypto";
import { documentLimitRules, nodeCount, type DocumentLimits } from "../graphql/document-limits.js";
import { keepDocument } from "../graphql/document-store.js";
import type { ByteBudgetCache } from "../shared/byte-budget-cache.js";
import { QueryTooComplexError } from "../shared/errors.js";

export interface SubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

export const requestError = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/** Gives graphql-js's request errors the codes Apollo gives them over HTTP, so that formatError shows them. */
export const withCode = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });

/**
 * The checks Apollo and our limit rules apply to an HTTP request, applied to a subscribe message: the token,
 * depth, alias, directive and node limits, validation, and subscriptions only. Errors, or the parsed document.
 */
/** A subscription document fit to run, with its worst-case node count (what it costs, as over HTTP). */
export interface CheckedSubscription {
  document: DocumentNode;
  nodes: number;
}

export function subscriptionDocumentChecker(
  schema: GraphQLSchema,
  limits: DocumentLimits,
  production: boolean,
  /**
   * Valid documents that recur, shared with Apollo's store (under keys of their own): a client that subscribes and
   * completes the same document in a loop had it parsed and validated every time, the event loop held for seconds.
   */
  cache?: ByteBudgetCache<DocumentNode>,
) {
  const rules = [...specifiedRules, ...documentLimitRules(limits)];
  const parseAndValidate = (query: string): DocumentNode | readonly GraphQLError[] => {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.tokens });
    } catch (error) {
      if (error instanceof GraphQLError) return [withCode(error, "GRAPHQL_PARSE_FAILED")];
      throw error;
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length === 0) return document;
    // As over HTTP (first-error-only.ts): in production, one error however many the document has.
    return (production ? invalid.slice(0, 1) : invalid).map((error) => {
      const coded = withCode(error, "GRAPHQL_VALIDATION_FAILED");
      // As Apollo's hideSchemaDetailsFromClientErrors does over HTTP: no "Did you mean ...?" in production.
      return production ? new GraphQLError(coded.message.replace(/ ?Did you mean(.+?)\?$/, ""), coded) : coded;
    });
  };
  const validDocument = (query: string): DocumentNode | readonly GraphQLError[] => {
    if (!cache) return parseAndValidate(query);
    const key = `subscription:${createHash("sha256").update(query).digest("hex")}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const checked = parseAndValidate(query);
    if (!Array.isArray(checked)) keepDocument(cache, key, checked as DocumentNode);
    return checked;
  };
  return (payload: SubscribePayload): CheckedSubscription | readonly GraphQLError[] => {
    const valid = validDocument(payload.query);
    if (Array.isArray(valid)) return valid;
    const document = valid as DocumentNode;
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [requestError("Unable to identify the operation to run", "OPERATION_RESOLUTION_FAILURE")];
    // Queries and mutations go over HTTP, where their metrics, throttling and request logs apply.
    if (operation.operation !== "subscription") {
      return [requestError("Only subscriptions are served over WebSocket; send queries and mutations over HTTP", "BAD_REQUEST")];
    }
    const fragments = new Map(
      document.definitions.flatMap((d): [string, FragmentDefinitionNode][] => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])),
    );
    // Coerced as execution will see them: a variable left out takes its declared default (as over HTTP).
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
    if (coerced.errors) return coerced.errors.map((error) => withCode(error, "BAD_USER_INPUT"));
    // Ranking and metrics fields would run once per event, for every event: they count as unbounded here.
    const nodes = nodeCount(schema, operation.selectionSet, schema.getSubscriptionType()!, fragments, coerced.coerced, limits.nodes, {
      perEvent: true,
    });
    if (nodes > limits.nodes) {
      const error = new QueryTooComplexError("node");
      return [new GraphQLError(error.message, { originalError: error })];
    }
    return { document, nodes };
  };
}
