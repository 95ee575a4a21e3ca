import type { Role } from "../config/schema.js";

/**
 * What a request may touch. Every API maps onto one of these in one place (this file for REST
 * routes, each query module's `access` for its GraphQL root fields), and roles grant them:
 *   viewer   → traces (spans, service maps, flows)
 *   security → config (config history, read-only)
 *   deployer → canary (canary configs and runs)
 *   admin    → all of the above, plus admin (audit log, metrics)
 */
export type Capability = "traces" | "config" | "canary" | "admin";

const GRANTS: Record<Role, readonly Capability[]> = {
  viewer: ["traces"],
  security: ["config"],
  deployer: ["canary"],
  admin: ["traces", "config", "canary", "admin"],
};

/** The role a capability needs, for error messages ("needs the security role"). */
export const ROLE_FOR: Record<Capability, Role> = {
  traces: "viewer",
  config: "security",
  canary: "deployer",
  admin: "admin",
};

export function grants(roles: Iterable<Role>, capability: Capability): boolean {
  for (const role of roles) if (GRANTS[role].includes(capability)) return true;
  return false;
}

/** What a REST route of the query server needs: nothing, any valid credentials, or a capability. */
export type RouteAccess = "public" | "authenticated" | Capability;

/**
 * The access rule of a query-server route, by its registered URL pattern (never the raw path, so
 * `/api/../metrics` cannot change the rule). A route not listed here needs `admin`: a new API is
 * closed until someone decides who may use it.
 */
export function routeAccess(
  pattern: string | undefined,
  opts: { jaegerPrefix: string; publicMetrics: boolean },
): RouteAccess {
  // No route: the not-found handler, which only serves the dashboard's static files.
  if (pattern === undefined) return "public";
  if (pattern === "/healthz" || pattern === "/readyz") return "public";
  // The dashboard shell and its hashed assets hold no data; the data comes from /graphql.
  if (pattern === "/" || pattern === "/assets/*") return "public";
  if (pattern === "/metrics") return opts.publicMetrics ? "public" : "admin";
  if (pattern === "/graphql") return "authenticated"; // each root field is checked by the GraphQL layer
  if (pattern.startsWith("/api/v2/") || pattern.startsWith("/edda/api/v2/")) return "config";
  if (pattern.startsWith("/kayenta/") || pattern === "/kayenta") return "canary";
  const jaeger = opts.jaegerPrefix.replace(/\/$/, "");
  if (pattern.startsWith(`${jaeger}/api/`)) return "traces";
  return "admin";
}
