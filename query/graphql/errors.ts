import { type GraphQLErrorCode, graphqlCodeOf } from "../../core/error-mapping.js";
import { SkaldError } from "../../core/errors.js";

export { type GraphQLErrorCode, graphqlCodeOf };

import type { Logger } from "../../core/log.js";
import { GraphQLError } from "./gql.js";

/**
 * The one place GraphQL errors get their `extensions.code`. Every error a client sees carries
 * one of these codes; store errors never carry SQL (their SkaldError messages are written for
 * clients and the full cause only goes to the log).
 */
const CODES = new Set<string>([
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "LIMIT_EXCEEDED",
  "INTERNAL",
  "UNAVAILABLE",
  "UNAUTHENTICATED",
  "FORBIDDEN",
]);

/** Whether the error already carries one of the codes above (it has been through the mapping). */
export function hasClientCode(err: GraphQLError): boolean {
  const code = err.extensions?.code;
  return typeof code === "string" && CODES.has(code);
}

/** A LIMIT_EXCEEDED error as the validation rules report it. */
export function limitError(message: string, nodes?: GraphQLError["nodes"]): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code: "LIMIT_EXCEEDED" } });
}

/** The SkaldError at the root of a GraphQL error's chain (originalError / cause), if any. */
function skaldCause(err: unknown): SkaldError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error; i++) {
    if (e instanceof SkaldError) return e;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return undefined;
}

function codeInChain(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof GraphQLError; i++) {
    const code = e.extensions?.code;
    if (typeof code === "string" && CODES.has(code)) return code;
    e = e.originalError;
  }
  return undefined;
}

function onlyGraphQLErrors(err: GraphQLError): boolean {
  let e: unknown = err;
  for (let i = 0; i < 8; i++) {
    if (!(e instanceof GraphQLError)) return false;
    if (e.originalError == null) return true;
    e = e.originalError;
  }
  return false;
}

/**
 * Maps any error to a client error with a code. Yoga applies it as `maskError` to execution
 * errors (resolvers, variable coercion); parse and validation errors bypass that hook and yoga
 * stamps them GRAPHQL_*_FAILED, so the server also runs the same function on every error left
 * in a result without one of our codes.
 *  - a SkaldError in the chain decides the code; input, not-found and limit errors keep their
 *    message (graphql-js prefixes it with the argument or variable at fault), the others are
 *    replaced by the SkaldError's own client-safe message;
 *  - a GraphQL error of graphql-js itself (syntax, validation, coercion) is the client's doing;
 *  - anything else is a bug: "Unexpected error." with code INTERNAL, details in the log.
 */
export function createMaskError(logger?: Logger): (error: unknown, message: string) => Error {
  return (error, message) => {
    const skald = skaldCause(error);
    const gql = error instanceof GraphQLError ? error : undefined;
    const located = { nodes: gql?.nodes, path: gql?.path, source: gql?.source, positions: gql?.positions };
    if (skald) {
      const code = graphqlCodeOf(skald.kind);
      const clientSafe = code === "BAD_USER_INPUT" || code === "NOT_FOUND" || code === "LIMIT_EXCEEDED";
      if (code === "INTERNAL") logger?.error({ err: skald }, "query failed");
      const extensions: Record<string, unknown> = { code, reason: skald.code };
      if (skald.retryAfterMs !== undefined) extensions.retryAfterMs = skald.retryAfterMs;
      return new GraphQLError(clientSafe && gql ? gql.message : skald.message, { ...located, extensions });
    }
    const code = codeInChain(gql);
    if (gql && code)
      return new GraphQLError(gql.message, { ...located, extensions: { ...gql.extensions, code } });
    // No path: raised before execution (syntax, validation, variables, a malformed request).
    if (gql && gql.path === undefined && onlyGraphQLErrors(gql)) {
      return new GraphQLError(gql.message, {
        ...located,
        extensions: { ...gql.extensions, code: "BAD_USER_INPUT" },
      });
    }
    logger?.error({ err: error }, "unexpected error in a GraphQL request");
    return new GraphQLError(message, { ...located, extensions: { code: "INTERNAL" } });
  };
}
