import { SkaldError } from "../../core/errors.js";
import { parseRfc3339Nanos } from "../time.js";

/**
 * Parameter parsing for Jaeger's query APIs. Every failure is a ParamError naming the parameter,
 * which the routes turn into a 400 in the API's own error shape (legacy or api/v3).
 */

export class ParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/** A query string as Fastify parses it: repeated keys become arrays. */
export type Query = Record<string, string | string[] | undefined>;

/** The last value of a parameter (Go's url.Values.Get returns the first; Jaeger UI sends each once). */
export function one(q: Query, name: string): string | undefined {
  const v = q[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s;
}

export function all(q: Query, name: string): string[] {
  const v = q[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((s) => s !== "");
}

const GO_UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's time.ParseDuration, exactly: an optional sign, then one or more decimal numbers each with a
 * unit ("300ms", "-1.5h", "2h45m", "1.2µs"); "0" alone is allowed. Fractions below a nanosecond
 * are truncated as Go does. Returns nanoseconds (may be negative).
 */
export function parseGoDuration(text: string): bigint {
  let s = text;
  let sign = 1n;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1n;
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw new Error(`invalid duration "${text}"`);
  let total = 0n;
  GO_PART.lastIndex = 0;
  while (GO_PART.lastIndex < s.length) {
    const at = GO_PART.lastIndex;
    const m = GO_PART.exec(s);
    if (!m || m.index !== at) throw new Error(`invalid duration "${text}"`);
    const [whole, frac = ""] = m[1].split(".");
    const unit = GO_UNIT_NS[m[2]];
    const scale = 10n ** BigInt(frac.length);
    total += BigInt(whole || "0") * unit + (BigInt(frac || "0") * unit) / scale;
    if (total > INT64_MAX) throw new Error(`invalid duration "${text}"`);
  }
  return sign * total;
}

/** A non-negative Go duration parameter in nanoseconds, or undefined when absent. */
export function durationParam(q: Query, name: string): bigint | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  let ns: bigint;
  try {
    ns = parseGoDuration(v);
  } catch (err) {
    throw new ParamError(name, `unable to parse param '${name}': ${(err as Error).message}`);
  }
  if (ns < 0n) throw new ParamError(name, `unable to parse param '${name}': negative duration "${v}"`);
  return ns;
}

/** An integer parameter (Go's strconv.ParseInt), or undefined when absent. */
export function intParam(q: Query, name: string): bigint | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  if (!/^[+-]?\d{1,19}$/.test(v) || BigInt(v) > INT64_MAX) {
    throw new ParamError(name, `unable to parse param '${name}': "${clip(v)}" is not an integer`);
  }
  return BigInt(v);
}

/** A time in microseconds since the epoch, as nanoseconds. */
export function microsParam(q: Query, name: string): bigint | undefined {
  const us = intParam(q, name);
  if (us === undefined) return undefined;
  if (us < 0n) throw new ParamError(name, `unable to parse param '${name}': negative time`);
  return us * 1000n;
}

/** An RFC 3339 time (api/v3), as nanoseconds. */
export function rfc3339Param(q: Query, name: string): bigint | undefined {
  const v = one(q, name);
  if (v === undefined) return undefined;
  try {
    return parseRfc3339Nanos(v);
  } catch (err) {
    throw new ParamError(name, `malformed parameter ${name}: ${(err as SkaldError).message}`);
  }
}

/** A positive integer that fits a JS number (limits, page sizes). */
export function countParam(q: Query, name: string): number | undefined {
  const n = intParam(q, name);
  if (n === undefined) return undefined;
  if (n < 0n) throw new ParamError(name, `unable to parse param '${name}': must not be negative`);
  return n > 1_000_000n ? 1_000_000 : Number(n);
}

/**
 * Tags as Jaeger's query parser reads them: `tags` is a JSON object of string values (what the
 * Jaeger UI and Grafana send, Grafana after converting its logfmt box), each `tag` is "key:value"
 * split at the first ':'. Later keys win, as in Go's map.
 */
export function tagsParam(q: Query): Map<string, string> {
  const tags = new Map<string, string>();
  for (const t of all(q, "tag")) {
    const i = t.indexOf(":");
    if (i < 0)
      throw new ParamError("tag", `malformed 'tag' parameter, expecting key:value, received: ${clip(t)}`);
    tags.set(t.slice(0, i), t.slice(i + 1));
  }
  for (const json of all(q, "tags")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new ParamError("tags", `malformed 'tags' parameter, cannot unmarshal JSON: ${clip(json)}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new ParamError("tags", "malformed 'tags' parameter, expecting a JSON object of strings");
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string") {
        throw new ParamError("tags", `malformed 'tags' parameter, value of "${clip(k)}" is not a string`);
      }
      tags.set(k, v);
    }
  }
  return tags;
}

/** The JSON-map attributes of api/v3 (`query.attributes`). */
export function attributesParam(q: Query, name: string): Map<string, string> {
  const json = one(q, name);
  const out = new Map<string, string>();
  if (json === undefined) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ParamError(name, `malformed parameter ${name}: not a JSON object`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ParamError(name, `malformed parameter ${name}: not a JSON object`);
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "string")
      throw new ParamError(name, `malformed parameter ${name}: "${clip(k)}" is not a string`);
    out.set(k, v);
  }
  return out;
}

/** Converts a SkaldError from the reader (bad id, bad range) into a ParamError for `param`. */
export function asParamError(err: unknown, param: string): unknown {
  return err instanceof SkaldError && err.kind === "invalid_input" ? new ParamError(param, err.message) : err;
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
