import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLContext } from "../shared/context.js";

/**
 * Pause points between the stages of Apollo's pipeline, which it awaits: a large document's parse, its validation
 * and its execution each take tens of milliseconds with the event loop held, and a request past its
 * slice lets other clients' work run in between (src/shared/time-slicer.ts).
 */
export function timeSlicingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async validationDidStart({ contextValue }) {
          await contextValue.pause?.();
        },
        // Execution asks for its turn where it starts, in jit-executor.ts's plugin (responseForOperation): Apollo's
        // executionDidStart comes after the work, for answers with errors.
      };
    },
  };
}
