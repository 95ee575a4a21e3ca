import { invalidInput } from "../../core/errors.js";

/**
 * JSON-path filters for `resources(filter:)`, evaluated in JS on documents read from ClickHouse
 * (user text never reaches SQL except as bound parameters). A path is dotted field names;
 * arrays met along the way match when any element matches. `elem` applies its conditions to the
 * same element of the array at `path` (an SG rule open to 0.0.0.0/0 AND covering port 22).
 * Every condition of a list must hold.
 */
export interface ConfigFilter {
  path: string;
  eq?: unknown;
  ne?: unknown;
  regex?: string;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  contains?: unknown;
  exists?: boolean;
  elem?: ConfigFilter[];
}

type Json = unknown;
const MAX_REGEX = 200;
const MAX_DEPTH = 4;
const MAX_CONDITIONS = 50;
/** Strings longer than this are matched on their first MAX_MATCH_TEXT characters only. */
const MAX_MATCH_TEXT = 10_000;

/** Values at a dotted path; arrays along the way fan out. `""` is the document itself. */
export function valuesAt(doc: Json, path: string): Json[] {
  let nodes: Json[] = [doc];
  if (path === "") return nodes;
  for (const part of path.split(".")) {
    const next: Json[] = [];
    const visit = (n: Json) => {
      if (Array.isArray(n)) for (const x of n) visit(x);
      else if (n !== null && typeof n === "object" && part in (n as object))
        next.push((n as Record<string, Json>)[part]);
    };
    for (const n of nodes) visit(n);
    nodes = next;
  }
  return nodes;
}

const flat = (vals: Json[]): Json[] => vals.flatMap((v) => (Array.isArray(v) ? v : [v]));
const same = (a: Json, b: Json): boolean => JSON.stringify(a) === JSON.stringify(b);
const num = (v: Json): number | undefined => {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

/** A compiled predicate; throws invalid_input for unsafe or malformed filters. */
export function compileFilter(filters: ConfigFilter[], depth = 0): (doc: Json) => boolean {
  if (depth > MAX_DEPTH) throw invalidInput("BAD_FILTER", `filters nest at most ${MAX_DEPTH} levels`);
  if (filters.length > MAX_CONDITIONS)
    throw invalidInput("BAD_FILTER", `at most ${MAX_CONDITIONS} conditions`);
  const preds = filters.map((f) => compileOne(f, depth));
  return (doc) => preds.every((p) => p(doc));
}

function compileOne(f: ConfigFilter, depth: number): (doc: Json) => boolean {
  if (typeof f.path !== "string" || f.path.length > 500)
    throw invalidInput("BAD_FILTER", "path must be ≤ 500 characters");
  const tests: Array<(vals: Json[]) => boolean> = [];
  if (f.eq !== undefined)
    tests.push((v) => flat(v).some((x) => same(x, f.eq)) || v.some((x) => same(x, f.eq)));
  if (f.ne !== undefined)
    tests.push((v) => !(flat(v).some((x) => same(x, f.ne)) || v.some((x) => same(x, f.ne))));
  if (f.regex !== undefined) {
    const re = safeRegex(f.regex);
    tests.push((v) => flat(v).some((x) => typeof x === "string" && re.test(x.slice(0, MAX_MATCH_TEXT))));
  }
  const cmp = (bound: number | undefined, ok: (a: number, b: number) => boolean) => {
    if (bound === undefined) return;
    tests.push((v) =>
      flat(v).some((x) => {
        const n = num(x);
        return n !== undefined && ok(n, bound);
      }),
    );
  };
  cmp(f.gt, (a, b) => a > b);
  cmp(f.gte, (a, b) => a >= b);
  cmp(f.lt, (a, b) => a < b);
  cmp(f.lte, (a, b) => a <= b);
  if (f.contains !== undefined)
    tests.push((v) => v.some((x) => Array.isArray(x) && x.some((e) => same(e, f.contains))));
  if (f.exists !== undefined) tests.push((v) => v.length > 0 === f.exists);
  if (f.elem) {
    const inner = compileFilter(f.elem, depth + 1);
    tests.push((v) => flat(v).some((e) => inner(e)));
  }
  if (tests.length === 0) throw invalidInput("BAD_FILTER", `filter on "${f.path}" has no condition`);
  // With `elem`, the path names the array itself; fan-out happens in the test above.
  return (doc) => {
    const vals = valuesAt(doc, f.path);
    return tests.every((t) => t(vals));
  };
}

/** Compiles a user regex: length-limited, and nested quantifiers (catastrophic backtracking) refused. */
export function safeRegex(source: string): RegExp {
  if (source.length > MAX_REGEX)
    throw invalidInput("BAD_FILTER", `regex longer than ${MAX_REGEX} characters`);
  if (/\([^)]*[+*}][^)]*\)\s*[+*{]/.test(source) || /\\[1-9]/.test(source)) {
    throw invalidInput("BAD_FILTER", "regex with nested quantifiers or back-references is refused");
  }
  try {
    return new RegExp(source, "u");
  } catch (err) {
    throw invalidInput("BAD_FILTER", `bad regex: ${(err as Error).message}`);
  }
}

/** Exact strings every matching document must contain (JSON text of `eq` values outside `elem`). */
export function needlesOf(filters: ConfigFilter[]): string[] {
  return filters
    .filter((f) => f.eq !== undefined && f.eq !== null && typeof f.eq !== "object")
    .map((f) => JSON.stringify(f.eq));
}
