import { invalidInput } from "../core/errors.js";

/** Trace and span ids are stored as lowercase hex; input is accepted in either case. */

const TRACE_ID = /^[0-9a-fA-F]{32}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;

/** Lowercase 32-hex trace id, or throws BAD_TRACE_ID (invalid_input). */
export function parseTraceId(input: unknown): string {
  if (typeof input !== "string" || !TRACE_ID.test(input)) {
    throw invalidInput("BAD_TRACE_ID", `${describe(input)} is not a trace id (expected 32 hex characters)`);
  }
  return input.toLowerCase();
}

/** Lowercase 16-hex span id, or throws BAD_SPAN_ID (invalid_input). */
export function parseSpanId(input: unknown): string {
  if (typeof input !== "string" || !SPAN_ID.test(input)) {
    throw invalidInput("BAD_SPAN_ID", `${describe(input)} is not a span id (expected 16 hex characters)`);
  }
  return input.toLowerCase();
}

export const isSpanId = (s: string): boolean => SPAN_ID.test(s);
export const isTraceId = (s: string): boolean => TRACE_ID.test(s);

function describe(input: unknown): string {
  if (typeof input !== "string") return `a ${typeof input}`;
  return JSON.stringify(input.length > 64 ? `${input.slice(0, 64)}…` : input);
}
