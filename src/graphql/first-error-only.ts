import type { ApolloServerPlugin } from "@apollo/server";

/**
 * In production, a request refused before execution (unparsable, invalid, bad variables) is answered with its
 * first error only. graphql-js reports every unknown or repeated directive, unknown field and bad variable
 * separately, so without this a small document buys a long answer ("directive overloading"); the first error
 * is enough for a client to fix its request.
 */
export function firstErrorOnlyPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const result = response.body.singleResult;
          // No `data` key at all: nothing was executed.
          if (!("data" in result) && result.errors && result.errors.length > 1) {
            response.body.singleResult = { ...result, errors: result.errors.slice(0, 1) };
          }
        },
      };
    },
  };
}
