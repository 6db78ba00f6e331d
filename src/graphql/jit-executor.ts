import type { GatewayInterface } from "@apollo/server-gateway-interface";
import { execute, printSchema, type ExecutionResult, type GraphQLSchema } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

type Compiled = CompiledQuery | ExecutionResult | undefined;

/**
 * Executes queries with graphql-jit: each document (by hash and operation name) is compiled once into a
 * function, which skips most of graphql-js's per-field interpretation on every later request. Plugged in
 * through Apollo's gateway interface, so parsing, validation, limits, plugins and error formatting stay Apollo's.
 */
export function jitGateway(schema: GraphQLSchema, capacity = 1000): GatewayInterface {
  const compiled = new Map<string, Compiled>();

  const compile = (key: string, build: () => Compiled): Compiled => {
    if (compiled.has(key)) {
      const query = compiled.get(key);
      // Re-inserted, so that the map's order is least recently used first.
      compiled.delete(key);
      compiled.set(key, query);
      return query;
    }
    if (compiled.size >= capacity) compiled.delete(compiled.keys().next().value!);
    const query = build();
    compiled.set(key, query);
    return query;
  };

  return {
    async load() {
      return {
        executor: async (requestContext) => {
          const { document, queryHash, request, context, operation } = requestContext;
          const operationName = operation?.name?.value ?? request.operationName ?? undefined;
          const interpreted = () =>
            execute({ schema, document, operationName, variableValues: request.variables, contextValue: context });
          if (operation?.operation !== "query") {
            // graphql-jit reads an input field bound to a variable that was not sent as null, where GraphQL says
            // the field is absent; partial updates depend on that difference, so mutations run on graphql-js.
            return interpreted();
          }
          const query = compile(`${queryHash}:${operationName ?? ""}`, () => {
            try {
              return compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
            } catch {
              return undefined;
            }
          });
          if (!query || !isCompiledQuery(query)) return interpreted();
          const result = await query.query(undefined, context, request.variables ?? {});
          // Errors are where graphql-jit and graphql-js part ways (variable coercion, argument checks, messages):
          // a query has no side effects, so a failed one runs again on graphql-js for the standard answer.
          return result.errors?.length ? interpreted() : result;
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
}
