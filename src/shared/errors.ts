/** Domain failures, thrown by services and translated to GraphQL error codes in one place (error-format.ts). */
export type DomainError =
  | UnauthenticatedError
  | ForbiddenError
  | NotFoundError
  | BadUserInputError
  | InvalidStatusTransitionError
  | ConflictError
  | RateLimitedError
  | QueryTooComplexError;

abstract class DomainErrorBase extends Error {
  abstract readonly kind: string;
}

export class UnauthenticatedError extends DomainErrorBase {
  readonly kind = "UNAUTHENTICATED";
  constructor(message = "Authentication required") {
    super(message);
  }
}

export class ForbiddenError extends DomainErrorBase {
  readonly kind = "FORBIDDEN";
  constructor(message = "Not allowed") {
    super(message);
  }
}

export class NotFoundError extends DomainErrorBase {
  readonly kind = "NOT_FOUND";
  constructor(
    readonly entity: string,
    readonly field?: string,
  ) {
    super(`${entity} not found`);
  }
}

export class BadUserInputError extends DomainErrorBase {
  readonly kind = "BAD_USER_INPUT";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class InvalidStatusTransitionError extends DomainErrorBase {
  readonly kind = "INVALID_STATUS_TRANSITION";
  constructor(
    readonly from: string,
    readonly to: string,
    readonly allowed: readonly string[],
  ) {
    super(`Cannot change status from ${from} to ${to}`);
  }
}

export class ConflictError extends DomainErrorBase {
  readonly kind = "CONFLICT";
}

export class RateLimitedError extends DomainErrorBase {
  readonly kind = "RATE_LIMITED";
  constructor(
    readonly retryAfterSeconds: number,
    message = "Too many attempts; try again later",
  ) {
    super(message);
  }
}

/** A document over one of the limits, refused before any resolver or SQL runs. Names the limit, not its value. */
export class QueryTooComplexError extends DomainErrorBase {
  readonly kind = "QUERY_TOO_COMPLEX";
  constructor(readonly limit: string) {
    super(`Query is too complex: it exceeds the ${limit} limit`);
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainErrorBase;
}
