import { invalidInput } from "../../core/errors.js";
import { safeRegex, valuesAt } from "./filter.js";

/**
 * Edda's request syntax: matrix arguments (`;k=v;k2`) and LinkedIn-style field selectors
 * (`:(a,b:(c))`, `::(…)` to flatten, with `=lit`, `!=lit`, `~/re/`, `!~/re/`), with Edda's
 * semantics: a field selector keeps the named keys; a condition that fails drops the record (or,
 * inside an array, the element).
 */

/** Parses `name;k=v;flag` (raw, percent-encoded) into the name and its arguments (null = no value). */
export function parseMatrix(segment: string): { name: string; args: Map<string, string | null> } {
  const [name, ...rest] = segment.split(";");
  const args = new Map<string, string | null>();
  for (const part of rest) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) args.set(decode(part), null);
    else args.set(decode(part.slice(0, eq)), decode(part.slice(eq + 1)));
  }
  return { name: decode(name), args };
}

export function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidInput("BAD_URI", `bad percent-encoding in "${s.slice(0, 100)}"`);
  }
}

/** Edda select matrix arguments: `k=v` (equality, any array element), `k=a,b` (any of), `k` (present, non-empty). */
export function matchesSelectors(doc: unknown, selectors: Map<string, string | null>): boolean {
  for (const [path, want] of selectors) {
    const vals = valuesAt(doc, path).flatMap((v) => (Array.isArray(v) ? v : [v]));
    if (want === null) {
      if (!vals.some((v) => v !== null && v !== "")) return false;
      continue;
    }
    const options =
      want === "true" ? [true] : want === "false" ? [false] : want.includes(",") ? want.split(",") : [want];
    if (
      !vals.some((v) =>
        options.some((o) => (typeof o === "boolean" ? v === o : String(v) === o && typeof v !== "object")),
      )
    ) {
      return false;
    }
  }
  return true;
}

/** AWS SDK v3 field names (InstanceId) as Edda's clients know them (instanceId), recursively. */
export function eddaKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(eddaKeys);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.charAt(0).toLowerCase() + k.slice(1)] = eddaKeys(x);
  return out;
}

export type Expr =
  | { kind: "any" }
  | { kind: "fixed"; matches: boolean }
  | { kind: "eq" | "ne"; value: unknown }
  | { kind: "regex"; re: RegExp; invert: boolean }
  | { kind: "keys"; keys: Map<string, Expr> }
  | { kind: "flatten"; expr: Expr };

interface Result {
  matches: boolean;
  value: unknown;
  /** Edda's NoMatch: the expression did not apply (e.g. key selection on a scalar). */
  none?: boolean;
}

/** Parses a field selector (`:(a,b:(c=1))`, `::(…)`); throws invalid_input naming the position. */
export function parseFieldSelector(text: string): Expr {
  if (text.length > 2000) throw invalidInput("BAD_SELECTOR", "field selector longer than 2000 characters");
  let pos = 0;
  const fail = (msg: string): never => {
    throw invalidInput("BAD_SELECTOR", `could not parse field selector at ${pos}: ${msg}`);
  };
  const expect = (s: string) => {
    if (!text.startsWith(s, pos)) fail(`expected "${s}"`);
    pos += s.length;
  };
  const expression = (depth: number): Expr => {
    if (depth > 20) fail("nested too deeply");
    if (text.startsWith("::(", pos)) {
      pos += 1;
      return { kind: "flatten", expr: keySelect(depth) };
    }
    return keySelect(depth);
  };
  const keySelect = (depth: number): Expr => {
    expect(":(");
    const keys = new Map<string, Expr>();
    for (;;) {
      const id = /^[a-zA-Z0-9_.-]*/.exec(text.slice(pos))?.[0] ?? "";
      pos += id.length;
      keys.set(id, sub(depth) ?? { kind: "fixed", matches: true });
      if (text[pos] === ",") pos++;
      else break;
    }
    expect(")");
    return { kind: "keys", keys };
  };
  const sub = (depth: number): Expr | undefined => {
    if (text.startsWith("!=", pos)) {
      pos += 2;
      return { kind: "ne", value: literal() };
    }
    if (text.startsWith("=", pos)) {
      pos += 1;
      return { kind: "eq", value: literal() };
    }
    if (text.startsWith("!~", pos) || text.startsWith("~", pos)) {
      const invert = text[pos] === "!";
      pos += invert ? 2 : 1;
      expect("/");
      const end = text.indexOf("/", pos);
      if (end < 0) fail("unterminated regex");
      const re = safeRegex(text.slice(pos, end));
      pos = end + 1;
      return { kind: "regex", re, invert };
    }
    if (text.startsWith(":", pos)) return expression(depth + 1);
    return undefined;
  };
  const literal = (): unknown => {
    const rest = text.slice(pos);
    const str = /^"[^"]*"/.exec(rest);
    if (str) {
      pos += str[0].length;
      return str[0].slice(1, -1);
    }
    for (const [word, value] of [
      ["null", null],
      ["true", true],
      ["false", false],
    ] as const) {
      if (rest.startsWith(word)) {
        pos += word.length;
        return value;
      }
    }
    const n = /^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?/.exec(rest);
    if (!n) fail('expected a literal ("text", null, true, false or a number)');
    pos += (n as RegExpExecArray)[0].length;
    return Number((n as RegExpExecArray)[0]);
  };
  const expr = expression(0);
  if (pos !== text.length) fail("unexpected text");
  return expr;
}

function check(expr: Expr, v: unknown): Result {
  switch (expr.kind) {
    case "any":
      return { matches: true, value: v };
    case "fixed":
      return { matches: expr.matches, value: v };
    case "eq":
      return { matches: v === expr.value, value: v };
    case "ne":
      return { matches: v !== expr.value, value: v };
    case "regex": {
      const hit = v !== null && v !== undefined && expr.re.test(String(v));
      return { matches: hit !== expr.invert, value: v };
    }
    case "keys": {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        return { matches: false, value: undefined, none: true };
      let matches = true;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const e = expr.keys.get(k);
        if (!e) continue;
        const r = selectInner(e, x);
        if (!r.matches) matches = false;
        if (r.value !== undefined) out[k] = r.value;
      }
      return { matches, value: out };
    }
    case "flatten": {
      const r = selectInner(expr.expr, v);
      return { matches: r.matches, value: flatten(undefined, r.value) };
    }
  }
}

function selectInner(expr: Expr, v: unknown): Result {
  if (Array.isArray(v)) {
    if (v.length === 0) return { matches: true, value: v };
    const kept = v.map((x) => check(expr, x)).filter((r) => r.matches && r.value !== undefined);
    return { matches: true, value: kept.map((r) => r.value) };
  }
  return check(expr, v);
}

/** Applies a selector to a document: the selected value, or undefined when the record is dropped. */
export function applySelector(expr: Expr, doc: unknown): unknown {
  const r = selectInner(expr, doc);
  if (r.none) return doc;
  return r.matches ? r.value : undefined;
}

function flatten(prefix: string | undefined, v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (x !== null && typeof x === "object" && !Array.isArray(x)) Object.assign(out, flatten(key, x));
    else out[key] = x;
  }
  return out;
}
