import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContextResponseForOperation } from "@apollo/server";
import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { BREAK, GraphQLError, Kind, execute, printSchema, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import { createByteBudgetCache, type ByteBudgetCache } from "../shared/byte-budget-cache.js";
import type { GraphQLContext } from "../shared/context.js";
import { isDomainError } from "../shared/errors.js";
import { withinResponseSize } from "./response-size.js";

export interface CompiledQueryBudget {
  /** What the compiled queries may hold together on the heap. */
  maxBytes: number;
  /** A document is compiled when it is seen again within this window; until then it runs interpreted. */
  recurrenceWindowMs: number;
}

/**
 * Heap held by a compiled query, measured (test/memory-estimates.test.ts): graphql-jit writes a function of about
 * 1 KB of source for every field it resolves, which V8 keeps with its closures at about 3 bytes a character, and
 * the compiled query keeps the document's syntax tree alive (about 100 bytes a character of the query's text).
 */
const bytesPerGeneratedChar = 3;
const bytesPerSourceChar = 100;
/** Before compiling, the function's size is predicted from the fields it will resolve. */
const predictedBytesPerField = 4096;
const baseBytes = 8 * 1024;
/**
 * The fields an operation resolves with every fragment spread expanded, as graphql-jit compiles them; past `cap`
 * the count stops (at infinity): the caller needs to know whether the document fits, not by how much it does not.
 */
export function expandedFieldCount(document: DocumentNode, operation: OperationDefinitionNode, cap = 100_000): number {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition.selectionSet);
  }
  let count = 0;
  const walk = (set: SelectionSetNode, depth: number): void => {
    for (const selection of set.selections) {
      if (count > cap || depth > 64) {
        count = Number.POSITIVE_INFINITY;
        return;
      }
      if (selection.kind === Kind.FIELD) {
        count += 1;
        if (selection.selectionSet) walk(selection.selectionSet, depth + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth + 1);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment, depth + 1);
      }
    }
  };
  walk(operation.selectionSet, 0);
  return count;
}

/** Compiled queries by document hash and operation name; null for a document graphql-jit cannot compile. */
export type CompiledQueryCache = ByteBudgetCache<CompiledQuery | null>;

export function createCompiledQueryCache(budget: CompiledQueryBudget): CompiledQueryCache {
  return createByteBudgetCache<CompiledQuery | null>({
    maxBytes: budget.maxBytes,
    // A sixteenth each: one document cannot take the room of the few that a client sends all day.
    maxEntryBytes: budget.maxBytes / 16,
    admitOnRecurrence: { windowMs: budget.recurrenceWindowMs },
  });
}

type Compiled = CompiledQuery & { __DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation?: string };

/**
 * What compiling `operation` would add to the heap, predicted from the fields it resolves, before compiling it.
 * Counting stops once the prediction passes `atMost` (the result is then infinite).
 */
export function predictedCompiledBytes(document: DocumentNode, operation: OperationDefinitionNode, source: string, atMost = Number.POSITIVE_INFINITY): number {
  const fixed = baseBytes + source.length * bytesPerSourceChar;
  const fields = expandedFieldCount(document, operation, Math.min(100_000, Math.max(0, (atMost - fixed) / predictedBytesPerField)));
  return fixed + fields * predictedBytesPerField;
}

/**
 * Whether `document` has a field, alias or variable named `name`: graphql-jit writes answers and reads variables
 * through plain objects.
 */
function usesName(document: DocumentNode, name: string): boolean {
  let found = false;
  const match = (used: string | undefined) => {
    if (used !== name) return undefined;
    found = true;
    return BREAK;
  };
  visit(document, {
    Field: (field) => match(field.alias?.value) ?? match(field.name.value),
    VariableDefinition: (definition) => match(definition.variable.name.value),
  });
  return found;
}

