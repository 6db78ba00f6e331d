import { GraphQLError, type ExecutionResult } from "graphql";
import type { GraphQLContext } from "../shared/context.js";
import { QueryTooComplexError } from "../shared/errors.js";

/**
 * Bytes of UTF-8 JSON that `value` serialises to, close from below (escapes of quotes and control characters are not
 * counted), without serialising it: a walk of the result tree. The walk stops, at infinity, once `atMost` is passed,
 * so that measuring an oversized answer costs what measuring one at the limit does.
 */
export function jsonBytes(value: unknown, atMost: number): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    if (total > atMost) return Number.POSITIVE_INFINITY;
    const item = stack.pop();
    if (typeof item === "string") {
      // Most strings are short ASCII; the native count pays off for the long ones, where multi-byte text weighs.
      total += 2 + (item.length < 64 ? item.length : Buffer.byteLength(item, "utf8"));
    } else if (item === null || item === undefined) {
      total += 4;
    } else if (typeof item === "number" || typeof item === "boolean") {
      total += 8;
    } else if (Array.isArray(item)) {
      total += 1 + item.length;
      for (const element of item) stack.push(element);
    } else if (typeof item === "object") {
      total += 1;
      for (const key in item) {
        total += key.length + 4;
        stack.push((item as Record<string, unknown>)[key]);
      }
    } else {
      total += 16;
    }
  }
  return total > atMost ? Number.POSITIVE_INFINITY : total;
}

/**
 * Counts `bytes` of answer that a field is about to build (parsing stored JSON into many objects, say) and throws
 * QUERY_TOO_COMPLEX once the request's answer is past its limit: execution then stops building such values at
 * the limit, instead of building all of them for the walk below to refuse.
 */
export function chargeResponseBytes(context: GraphQLContext, bytes: number): void {
  const budget = context.responseBytes;
  if (!budget) return;
  budget.used += bytes;
  if (budget.used > budget.max) throw new QueryTooComplexError("response size");
}

/**
 * Answers an execution result whose data would serialise past `maxBytes` with QUERY_TOO_COMPLEX (the response size
 * limit) and no data, before Apollo builds the response string: such an answer would hold hundreds of megabytes
 * (a string, then its bytes) and block the event loop for seconds while being built.
 */
export function withinResponseSize(result: ExecutionResult, maxBytes: number, context?: GraphQLContext): ExecutionResult {
  const charged = context?.responseBytes;
  const overDuringExecution = charged !== undefined && charged.used > charged.max;
  if (!overDuringExecution && (result.data == null || jsonBytes(result.data, maxBytes) <= maxBytes)) return result;
  const error = new QueryTooComplexError("response size");
  // A 400, as for the other limits: the request asks for more than one answer may hold.
  return { errors: [new GraphQLError(error.message, { originalError: error, extensions: { http: { status: 400 } } })] };
}
