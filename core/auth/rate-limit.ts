import { SkaldError } from "../errors.js";

/**
 * Token buckets by key (a credential, a tenant): `rate` units per second refill up to `burst`.
 * `take` spends `cost` units or throws a `limit` error telling the caller when to retry. Buckets
 * idle long enough to be full are forgotten, so the map stays as small as the active key set.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweptAt = 0;

  constructor(
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Spends `cost` from `key`'s bucket; rate 0 means unlimited. */
  take(key: string, cost: number, rate: number, burst: number): void {
    if (rate <= 0) return;
    const t = this.now();
    this.sweep(t, rate, burst);
    const b = this.buckets.get(key) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    this.buckets.set(key, b);
    // A single request bigger than the bucket may pass when the bucket is full, or it could never pass.
    if (b.tokens >= cost || (b.tokens >= burst && cost > burst)) {
      b.tokens -= cost;
      return;
    }
    const waitMs = Math.ceil(((cost - b.tokens) / rate) * 1000);
    throw new SkaldError("limit", "RATE_LIMITED", `rate limit exceeded: ${this.what} (${rate}/s)`, {
      retryAfterMs: Math.max(1000, Math.min(waitMs, 60_000)),
    });
  }

  private sweep(t: number, rate: number, burst: number): void {
    if (t - this.sweptAt < 60_000) return;
    this.sweptAt = t;
    const fullAfterMs = (burst / rate) * 1000;
    for (const [k, b] of this.buckets) if (t - b.at > fullAfterMs) this.buckets.delete(k);
  }
}

/** Spans per second per tenant accepted by collectors (`limits.spansPerSecondPerTenant` and overrides). */
export class TenantSpanLimits {
  private readonly limiter = new RateLimiter("spans per second for this tenant");

  constructor(
    private readonly limits: {
      spansPerSecondPerTenant: number;
      tenants: Record<string, { spansPerSecond?: number }>;
    },
  ) {}

  /** Charges `spans` to `tenant`, or throws RATE_LIMITED (429 / RESOURCE_EXHAUSTED, retryable). */
  admit(tenant: string, spans: number): void {
    const rate = this.limits.tenants[tenant]?.spansPerSecond ?? this.limits.spansPerSecondPerTenant;
    if (rate > 0 && spans > 0) this.limiter.take(tenant, spans, rate, Math.max(rate, 1));
  }
}
