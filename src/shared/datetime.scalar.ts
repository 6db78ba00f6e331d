import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

// ISO-8601 with a date, a time and an explicit offset or Z; fractional seconds optional.
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function parse(value: unknown): Date {
  if (typeof value !== "string" || !isoDateTime.test(value)) {
    throw new GraphQLError("DateTime must be an ISO-8601 string such as 2026-01-31T12:00:00.000Z", {
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError("DateTime is not a valid date", { extensions: { code: "BAD_USER_INPUT" } });
  }
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An instant as an ISO-8601 UTC string with milliseconds, e.g. 2026-01-31T12:00:00.000Z.",
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === "number") return new Date(value).toISOString();
    throw new TypeError("DateTime cannot represent a non-date value");
  },
  parseValue: parse,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) {
      throw new GraphQLError("DateTime must be a string", { extensions: { code: "BAD_USER_INPUT" } });
    }
    return parse(ast.value);
  },
});
