import { isIP } from "node:net";
import type { SkaldConfig } from "../config/schema.js";
import { configError } from "../errors.js";

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/** The listeners a role opens, as config path → host. */
function listenersOf(role: string, config: SkaldConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const receives = role === "start" || role === "collector";
  if (receives) out.push(["otlp.host", config.otlp.host]);
  if (receives && config.flows.enabled) out.push(["flows.host", config.flows.host]);
  if (role === "start" || role === "query") out.push(["query.host", config.query.host]);
  if ((role === "collector" || role === "ingester") && config.kafka.metricsPort !== undefined) {
    out.push(["query.host", config.query.host]);
  }
  return out;
}

/**
 * Refuses a configuration that would serve data beyond this machine with nobody's credentials
 * checked, unless `auth.allowUnauthenticated` says the network is trusted. Also refuses
 * authentication that nobody could pass (no reader tokens and no OIDC issuer on a reading role).
 * Returns a warning to log when the override is in use.
 */
export function checkExposure(role: string, config: SkaldConfig): string | undefined {
  const { auth } = config;
  const open = listenersOf(role, config).filter(([, host]) => !isLoopback(host));
  if (auth.enabled) {
    const reads = role === "start" || role === "query";
    if (reads && auth.tokens.length === 0 && !auth.oidc) {
      throw configError(
        "auth.enabled is set but no reader can sign in: configure auth.tokens (SKALD_AUTH_TOKENS) or auth.oidc (SKALD_OIDC_ISSUER)",
      );
    }
    const receives = role === "start" || role === "collector";
    if (receives && auth.apiKeys.length === 0) {
      throw configError(
        "auth.enabled is set but no sender can send: configure auth.apiKeys (SKALD_AUTH_API_KEYS)",
      );
    }
    return undefined;
  }
  if (open.length === 0) return undefined;
  const where = open.map(([path, host]) => `${host} (${path})`).join(", ");
  if (auth.allowUnauthenticated) {
    return `listening on ${where} WITHOUT authentication (auth.allowUnauthenticated): anyone who can reach it can send and read every tenant's data`;
  }
  throw configError(
    `refusing to listen on ${where} without authentication: anyone who could reach it could read every tenant's traces and config history. ` +
      "Enable authentication (SKALD_AUTH_ENABLED=true with SKALD_AUTH_API_KEYS and SKALD_AUTH_TOKENS or SKALD_OIDC_ISSUER), " +
      "listen on 127.0.0.1, or set SKALD_AUTH_ALLOW_UNAUTHENTICATED=true on a trusted network",
  );
}
