/**
 * Every view's state lives in the URL (path + query string), so a link reproduces the view.
 * Global state shared by all pages: the time range (`last=1h`, or `from`/`to` as RFC 3339) and
 * the environment filter (`env`) and the service filter (`service`). Pure functions only: the React side is in router.tsx.
 */

export type TimeRange = { kind: "relative"; last: string } | { kind: "absolute"; from: string; to: string };

/** Relative ranges the picker offers, shortest first. */
export const RELATIVE_RANGES = ["5m", "15m", "1h", "6h", "24h", "7d"] as const;
export const DEFAULT_RANGE: TimeRange = { kind: "relative", last: "1h" };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a relative range like "15m", or null if it is not one. */
export function relativeMs(last: string): number | null {
  const m = /^(\d+)([smhd])$/.exec(last);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

export function parseRange(params: URLSearchParams): TimeRange {
  const from = params.get("from");
  const to = params.get("to");
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))) {
    return { kind: "absolute", from, to };
  }
  const last = params.get("last");
  if (last && relativeMs(last) !== null) return { kind: "relative", last };
  return DEFAULT_RANGE;
}

/** Writes a range into params (removing the other representation). */
export function writeRange(params: URLSearchParams, range: TimeRange): void {
  params.delete("last");
  params.delete("from");
  params.delete("to");
  if (range.kind === "relative") {
    params.set("last", range.last);
  } else {
    params.set("from", range.from);
    params.set("to", range.to);
  }
}

/** The absolute window a range means at `now` (ISO strings, as the GraphQL DateTime scalar takes). */
export function resolveRange(range: TimeRange, now: number): { from: string; to: string } {
  if (range.kind === "absolute") {
    return { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() };
  }
  const ms = relativeMs(range.last) ?? 3_600_000;
  return { from: new Date(now - ms).toISOString(), to: new Date(now).toISOString() };
}

/** The pages of the app, by first path segment. */
export type Route =
  | { page: "traces" }
  | { page: "trace"; traceId: string }
  | { page: "map" }
  | { page: "config" }
  | { page: "canary" }
  | { page: "flows" }
  | { page: "compare" }
  | { page: "security" }
  | { page: "notFound" };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean);
  if (parts.length === 0 || parts[0] === "traces") return { page: "traces" };
  if (parts[0] === "trace" && parts[1] && /^[0-9a-fA-F]{32}$/.test(parts[1])) {
    return { page: "trace", traceId: parts[1].toLowerCase() };
  }
  if (parts[0] === "map") return { page: "map" };
  if (parts[0] === "config") return { page: "config" };
  if (parts[0] === "canary") return { page: "canary" };
  if (parts[0] === "flows") return { page: "flows" };
  if (parts[0] === "compare") return { page: "compare" };
  if (parts[0] === "security") return { page: "security" };
  return { page: "notFound" };
}

/** Global query parameters carried across pages when navigating with the nav bar. */
export const GLOBAL_KEYS = ["last", "from", "to", "env", "service"] as const;

/** `path?query` keeping only the global parameters of `current`, plus `extra` (empty values dropped). */
export function hrefWithGlobals(
  path: string,
  current: URLSearchParams,
  extra: Record<string, string | undefined> = {},
): string {
  const next = new URLSearchParams();
  for (const k of GLOBAL_KEYS) {
    const v = current.get(k);
    if (v) next.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  const q = next.toString();
  return q ? `${path}?${q}` : path;
}

/** A copy of `params` with `changes` applied (undefined or "" removes the key). */
export function withParams(
  params: URLSearchParams,
  changes: Record<string, string | undefined | null>,
): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === "") next.delete(k);
    else next.set(k, v);
  }
  return next;
}

/** Attribute filters as written in the URL and the search form: `key=value` or `key` (presence). */
export function parseAttributeFilters(text: string): Array<{ key: string; value?: string }> {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const eq = s.indexOf("=");
      return eq < 0 ? { key: s } : { key: s.slice(0, eq).trim(), value: s.slice(eq + 1).trim() };
    })
    .filter((f) => f.key.length > 0);
}
