import { invalidInput } from "../../core/errors.js";
import { parseSpanId, parseTraceId } from "../ids.js";
import { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "../time.js";
import { GraphQLScalarType, Kind, type ValueNode } from "./gql.js";

/**
 * Custom scalars. Internal values: DateTime and Duration are bigint nanoseconds; TraceId and
 * SpanId are lowercase hex strings. Invalid input throws an invalid_input SkaldError, which
 * graphql-js keeps as the `originalError` of its coercion error and the error mapping turns into
 * BAD_USER_INPUT.
 */

function literalText(ast: ValueNode, scalar: string): string {
  if (ast.kind === Kind.STRING) return ast.value;
  throw invalidInput("BAD_SCALAR", `${scalar} must be given as a string`);
}

export const DateTimeScalar = new GraphQLScalarType<bigint, string>({
  name: "DateTime",
  description:
    'An instant as RFC 3339 text with up to nine fractional digits and a "Z" or ±hh:mm offset, ' +
    'e.g. "2026-11-28T21:49:53.123456789Z". Output is always UTC with exactly nine digits.',
  serialize(value) {
    if (typeof value === "bigint") return formatRfc3339Nanos(value);
    if (typeof value === "string") return formatRfc3339Nanos(parseRfc3339Nanos(value));
    throw new TypeError(`DateTime cannot represent ${typeof value}`);
  },
  parseValue(value) {
    if (typeof value !== "string") throw invalidInput("BAD_DATETIME", "DateTime must be a string");
    return parseRfc3339Nanos(value);
  },
  parseLiteral(ast) {
    return parseRfc3339Nanos(literalText(ast, "DateTime"));
  },
});

export const DurationScalar = new GraphQLScalarType<bigint, string>({
  name: "Duration",
  description:
    'A duration. Input: "1500ms", "2s", "1.5s", "250us", "10ns", "1m", "1h", or an integer of ' +
    'nanoseconds (number or string). Output: nanoseconds as a decimal string, e.g. "1500000000".',
  serialize(value) {
    if (typeof value === "bigint" || typeof value === "number") return parseDurationNanos(value).toString();
    throw new TypeError(`Duration cannot represent ${typeof value}`);
  },
  parseValue(value) {
    if (typeof value !== "string" && typeof value !== "number") {
      throw invalidInput("BAD_DURATION", "Duration must be a string or an integer");
    }
    return parseDurationNanos(value);
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.INT) return parseDurationNanos(ast.value);
    return parseDurationNanos(literalText(ast, "Duration"));
  },
});

export const TraceIdScalar = new GraphQLScalarType<string, string>({
  name: "TraceId",
  description: "A trace id: 32 hex characters, any case on input, lowercase on output.",
  serialize: (value) => String(value).toLowerCase(),
  parseValue: (value) => parseTraceId(value),
  parseLiteral: (ast) => parseTraceId(literalText(ast, "TraceId")),
});

export const SpanIdScalar = new GraphQLScalarType<string, string>({
  name: "SpanId",
  description: "A span id: 16 hex characters, any case on input, lowercase on output.",
  serialize: (value) => String(value).toLowerCase(),
  parseValue: (value) => parseSpanId(value),
  parseLiteral: (ast) => parseSpanId(literalText(ast, "SpanId")),
});