/** Compiles a document and weighs the result by the code graphql-jit generated for it; null if it cannot compile. */
export function compileWeighed(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, source: string) {
  let query: Compiled | null = null;
  // An alias `__proto__` sets the answer's prototype in graphql-jit's object literal (the field is lost), and a
  // variable `$__proto__` is read from the prototype (its value is lost).
  if (usesName(document, "__proto__")) return { query, bytes: baseBytes + source.length * bytesPerSourceChar };
  try {
    // `debug` hands back the generated source, whose length weighs the entry; the reference is dropped below.
    const result = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true, debug: true } as never);
    if (isCompiledQuery(result)) query = result as Compiled;
  } catch {
    query = null;
  }
  const generated = query?.__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation?.length ?? 0;
  if (query) delete query.__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation;
  return { query: query as CompiledQuery | null, bytes: baseBytes + generated * bytesPerGeneratedChar + source.length * bytesPerSourceChar };
}

/** An error our code raised in a resolver (a service's typed error): its message and extensions are ours. */
const raisedByResolvers = (error: GraphQLError) => isDomainError(error.originalError);

/** The error left its own field null and went no further: the field is there, null, in an object that is there. */
function nulledOnlyItsField(data: unknown, path: readonly (string | number)[] | undefined): boolean {
  if (!path?.length) return false;
  let node = data;
  for (const key of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return false;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node !== null && typeof node === "object" && (node as Record<string | number, unknown>)[path[path.length - 1]!] === null;
}

/**
 * Whether graphql-js would have reported the same errors. One error our resolvers raised, it would. Several, only
 * when none reached past its own field: where a non-null field's error nulls its parent, graphql-js stops at the
 * first sibling that fails and graphql-jit goes on to report the others.
 */
const reportedAlike = (result: ExecutionResult) =>
  result.errors!.every(raisedByResolvers) && (result.errors!.length === 1 || result.errors!.every((error) => nulledOnlyItsField(result.data, error.path)));

/**
 * Where graphql-jit's errors can differ from graphql-js's even when they are ours: a variable the request left out
 * (graphql-jit reads an input field bound to it as null, where graphql-js leaves the field absent, and a resolver
 * may refuse the null), and `@skip` or `@include` (graphql-jit lists an error's locations from every node of a
 * merged field, those a directive left out included).
 */
function mayPartWays(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): boolean {
  const omitted = operation.variableDefinitions?.some(
    (definition) => definition.defaultValue === undefined && !(variables && Object.hasOwn(variables, definition.variable.name.value)),
  );
  if (omitted) return true;
  let conditional = false;
  visit(document, {
    Directive(directive) {
      if (directive.name.value !== "skip" && directive.name.value !== "include") return undefined;
      conditional = true;
      return BREAK;
    },
  });
  return conditional;
}

/**
 * graphql-jit's error as graphql-js makes it: graphql-jit leaves `extensions` undefined where graphql-js makes an
 * object, and Apollo reads `extensions.code` of every error.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  const standard = new GraphQLError(error.message, { path: error.path, originalError: error.originalError });
  // graphql-jit worked the locations out from the same nodes; graphql-js's constructor takes nodes only.
  if (error.locations) (standard as { locations?: GraphQLError["locations"] }).locations = error.locations;
  return standard;
}

/** No status and no header of its own: Apollo only reads it (mergeHTTPGraphQLHead), so one serves every answer. */
const noHead = { status: undefined, headers: new HeaderMap() };

/** graphql-jit for the queries that recur, graphql-js for the rest, plugged into Apollo twice over (see `jitExecution`). */
export interface JitExecution {
  plugin: ApolloServerPlugin<GraphQLContext>;
  gateway: GatewayInterface;
}

/**
 * Executes queries with graphql-jit, which turns a document into a function and skips most of graphql-js's
 * per-field interpretation on later requests. Compiling costs time (about 50 µs a field, with the event loop
 * blocked) and heap (about 4 KB a field), so a document is compiled only when it recurs within the window and its
 * predicted size fits an entry's share of the budget; until then, for one-off documents and for mutations, graphql-js
 * interprets it. Either way, an answer whose data would serialise past `maxResponseBytes` is replaced by a
 * QUERY_TOO_COMPLEX error before Apollo builds its string (see response-size.ts).
 *
 * The plugin executes every operation once parsing, validation, limits and the other plugins have had the request
 * (`responseForOperation`), and hands Apollo the answer when it has no errors. An answer with errors goes through
 * Apollo's gateway interface instead, so that Apollo formats its errors as always. The gateway is not the way in for
 * every answer because Apollo hands its executor an object with a getter that closes over the request, and V8 keeps
 * accessors in the old generation: every request's context, loaders and result then outlived the young generation's
 * collections and waited for a full one (10 KB a request for incident by id, 70 KB for a page of 50 incidents),
 * and V8, seeing them survive, went on to allocate them in the old generation from the start.
 */
export function jitExecution(schema: GraphQLSchema, compiled: CompiledQueryCache, maxResponseBytes = Number.POSITIVE_INFINITY): JitExecution {
  const compile = (key: string, document: DocumentNode, operation: OperationDefinitionNode, source: string, operationName: string | undefined) => {
    const cached = compiled.get(key);
    if (cached !== undefined) return cached;
    if (!compiled.admits(key, predictedCompiledBytes(document, operation, source, compiled.maxEntryBytes))) return null;
    const { query, bytes } = compileWeighed(schema, document, operationName, source);
    // A document graphql-jit cannot compile is remembered as such (null), so it is not tried again.
    compiled.set(key, query, bytes);
    return query;
  };

  const interpreted = async (document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown> | undefined, context: GraphQLContext) => {
    context.responseBytes = { used: 0, max: maxResponseBytes };
    const result = await execute({ schema, document, operationName, variableValues: variables, contextValue: context });
    return withinResponseSize(result, maxResponseBytes, context);
  };

  const run = async (requestContext: GraphQLRequestContextResponseForOperation<GraphQLContext>): Promise<ExecutionResult> => {
    const { document, queryHash, request, operation, source, contextValue: context } = requestContext;
    const operationName = operation.name?.value ?? request.operationName ?? undefined;
    // graphql-jit reads an input field bound to a variable that was not sent as null, where GraphQL says the field
    // is absent; partial updates depend on that difference, so mutations run on graphql-js.
    const query = operation.operation === "query" ? compile(`${queryHash}:${operationName ?? ""}`, document, operation, source ?? "", operationName) : null;
    if (!query) return interpreted(document, operationName, request.variables, context);
    context.responseBytes = { used: 0, max: maxResponseBytes };
    const result = await query.query(undefined, context, request.variables ?? {});
    // Errors are where graphql-jit and graphql-js part ways (variable coercion, argument checks, messages): a query
    // has no side effects, so a failed one runs again on graphql-js for the standard answer. Not when every error is
    // one our resolvers raised (a bad cursor, a forbidden field) and both engines report it alike, and running again
    // would do all the other fields' work twice for one charge to the client's budget.
    if (result.errors?.length && !(context.responseBytes.used > maxResponseBytes)) {
      if (!reportedAlike(result) || mayPartWays(document, operation, request.variables)) {
        return interpreted(document, operationName, request.variables, context);
      }
      return withinResponseSize({ ...result, errors: result.errors.map(asGraphQLJsError) }, maxResponseBytes, context);
    }
    return withinResponseSize(result, maxResponseBytes, context);
  };

  // Answers with errors (or a failed execution), from the plugin to the gateway, which hands them to Apollo.
  const handedOver = new WeakMap<GraphQLContext, Promise<ExecutionResult>>();

  const plugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart() {
      return {
        async responseForOperation(requestContext) {
          // No operation to run (an unknown operation name): graphql-js, through the gateway, says so.
          if (!requestContext.operation) return null;
          // Where other requests get their turn before an execution (the time slicer), as Apollo's stages do.
          await requestContext.contextValue.pause?.();
          const answer = run(requestContext);
          try {
            const result = await answer;
            if (!result.errors?.length) return { http: noHead, body: { kind: "single", singleResult: result } };
          } catch {
            // handed over below, to be thrown where Apollo catches
          }
          // Apollo formats errors, and reports a throw, only for what its executor returns or throws.
          handedOver.set(requestContext.contextValue, answer);
          return null;
        },
      };
    },
  };

  const gateway: GatewayInterface = {
    async load() {
      return {
        executor: async (requestContext) => {
          const context = requestContext.context as GraphQLContext;
          const answer = handedOver.get(context);
          if (answer) {
            handedOver.delete(context);
            return answer;
          }
          const { document, request, operation } = requestContext;
          return interpreted(document, operation?.name?.value ?? request.operationName ?? undefined, request.variables, context);
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    async stop() {
      compiled.clear();
    },
  };
  return { plugin, gateway };
}
