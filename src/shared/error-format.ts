import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { BadUserInputError, isDomainError, QueryTooComplexError, type DomainError } from "./errors.js";

// Codes that graphql-js and Apollo attach to errors about the request itself; safe to show as they are.
const requestErrorCodes = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "QUERY_TOO_COMPLEX",
]);

export type ClassifiedError =
  | { kind: "domain"; error: DomainError }
  | { kind: "request" }
  | { kind: "internal"; error: unknown };

// graphql-js checks arguments again while executing (a null variable meeting a non-null argument that has a
// default, for one) and raises these without a code: they are the client's input, not our failure.
const argumentMessage = /^Argument "[^"]+" (of non-null type "[^"]+" must not be null|has invalid value)/;

// graphql-js reports its parser's token limit as a syntax error; it is one of our document limits.
const tokenLimitMessage = /^Syntax Error: Document contains more th[ae][nt] \d+ tokens/;

export function classifyError(error: unknown): ClassifiedError {
  const original = unwrapResolverError(error);
  if (isDomainError(original)) return { kind: "domain", error: original };
  // Apollo re-wraps validation errors; the one our limit rules raised is kept as the cause.
  const cause = error instanceof GraphQLError ? error.originalError : undefined;
  if (isDomainError(cause)) return { kind: "domain", error: cause };
  if (error instanceof GraphQLError && tokenLimitMessage.test(error.message)) {
    return { kind: "domain", error: new QueryTooComplexError("token") };
  }
  if (original instanceof GraphQLError && argumentMessage.test(original.message)) {
    return { kind: "domain", error: new BadUserInputError(original.message) };
  }
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
  const thrownByCode = original !== error && !(original instanceof GraphQLError);
  if (typeof code === "string" && requestErrorCodes.has(code) && !thrownByCode) return { kind: "request" };
  return { kind: "internal", error: original };
}

// Variable coercion failures name the value's path in the message: `Variable "$f" got invalid value ... at "f.createdAfter"`.
const variablePath = /^Variable "\$([^"]+)" got invalid value[\s\S]*? at "([^"]+)"/;
const variableName = /^Variable "\$([^"]+)"/;

/** The input field at fault in a variable coercion error: the last name on its path, else the variable's name. */
function variableField(message: string): string | undefined {
  const path = variablePath.exec(message)?.[2];
  if (path) return path.split(/[.[\]]/).filter((part) => part && !/^\d+$/.test(part)).pop();
  return variableName.exec(message)?.[1];
}

function domainExtensions(error: DomainError): Record<string, unknown> {
  switch (error.kind) {
    case "UNAUTHENTICATED":
    case "FORBIDDEN":
    case "CONFLICT":
    case "QUERY_TOO_COMPLEX":
      return { code: error.kind };
    case "NOT_FOUND":
    case "BAD_USER_INPUT":
      return error.field ? { code: error.kind, field: error.field } : { code: error.kind };
    case "INVALID_STATUS_TRANSITION":
      return { code: error.kind, from: error.from, to: error.to, allowed: [...error.allowed] };
    case "RATE_LIMITED":
      return { code: error.kind, retryAfter: error.retryAfterSeconds };
    default: {
      const unhandled: never = error;
      throw new Error(`Unhandled domain error ${String(unhandled)}`);
    }
  }
}

/**
 * The one place where errors become what clients see. Domain errors get their contract code; errors about the
 * request keep graphql-js's message and code; everything else is masked: no message, SQL, path or stack.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const classified = classifyError(error);
  const base = {
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
  };
  switch (classified.kind) {
    case "domain":
      return { message: classified.error.message, ...base, extensions: domainExtensions(classified.error) };
    case "request": {
      const field = formatted.extensions?.code === "BAD_USER_INPUT" ? variableField(formatted.message) : undefined;
      return { message: formatted.message, ...base, extensions: { code: formatted.extensions?.code, ...(field ? { field } : {}) } };
    }
    case "internal":
      return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
  }
}
