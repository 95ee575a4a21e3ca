import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { authSchema, configSchema } from "../config/schema.js";
import { SkaldError } from "../errors.js";
import { createAuthenticator } from "./authenticator.js";
import { checkExposure, isLoopback } from "./exposure.js";
import { flowSourceTenants } from "./flow-sources.js";
import { routeAccess } from "./policy.js";
import { RateLimiter, TenantSpanLimits } from "./rate-limit.js";

const otlp = { tenantHeader: "x-scope-orgid", defaultTenant: "default" };
const headers = (h: Record<string, string>) => (name: string) => h[name];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SkaldError ? `${err.kind}:${err.code}` : String(err);
  }
  return undefined;
}

describe("authenticator", () => {
  const auth = createAuthenticator({
    otlp,
    auth: authSchema.parse({
      enabled: true,
      apiKeys: [
        { name: "a", key: "key-of-tenant-a-000000", tenant: "a" },
        {
          name: "b",
          key: `sha256:${createHash("sha256").update("key-of-tenant-b-000000").digest("hex")}`,
          tenant: "b",
        },
      ],
      tokens: [{ name: "t", token: "token-of-tenant-a-0000", tenant: "a", roles: ["viewer", "deployer"] }],
    }),
  });

  it("maps an API key (Bearer or the key header, plain or as its digest) to its tenant", () => {
    expect(auth.sender(headers({ authorization: "Bearer key-of-tenant-a-000000" })).tenant).toBe("a");
    expect(auth.sender(headers({ "x-api-key": "key-of-tenant-b-000000" })).tenant).toBe("b");
    expect(auth.sender(headers({ "x-api-key": "key-of-tenant-a-000000", "x-scope-orgid": "a" })).tenant).toBe(
      "a",
    );
  });

  it("refuses missing, malformed and unknown keys (401) and a tenant header naming another tenant (403)", () => {
    expect(codeOf(() => auth.sender(headers({})))).toBe("unauthenticated:CREDENTIALS_MISSING");
    expect(codeOf(() => auth.sender(headers({ authorization: "Basic xyz" })))).toBe(
      "unauthenticated:CREDENTIALS_MALFORMED",
    );
    expect(codeOf(() => auth.sender(headers({ "x-api-key": "key-of-tenant-c-000000" })))).toBe(
      "unauthenticated:CREDENTIALS_INVALID",
    );
    expect(
      codeOf(() => auth.sender(headers({ "x-api-key": "key-of-tenant-a-000000", "x-scope-orgid": "b" }))),
    ).toBe("forbidden:TENANT_MISMATCH");
    // reader tokens are not sender keys and the other way round
    expect(codeOf(() => auth.sender(headers({ "x-api-key": "token-of-tenant-a-0000" })))).toBe(
      "unauthenticated:CREDENTIALS_INVALID",
    );
  });

  it("gives a reader token its tenant and roles; roles grant capabilities", async () => {
    const p = await auth.reader(headers({ authorization: "Bearer token-of-tenant-a-0000" }));
    expect(p).toMatchObject({ name: "t", tenant: "a", via: "token" });
    expect(codeOf(() => auth.require(p, "traces"))).toBeUndefined();
    expect(codeOf(() => auth.require(p, "canary"))).toBeUndefined();
    expect(codeOf(() => auth.require(p, "config"))).toBe("forbidden:ROLE_REQUIRED");
    expect(codeOf(() => auth.require(p, "admin"))).toBe("forbidden:ROLE_REQUIRED");
    await expect(
      auth.reader(headers({ authorization: "Bearer key-of-tenant-a-000000" })),
    ).rejects.toMatchObject({
      code: "CREDENTIALS_INVALID",
    });
  });

  it("with authentication off, everyone is anonymous with every role and the tenant header decides", async () => {
    const open = createAuthenticator({ otlp, auth: authSchema.parse({}) });
    expect(open.sender(headers({ "x-scope-orgid": "x" })).tenant).toBe("x");
    expect((await open.reader(headers({}))).tenant).toBe("default");
    expect(codeOf(() => open.sender(headers({ "x-scope-orgid": "bad tenant!" })))).toBe(
      "invalid_input:TENANT_INVALID",
    );
  });

  it("rate-limits requests per credential when configured", async () => {
    const limited = createAuthenticator({
      otlp,
      auth: authSchema.parse({
        enabled: true,
        apiKeys: [{ name: "a", key: "key-of-tenant-a-000000", tenant: "a" }],
      }),
      limits: { requestsPerSecondPerKey: 1, requestBurst: 2, tenants: {} },
    });
    const send = () => limited.sender(headers({ "x-api-key": "key-of-tenant-a-000000" }));
    send();
    send();
    expect(codeOf(send)).toBe("limit:RATE_LIMITED");
  });
});

