import { createHash, timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import type { AuthConfig, LimitsConfig, OtlpConfig, Role } from "../config/schema.js";
import { authSchema, ROLES } from "../config/schema.js";
import { forbidden, unauthenticated } from "../errors.js";
import { resolveTenant, TENANT_RE } from "../tenant.js";
import { type Capability, grants, ROLE_FOR } from "./policy.js";
import { RateLimiter } from "./rate-limit.js";

/** Who a request comes from, after authentication. Carries no secret. */
export interface Principal {
  /** For audit and logs: the key's or token's configured name, the JWT subject, or "anonymous". */
  name: string;
  /** Every read and write of this request is confined to this tenant. */
  tenant: string;
  roles: ReadonlySet<Role>;
  via: "anonymous" | "api_key" | "token" | "jwt";
}

/** Reads one header (HTTP) or metadata value (gRPC), by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

/** The HeaderLookup of a Node HTTP request (a repeated header reads as its first value). */
export function headerLookup(req: { headers: Record<string, string | string[] | undefined> }): HeaderLookup {
  return (name) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
}

export interface Authenticator {
  readonly enabled: boolean;
  /** A sender (OTLP, VPC flow logs): API key → tenant. Throws 401/403/429 SkaldErrors. */
  sender(header: HeaderLookup): Principal;
  /** A reader (GraphQL, REST, dashboard): static token or JWT → tenant and roles. */
  reader(header: HeaderLookup): Promise<Principal>;
  /** Throws 403 unless the principal's roles grant the capability. */
  require(principal: Principal, capability: Capability): void;
}

const ALL_ROLES: ReadonlySet<Role> = new Set(ROLES);

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** A configured secret as the digest it is compared by (`sha256:<hex>` is taken as given). */
function digestOf(secret: string): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(secret);
  return m ? Buffer.from(m[1], "hex") : sha256(secret);
}

/**
 * Credentials by the hex SHA-256 of their secret. Looking up the presented secret's digest leaks,
 * through timing, at most something about a digest an attacker cannot invert, never about a
 * secret; the final comparison is constant-time anyway.
 */
class SecretTable<T> {
  private readonly byDigest = new Map<string, { digest: Buffer; entry: T }>();

  constructor(rows: Array<{ secret: string; entry: T }>) {
    for (const { secret, entry } of rows) {
      const digest = digestOf(secret);
      this.byDigest.set(digest.toString("hex"), { digest, entry });
    }
  }

  find(presented: string): T | undefined {
    const d = sha256(presented);
    const row = this.byDigest.get(d.toString("hex"));
    return row && timingSafeEqual(row.digest, d) ? row.entry : undefined;
  }
}

/** The credential of a request: `Authorization: Bearer …`, or the extra header when given. */
function bearer(header: HeaderLookup, extraHeader?: string): string | undefined {
  const auth = header("authorization");
  if (auth !== undefined) {
    const m = /^Bearer[ \t]+(\S{1,8192})[ \t]*$/i.exec(auth);
    if (!m)
      throw unauthenticated("CREDENTIALS_MALFORMED", "Authorization header must be 'Bearer <credential>'");
    return m[1];
  }
  const extra = extraHeader ? header(extraHeader) : undefined;
  return extra?.trim() || undefined;
}

export interface AuthenticatorOptions {
  auth: AuthConfig;
  otlp: Pick<OtlpConfig, "tenantHeader" | "defaultTenant">;
  limits?: Pick<LimitsConfig, "requestsPerSecondPerKey" | "requestBurst" | "tenants">;
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const { auth, otlp } = opts;
  const tenantHeader = otlp.tenantHeader.toLowerCase();
  const keys = new SecretTable(auth.apiKeys.map((k) => ({ secret: k.key, entry: k })));
  const tokens = new SecretTable(auth.tokens.map((t) => ({ secret: t.token, entry: t })));
  const oidc = auth.oidc;
  const jwks = oidc
    ? createRemoteJWKSet(new URL(oidc.jwksUrl ?? `${oidc.issuer.replace(/\/$/, "")}/.well-known/jwks.json`), {
        timeoutDuration: 5000,
        cooldownDuration: 30_000,
      })
    : undefined;
  const limiter = new RateLimiter("requests per credential");
  const limits = opts.limits;

