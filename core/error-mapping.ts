import { status as GrpcStatus } from "@grpc/grpc-js";
import type { ErrorKind, SkaldError } from "./errors.js";

/** HTTP status for an error kind; OTLP/HTTP: 400 malformed, 429/503 throttled with Retry-After. */
export function httpStatusOf(err: SkaldError): number {
  switch (err.kind) {
    case "invalid_input":
      return 400;
    case "not_found":
      return 404;
    case "limit":
      return err.code === "BODY_TOO_LARGE" ? 413 : 429;
    case "retryable":
      return err.code === "QUEUE_FULL" ? 429 : 503;
    case "unauthenticated":
      return 401;
    case "forbidden":
      return 403;
    case "config":
    case "permanent":
      return 500;
  }
}

/** gRPC status for an error kind, following the OTLP/gRPC retry rules. */
export function grpcStatusOf(err: SkaldError): GrpcStatus {
  switch (err.kind) {
    case "invalid_input":
      return GrpcStatus.INVALID_ARGUMENT;
    case "not_found":
      return GrpcStatus.NOT_FOUND;
    case "limit":
      return err.code === "BODY_TOO_LARGE" ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.RESOURCE_EXHAUSTED;
    case "retryable":
      return GrpcStatus.UNAVAILABLE;
    case "unauthenticated":
      return GrpcStatus.UNAUTHENTICATED;
    case "forbidden":
      return GrpcStatus.PERMISSION_DENIED;
    case "config":
    case "permanent":
      return GrpcStatus.INTERNAL;
  }
}

/** Seconds for an HTTP Retry-After header (at least 1). */
export function retryAfterSeconds(err: SkaldError): number | undefined {
  return err.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(err.retryAfterMs / 1000));
}

/** GraphQL `extensions.code` for an error kind. */
export type GraphQLErrorCode =
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "LIMIT_EXCEEDED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN";

export function graphqlCodeOf(kind: ErrorKind): GraphQLErrorCode {
  switch (kind) {
    case "invalid_input":
      return "BAD_USER_INPUT";
    case "not_found":
      return "NOT_FOUND";
    case "limit":
      return "LIMIT_EXCEEDED";
    case "retryable":
      return "UNAVAILABLE";
    case "unauthenticated":
      return "UNAUTHENTICATED";
    case "forbidden":
      return "FORBIDDEN";
    case "config":
    case "permanent":
      return "INTERNAL";
  }
}