describe("rate limiter", () => {
  it("refills at the rate up to the burst and tells when to retry", () => {
    let now = 0;
    const l = new RateLimiter("test", () => now);
    l.take("k", 5, 10, 5);
    let err: SkaldError | undefined;
    try {
      l.take("k", 1, 10, 5);
    } catch (e) {
      err = e as SkaldError;
    }
    expect(err?.code).toBe("RATE_LIMITED");
    expect(err?.retryAfterMs).toBeGreaterThanOrEqual(1000);
    now += 100; // one token back
    l.take("k", 1, 10, 5);
    l.take("other", 5, 10, 5); // buckets are per key
  });

  it("charges spans per tenant, with per-tenant overrides, and lets one oversized batch through a full bucket", () => {
    const limits = new TenantSpanLimits({
      spansPerSecondPerTenant: 100,
      tenants: { big: { spansPerSecond: 0 } },
    });
    limits.admit("a", 100);
    expect(codeOf(() => limits.admit("a", 1))).toBe("limit:RATE_LIMITED");
    limits.admit("big", 1_000_000); // 0 = unlimited
    limits.admit("b", 500); // bigger than the bucket, but the bucket was full
    expect(codeOf(() => limits.admit("b", 1))).toBe("limit:RATE_LIMITED");
  });
});

describe("route access", () => {
  const opts = { jaegerPrefix: "", publicMetrics: false };
  it("maps every query-server route to what it needs, closed by default", () => {
    expect(routeAccess("/healthz", opts)).toBe("public");
    expect(routeAccess("/assets/*", opts)).toBe("public");
    expect(routeAccess(undefined, opts)).toBe("public");
    expect(routeAccess("/graphql", opts)).toBe("authenticated");
    expect(routeAccess("/api/v2/*", opts)).toBe("config");
    expect(routeAccess("/edda/api/v2/*", opts)).toBe("config");
    expect(routeAccess("/api/traces/:id", opts)).toBe("traces");
    expect(routeAccess("/kayenta/canary/:configId", opts)).toBe("canary");
    expect(routeAccess("/metrics", opts)).toBe("admin");
    expect(routeAccess("/metrics", { ...opts, publicMetrics: true })).toBe("public");
    expect(routeAccess("/something/new", opts)).toBe("admin");
    expect(routeAccess("/jaeger/api/services", { ...opts, jaegerPrefix: "/jaeger" })).toBe("traces");
    expect(routeAccess("/api/services", { ...opts, jaegerPrefix: "/jaeger" })).toBe("admin");
  });
});

describe("exposure", () => {
  const config = (o: Record<string, unknown>) => configSchema.parse(o);
  it("knows loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) expect(isLoopback(h)).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com"]) expect(isLoopback(h)).toBe(false);
  });

  it("refuses to listen beyond loopback without authentication, naming the listener and the ways out", () => {
    expect(checkExposure("start", config({}))).toBeUndefined();
    expect(() => checkExposure("start", config({ query: { host: "0.0.0.0" } }))).toThrow(
      /refusing to listen on 0\.0\.0\.0 \(query\.host\).*SKALD_AUTH_ENABLED.*SKALD_AUTH_ALLOW_UNAUTHENTICATED/,
    );
    expect(() => checkExposure("collector", config({ otlp: { host: "0.0.0.0" } }))).toThrow(/otlp\.host/);
    // the query role does not open OTLP listeners
    expect(checkExposure("query", config({ otlp: { host: "0.0.0.0" } }))).toBeUndefined();
    expect(
      checkExposure("start", config({ query: { host: "0.0.0.0" }, auth: { allowUnauthenticated: true } })),
    ).toMatch(/WITHOUT authentication/);
  });

  it("refuses authentication nobody could pass", () => {
    expect(() => checkExposure("query", config({ auth: { enabled: true } }))).toThrow(
      /no reader can sign in/,
    );
    expect(() =>
      checkExposure(
        "collector",
        config({
          auth: {
            enabled: true,
            tokens: [{ name: "t", token: "x".repeat(16), tenant: "a", roles: ["admin"] }],
          },
        }),
      ),
    ).toThrow(/no sender can send/);
  });
});

describe("flow sources", () => {
  it("maps exporter addresses to tenants by CIDR, IPv4-mapped IPv6 included; strangers get none", () => {
    const of = flowSourceTenants([
      { cidr: "10.1.0.0/16", tenant: "a" },
      { cidr: "192.0.2.7", tenant: "b" },
      { cidr: "2001:db8::/32", tenant: "c" },
    ]);
    expect(of("10.1.200.3")).toBe("a");
    expect(of("::ffff:10.1.0.9")).toBe("a");
    expect(of("192.0.2.7")).toBe("b");
    expect(of("192.0.2.8")).toBeUndefined();
    expect(of("2001:db8::1")).toBe("c");
    expect(of("10.2.0.1")).toBeUndefined();
    expect(() => flowSourceTenants([{ cidr: "10.0.0.0/33", tenant: "a" }])).toThrow(/not a CIDR/);
  });
});
