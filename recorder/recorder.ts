import { hostname } from "node:os";
import { Counter, Histogram, type Registry } from "prom-client";
import type { Logger } from "../core/log.js";
import type { Store } from "../core/store/store.js";
import type { Collection } from "./collection.js";
import { HistoryStore, type IpRow, type KnownState, type Scope, type VersionRow } from "./history-store.js";
import { canonical, contentHash, hasTags, normalise } from "./normalise.js";

export interface RecorderDeps {
  store: Store;
  collections: Collection[];
  tenant: string;
  suppressTags: readonly string[];
  registry: Registry;
  logger: Logger;
  /** Clock in nanoseconds (tests may pin it). */
  now?: () => bigint;
}

export interface CrawlResult {
  collection: string;
  account: string;
  region: string;
  status: "success" | "failed" | "partial" | "discarded";
  resources: number;
  changes: number;
  error?: string;
}

/**
 * The recorder: crawls each collection on its interval and appends what changed. Contract:
 * - a version row is written only when a resource's normalised content hash differs from its latest
 *   recorded one (in memory, loaded from ClickHouse at the first crawl, re-checked against
 *   ClickHouse before writing so a second recorder does not write the same change again);
 * - deletion markers only after a complete, successful listing; a failed listing writes nothing
 *   but a 'failed' crawl-log row (a gap); a listing where every resource lost its tags while some
 *   had tags before is 'discarded' (AWS omits tags under load).
 * `start()` returns at once; `shutdown()` aborts crawls in flight and is safe to call twice.
 */
export class Recorder {
  private readonly history: HistoryStore;
  private readonly known = new Map<string, Map<string, KnownState>>();
  private readonly running = new Map<string, Promise<CrawlResult>>();
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => bigint;
  private readonly m;

  constructor(private readonly deps: RecorderDeps) {
    this.history = new HistoryStore(deps.store, `${hostname()}:${process.pid}`);
    this.now = deps.now ?? (() => BigInt(Date.now()) * 1_000_000n);
    const get = <T>(name: string, make: () => T): T => (deps.registry.getSingleMetric(name) as T) ?? make();
    const registers = [deps.registry];
    const labelNames = ["collection", "region"] as const;
    this.m = {
      duration: get(
        "skald_recorder_crawl_duration_seconds",
        () =>
          new Histogram({
            name: "skald_recorder_crawl_duration_seconds",
            help: "Duration of one crawl of one collection.",
            labelNames,
            buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
            registers,
          }),
      ),
      seen: counter(registers, get, "skald_recorder_resources_seen_total", "Resources listed by crawls."),
      changes: counter(
        registers,
        get,
        "skald_recorder_changes_written_total",
        "Versions and deletion markers written.",
      ),
      failures: counter(
        registers,
        get,
        "skald_recorder_crawl_failures_total",
        "Crawls that failed or were discarded.",
      ),
    };
  }

  get collections(): readonly Collection[] {
    return this.deps.collections;
  }

  /** Schedules every collection: a first crawl now, then one per interval after each ends. */
  start(): void {
    for (const c of this.deps.collections) {
      const loop = async () => {
        if (this.abort.signal.aborted) return;
        await this.crawl(c);
        if (this.abort.signal.aborted) return;
        const t = setTimeout(() => {
          this.timers.delete(t);
          void loop();
        }, c.intervalSeconds * 1000);
        this.timers.add(t);
      };
      void loop();
    }
  }

  /** Crawls every collection once now (waiting for crawls already running); for tests and tools. */
  async crawlAll(): Promise<CrawlResult[]> {
    const out: CrawlResult[] = [];
    for (const c of this.deps.collections) out.push(await this.crawl(c));
    return out;
  }

