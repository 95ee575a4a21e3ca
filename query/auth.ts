import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuditLog } from "../core/auth/audit.js";
import { type Authenticator, headerLookup, type Principal } from "../core/auth/authenticator.js";
import { type Capability, type RouteAccess, routeAccess } from "../core/auth/policy.js";
import type { SkaldConfig } from "../core/config/schema.js";
import { graphqlCodeOf, httpStatusOf, retryAfterSeconds } from "../core/error-mapping.js";
import { asSkaldError, SkaldError } from "../core/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth hook on every route that is not public. */
    principal?: Principal;
  }
}

/** The authenticated caller of a request (its tenant scopes every read and write). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) {
    // A route reached without the hook having run: a wiring bug, never a reason to serve data.
    throw new SkaldError("permanent", "AUTH_NOT_APPLIED", "this route is not behind authentication");
  }
  return req.principal;
}

/** Whether a request of this access class is written to the audit log. */
export function audited(access: RouteAccess, method: string): boolean {
  return access === "config" || access === "admin" || (access === "canary" && method !== "GET");
}

/**
 * Checks every request of the query server in one place, before any handler runs: the route's
 * access rule (core/auth/policy.ts), then credentials, then role. Refusals carry the protocol's
 * status (401 with WWW-Authenticate, 403, 429 with Retry-After) and say what is missing, never
 * what exists. Config-history, canary-change and admin requests are written to the audit log.
 */
export function installAuth(
  app: FastifyInstance,
  deps: { auth: Authenticator; config: SkaldConfig; audit?: AuditLog },
): void {
  const { auth, config, audit } = deps;
  const opts = { jaegerPrefix: config.query.jaegerPrefix, publicMetrics: config.auth.publicMetrics };
  const accessOf = (req: FastifyRequest) => routeAccess(req.routeOptions.url, opts);

  app.addHook("onRequest", async (req, reply) => {
    const access = accessOf(req);
    if (access === "public") return;
    let principal: Principal | undefined;
    try {
      principal = await auth.reader(headerLookup(req));
      if (access !== "authenticated") auth.require(principal, access);
      req.principal = principal;
    } catch (err) {
      const e = asSkaldError(err);
      if (principal && audited(access, req.method)) {
        audit?.record({
          principal,
          action: `${req.method} ${req.routeOptions.url}`,
          target: pathOf(req),
          status: httpStatusOf(e),
          source: req.ip,
        });
      }
      return refuse(req, reply, e);
    }
  });

  app.addHook("onResponse", async (req, reply) => {
    const principal = req.principal;
    if (!principal || !audit) return;
    const access = accessOf(req);
    if (!audited(access, req.method)) return;
    audit.record({
      principal,
      action: `${req.method} ${req.routeOptions.url}`,
      target: pathOf(req),
      status: reply.statusCode,
      source: req.ip,
    });
  });
}

function pathOf(req: FastifyRequest): string {
  return (req.raw.url ?? "").split("?")[0];
}

function refuse(req: FastifyRequest, reply: FastifyReply, e: SkaldError): FastifyReply {
  const status = httpStatusOf(e);
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="skald"');
  const retry = retryAfterSeconds(e);
  if (retry !== undefined) reply.header("retry-after", String(retry));
  reply.status(status).header("cache-control", "no-store");
  if (req.routeOptions.url === "/graphql") {
    return reply.send({ errors: [{ message: e.message, extensions: { code: graphqlCodeOf(e.kind) } }] });
  }
  return reply.send({ error: e.code, message: e.message });
}

/** The capability a GraphQL root field needs, from the module that contributed it. */
export type FieldAccess = ReadonlyMap<string, Capability>;