  const throttle = (p: Principal) => {
    if (!limits) return;
    const rate = limits.tenants[p.tenant]?.requestsPerSecond ?? limits.requestsPerSecondPerKey;
    limiter.take(`${p.via}:${p.name}`, 1, rate, limits.requestBurst);
  };

  /** A tenant header may repeat the credential's tenant but never name another one. */
  const checkTenantHeader = (header: HeaderLookup, tenant: string) => {
    const named = header(tenantHeader)?.trim();
    if (named && named !== tenant) {
      throw forbidden(
        "TENANT_MISMATCH",
        `the ${otlp.tenantHeader} header names a tenant these credentials do not belong to`,
      );
    }
  };

  if (!auth.enabled) {
    const anonymous = (header: HeaderLookup): Principal => ({
      name: "anonymous",
      tenant: resolveTenant(header(tenantHeader), otlp as OtlpConfig),
      roles: ALL_ROLES,
      via: "anonymous",
    });
    return {
      enabled: false,
      sender: anonymous,
      reader: async (header) => anonymous(header),
      require: () => undefined,
    };
  }

  async function verifyJwt(token: string): Promise<Principal> {
    if (!oidc || !jwks) throw unauthenticated("CREDENTIALS_INVALID", "the bearer token is not valid");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        algorithms: oidc.algorithms,
        clockTolerance: oidc.clockToleranceSeconds,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired)
        throw unauthenticated("TOKEN_EXPIRED", "the token has expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        throw unauthenticated("TOKEN_INVALID", `the token's ${err.claim} claim is not accepted`);
      }
      if (err instanceof joseErrors.JWKSTimeout || (err as { code?: string }).code === "ERR_JOSE_GENERIC") {
        throw unauthenticated(
          "TOKEN_UNVERIFIABLE",
          "the token could not be checked against the issuer's keys",
        );
      }
      throw unauthenticated("TOKEN_INVALID", "the token's signature or format is not valid");
    }
    const tenant = payload[oidc.tenantClaim];
    if (typeof tenant !== "string" || !TENANT_RE.test(tenant)) {
      throw forbidden("TOKEN_NO_TENANT", `the token has no valid ${oidc.tenantClaim} claim`);
    }
    const raw = payload[oidc.rolesClaim];
    const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(/\s+/) : [];
    const roles = new Set(list.filter((r): r is Role => (ROLES as readonly unknown[]).includes(r)));
    if (roles.size === 0)
      throw forbidden("TOKEN_NO_ROLE", `the token grants no Skald role (claim ${oidc.rolesClaim})`);
    const subject = typeof payload.sub === "string" ? payload.sub.slice(0, 200) : "unknown";
    return { name: `jwt:${subject}`, tenant, roles, via: "jwt" };
  }

  return {
    enabled: true,
    sender(header) {
      const presented = bearer(header, auth.apiKeyHeader.toLowerCase());
      if (presented === undefined) {
        throw unauthenticated(
          "CREDENTIALS_MISSING",
          `an API key is required: send 'Authorization: Bearer <key>' or '${auth.apiKeyHeader}: <key>'`,
        );
      }
      const key = keys.find(presented);
      if (!key) throw unauthenticated("CREDENTIALS_INVALID", "the API key is not valid");
      const p: Principal = { name: key.name, tenant: key.tenant, roles: new Set(), via: "api_key" };
      checkTenantHeader(header, p.tenant);
      throttle(p);
      return p;
    },
    async reader(header) {
      const presented = bearer(header);
      if (presented === undefined) {
        throw unauthenticated(
          "CREDENTIALS_MISSING",
          "a bearer token is required: send 'Authorization: Bearer <token>'",
        );
      }
      const token = tokens.find(presented);
      const p: Principal = token
        ? { name: token.name, tenant: token.tenant, roles: new Set(token.roles), via: "token" }
        : await verifyJwt(presented);
      checkTenantHeader(header, p.tenant);
      throttle(p);
      return p;
    },
    require(principal, capability) {
      if (!grants(principal.roles, capability)) {
        throw forbidden("ROLE_REQUIRED", `this needs the ${ROLE_FOR[capability]} role`);
      }
    },
  };
}

/** Authentication off: every caller is anonymous, the tenant header (or the default) decides. */
export function openAuthenticator(otlp: AuthenticatorOptions["otlp"]): Authenticator {
  return createAuthenticator({ auth: authSchema.parse({}), otlp });
}