  async shutdown(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  /** One crawl of one collection; never throws (failures become crawl-log rows). */
  crawl(c: Collection): Promise<CrawlResult> {
    const key = `${c.name}\u0000${c.account}\u0000${c.region}`;
    const prev = this.running.get(key) ?? Promise.resolve(undefined);
    const next = prev.then(() => this.crawlOnce(c, key));
    this.running.set(key, next);
    void next.finally(() => {
      if (this.running.get(key) === next) this.running.delete(key);
    });
    return next;
  }

  private async crawlOnce(c: Collection, key: string): Promise<CrawlResult> {
    const scope: Scope = {
      tenant: this.deps.tenant,
      collection: c.name,
      account: c.account,
      region: c.region,
    };
    const labels = { collection: c.name, region: c.region };
    const startedAt = this.now();
    const timer = this.m.duration.startTimer(labels);
    const result: CrawlResult = {
      ...labels,
      account: c.account,
      status: "success",
      resources: 0,
      changes: 0,
    };
    try {
      let known = this.known.get(key);
      if (!known) {
        known = await this.history.latest(scope);
        this.known.set(key, known);
      }
      const raw = await c.list(this.abort.signal);
      const current = new Map<string, { hash: string; text: string; tagged: boolean; ips: string[] }>();
      for (const item of raw) {
        const doc = normalise(item, { ignore: c.ignore, suppressTags: this.deps.suppressTags });
        const id = c.idOf(doc);
        if (id === "") continue;
        const text = canonical(doc);
        current.set(id, { hash: contentHash(text), text, tagged: hasTags(doc), ips: c.ipsOf?.(doc) ?? [] });
      }
      result.resources = current.size;
      this.m.seen.inc(labels, current.size);
      const hadTags = [...known.values()].some((k) => !k.deleted && k.tagged);
      if (hadTags && current.size > 0 && ![...current.values()].some((v) => v.tagged)) {
        result.status = "discarded";
        result.error = "every resource came back without tags (AWS drops tags under load); crawl discarded";
      } else {
        result.changes = await this.record(c, scope, known, current, startedAt);
      }
    } catch (err) {
      result.status = "failed";
      result.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    timer();
    if (result.status !== "success") this.m.failures.inc(labels);
    this.m.changes.inc(labels, result.changes);
    try {
      await this.history.logCrawl(scope, {
        startedAt,
        finishedAt: this.now(),
        status: result.status,
        resources: result.resources,
        changes: result.changes,
        error: result.error ?? "",
      });
    } catch (err) {
      this.deps.logger.warn({ err, collection: c.name }, "recorder: could not write the crawl log");
    }
    if (result.status !== "success") {
      this.deps.logger.warn(
        { ...labels, status: result.status, error: result.error },
        "recorder: crawl not recorded",
      );
    }
    return result;
  }

  /** Writes the versions and deletion markers of a complete listing; returns how many rows. */
  private async record(
    c: Collection,
    scope: Scope,
    known: Map<string, KnownState>,
    current: Map<string, { hash: string; text: string; tagged: boolean; ips: string[] }>,
    seenAt: bigint,
  ): Promise<number> {
    let candidates: string[] = [];
    for (const [id, v] of current) {
      const k = known.get(id);
      if (!k || k.deleted || k.hash !== v.hash) candidates.push(id);
    }
    for (const [id, k] of known) if (!k.deleted && !current.has(id)) candidates.push(id);
    if (candidates.length === 0) return 0;
    // Another recorder may have written these changes since we last looked.
    const fresh = await this.history.latest(scope, candidates);
    for (const [id, k] of fresh) known.set(id, k);
    candidates = candidates.filter((id) => {
      const k = known.get(id);
      const v = current.get(id);
      return v ? !k || k.deleted || k.hash !== v.hash : !!k && !k.deleted;
    });
    if (candidates.length === 0) return 0;
    const held = c.ipsOf ? await this.history.heldIps(scope, candidates) : new Map<string, Set<string>>();
    const rows: VersionRow[] = [];
    const ips: IpRow[] = [];
    for (const id of candidates) {
      const v = current.get(id);
      const before = held.get(id) ?? new Set<string>();
      const after = new Set(v?.ips ?? []);
      for (const ip of after) if (!before.has(ip)) ips.push({ ip, id, held: true });
      for (const ip of before) if (!after.has(ip)) ips.push({ ip, id, held: false });
      const k = known.get(id);
      const previous = k ? { since: k.since, deleted: k.deleted } : undefined;
      rows.push(
        v
          ? { id, hash: v.hash, deleted: false, doc: v.text, previous }
          : { id, hash: "", deleted: true, doc: "", previous },
      );
    }
    await this.history.writeVersions(scope, seenAt, rows, ips);
    for (const r of rows) {
      const tagged = current.get(r.id)?.tagged ?? false;
      known.set(r.id, { hash: r.hash, deleted: r.deleted, tagged, since: seenAt });
    }
    return rows.length;
  }
}

function counter(
  registers: Registry[],
  get: <T>(name: string, make: () => T) => T,
  name: string,
  help: string,
): Counter<"collection" | "region"> {
  return get(name, () => new Counter({ name, help, labelNames: ["collection", "region"], registers }));
}
