/** A field of a (options) template: IANA element id, or -1 for an enterprise element (skipped). */
export interface TemplateField {
  ie: number;
  /** Bytes, or 65535 for a variable-length field (IPFIX only). */
  len: number;
}

export interface Template {
  id: number;
  fields: TemplateField[];
  /** Options templates describe metadata records (systemInitTime, sampling), not flows. */
  options: boolean;
  /** Smallest encoded record (a variable field counts its 1-byte length prefix). */
  minLength: number;
  refreshedMs: number;
}

/** Data sets that arrived before their template, held until it comes or they expire. */
export interface PendingSet {
  templateId: number;
  body: Buffer;
  exportMs: number;
  headerUptimeMs: number;
  arrivedMs: number;
}

/** Everything kept per (exporter address, source id / observation domain). */
export interface DomainState {
  key: string;
  exporter: string;
  domain: number;
  templates: Map<number, Template>;
  /** systemInitTimeMilliseconds from options data, or -1. */
  initMs: number;
  /** Next expected sequence number, or -1 when unknown (start, or an undecodable packet). */
  nextSeq: number;
  pending: PendingSet[];
  lastSeenMs: number;
}

export interface TemplateCacheLimits {
  /** Templates not refreshed for this long are forgotten (exporters resend them periodically). */
  templateTimeoutMs: number;
  /** Templates per domain at most; a new id beyond it is refused. */
  maxTemplatesPerDomain: number;
  /** (exporter, domain) pairs tracked at most; the least recently seen is evicted beyond it. */
  maxDomains: number;
  /** Data sets held before their template at most (bytes, over all domains). */
  pendingMaxBytes: number;
  /** How long a data set waits for its template. */
  pendingTimeoutMs: number;
}

export const defaultTemplateCacheLimits = (): TemplateCacheLimits => ({
  templateTimeoutMs: 30 * 60_000,
  maxTemplatesPerDomain: 512,
  maxDomains: 4096,
  pendingMaxBytes: 4 * 1024 * 1024,
  pendingTimeoutMs: 10_000,
});

/**
 * Template and sequence state per (exporter, domain). Every structure is bounded by the limits,
 * so a hostile exporter (or forged source addresses) can exhaust only its share, never memory.
 */
export class TemplateCache {
  private readonly domains = new Map<string, DomainState>();
  private pendingBytes = 0;
  private templateTotal = 0;

  constructor(readonly limits: TemplateCacheLimits) {}

  get templateCount(): number {
    return this.templateTotal;
  }

  get domainCount(): number {
    return this.domains.size;
  }

  get pendingByteCount(): number {
    return this.pendingBytes;
  }

  /** The state of a domain, created (evicting the least recently seen beyond the limit) if new. */
  domain(exporter: string, domain: number, nowMs: number): DomainState {
    const key = `${exporter}/${domain}`;
    let d = this.domains.get(key);
    if (d) {
      // Map order is insertion order: re-insert to keep least recently seen first.
      this.domains.delete(key);
      this.domains.set(key, d);
    } else {
      if (this.domains.size >= this.limits.maxDomains) {
        const oldest = this.domains.values().next().value as DomainState;
        this.drop(oldest);
      }
      d = {
        key,
        exporter,
        domain,
        templates: new Map(),
        initMs: -1,
        nextSeq: -1,
        pending: [],
        lastSeenMs: nowMs,
      };
      this.domains.set(key, d);
    }
    d.lastSeenMs = nowMs;
    return d;
  }

  private drop(d: DomainState): void {
    this.domains.delete(d.key);
    this.templateTotal -= d.templates.size;
    for (const p of d.pending) this.pendingBytes -= p.body.length;
  }

  /** Adds or replaces a template; false when the domain is full. */
  put(d: DomainState, t: Template): boolean {
    if (!d.templates.has(t.id)) {
      if (d.templates.size >= this.limits.maxTemplatesPerDomain) return false;
      this.templateTotal++;
    }
    d.templates.set(t.id, t);
    return true;
  }

  /** Withdraws a template (IPFIX field count 0). */
  withdraw(d: DomainState, id: number): void {
    if (d.templates.delete(id)) this.templateTotal--;
  }

  /** The live template for an id, forgetting it if it expired. */
  get(d: DomainState, id: number, nowMs: number): Template | undefined {
    const t = d.templates.get(id);
    if (t && nowMs - t.refreshedMs > this.limits.templateTimeoutMs) {
      this.withdraw(d, id);
      return undefined;
    }
    return t;
  }

  /** Holds a data set for later; false (and nothing kept) when the pending budget is spent. */
  hold(d: DomainState, p: PendingSet): boolean {
    if (this.pendingBytes + p.body.length > this.limits.pendingMaxBytes) return false;
    d.pending.push(p);
    this.pendingBytes += p.body.length;
    return true;
  }

  /** Removes and returns the held sets a new template makes decodable. */
  release(d: DomainState, templateId: number): PendingSet[] {
    if (d.pending.length === 0) return [];
    const out = d.pending.filter((p) => p.templateId === templateId);
    if (out.length === 0) return out;
    d.pending = d.pending.filter((p) => p.templateId !== templateId);
    for (const p of out) this.pendingBytes -= p.body.length;
    return out;
  }

  /**
   * Forgets expired templates, held sets and idle domains; returns how many held sets expired.
   * Called periodically by the receiver (and cheap enough to call per packet in tests).
   */
  sweep(nowMs: number): number {
    let expired = 0;
    for (const d of [...this.domains.values()]) {
      for (const t of [...d.templates.values()]) {
        if (nowMs - t.refreshedMs > this.limits.templateTimeoutMs) this.withdraw(d, t.id);
      }
      if (d.pending.length > 0) {
        const keep = d.pending.filter((p) => nowMs - p.arrivedMs <= this.limits.pendingTimeoutMs);
        for (const p of d.pending) if (!keep.includes(p)) this.pendingBytes -= p.body.length;
        expired += d.pending.length - keep.length;
        d.pending = keep;
      }
      if (
        d.templates.size === 0 &&
        d.pending.length === 0 &&
        nowMs - d.lastSeenMs > this.limits.templateTimeoutMs
      ) {
        this.drop(d);
      }
    }
    return expired;
  }
}
