/**
 * The closed set of error kinds Skald raises, each with a stable code. Every edge (OTLP gRPC,
 * OTLP HTTP, GraphQL, REST) maps them through `core/error-mapping.ts`, nowhere else.
 */
export type ErrorKind =
  | "invalid_input"
  | "not_found"
  | "retryable"
  | "permanent"
  | "config"
  | "limit"
  /** No credentials, or credentials that are not valid (401 / UNAUTHENTICATED). */
  | "unauthenticated"
  /** Valid credentials without the right to this (403 / PERMISSION_DENIED). */
  | "forbidden";

export class SkaldError extends Error {
  readonly kind: ErrorKind;
  /** Stable machine-readable code, e.g. "OTLP_MALFORMED", "QUEUE_FULL". */
  readonly code: string;
  /** For retryable errors: how long the sender should wait before trying again. */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    opts: { retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "SkaldError";
    this.kind = kind;
    this.code = code;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export const invalidInput = (code: string, message: string): SkaldError =>
  new SkaldError("invalid_input", code, message);

export const notFound = (code: string, message: string): SkaldError =>
  new SkaldError("not_found", code, message);

export const retryable = (code: string, message: string, retryAfterMs: number, cause?: unknown): SkaldError =>
  new SkaldError("retryable", code, message, { retryAfterMs, cause });

export const limitExceeded = (code: string, message: string): SkaldError =>
  new SkaldError("limit", code, message);

export const unauthenticated = (code: string, message: string): SkaldError =>
  new SkaldError("unauthenticated", code, message);

export const forbidden = (code: string, message: string): SkaldError =>
  new SkaldError("forbidden", code, message);

export const configError = (message: string): SkaldError =>
  new SkaldError("config", "CONFIG_INVALID", message);

/** Anything not already a SkaldError is treated as retryable: the sender keeps its data. */
export function asSkaldError(err: unknown): SkaldError {
  if (err instanceof SkaldError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SkaldError("retryable", "INTERNAL", message, { retryAfterMs: 1000, cause: err });
}
