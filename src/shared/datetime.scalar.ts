import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

// ISO-8601 with a date, a time and an explicit offset or Z; fractional seconds optional.
const isoDateTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/i;

const invalid = (message: string) => new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });

/** The calendar date and clock time must exist: JavaScript would roll 2026-02-30 over into March. */
function exists(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

function parse(value: unknown): Date {
  const match = typeof value === "string" ? isoDateTime.exec(value) : null;
  if (!match) throw invalid("DateTime must be an ISO-8601 string such as 2026-01-31T12:00:00.000Z");
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetHours = match[9] === undefined ? 0 : Number(match[9]);
  const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
  if (!exists(year, month, day, hour, minute, second) || offsetHours > 23 || offsetMinutes > 59) {
    throw invalid("DateTime is not a valid date and time");
  }
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime())) throw invalid("DateTime is not a valid date and time");
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
