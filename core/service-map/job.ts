import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Logger } from "../log.js";
import type { Store } from "../store/store.js";
import {
  EDGE_AGGREGATES,
  PAIRING_SLICE_SPANS,
  PAIRING_SPILL_BYTES,
  type PairingCandidates,
  type PairingInputs,
  PENDING_COLUMNS,
  pairingCensusSql,
  pairingInputsOf,
  pairingSql,
  pairsAnything,
  pendingSql,
  QUANTILES_MERGE_STATE,
  RESOLVED_COLUMNS,
  resolvedSql,
  sliceCount,
} from "./pairing.js";
import { localPublications } from "./publication.js";
import { RED_COLUMNS, redSql } from "./red.js";

/** What users set (config section `serviceMap`). */
export interface ServiceMapJobConfig {
  /** Run the pairing job in this process (query role and `skald start`). */
  jobEnabled: boolean;
  /** Length of one arrival window; the job wakes up this often. */
  windowMs: number;
  /** How much later than its partner a parent or child span may arrive and still be paired. */
  latenessMs: number;
  /** Time allowed for an insert to become visible after the server stamped its rows. */
  visibilityMarginMs: number;
  /** Windows finished per wake-up at most (catch-up after downtime is spread out). */
  maxWindowsPerRun: number;
  /**
   * Memory one slice of a window's pairing may hold in its GROUP BYs before ClickHouse spills them
   * to disk (`max_bytes_before_external_group_by`; 0 = never spill). Slices (below) are what keep
   * memory bounded; this is the backstop for a slice that is not small (a huge trace). A bound that
   * is reached costs CPU: at 300,000 spans a window (bench:service-map, BENCH_ONLY_JOB=1, 2 slices),
   * 1.29-1.32 CPU-s per 100k spans with no bound, 2.07-2.18 at 300 MB (the old default, which
   * slices of this size reach).
   */
  pairingSpillBytes?: number;
  /**
   * Arrivals per slice of a window's pairing (config `serviceMap.pairingSliceSpans`): a window of
   * n arrivals is paired in ceil(n / this) slices of the trace-id space, one query each (see
   * PairingSlice), so no one query holds the whole window and, on the embedded store (which runs
   * one query at a time), inserts wait for one slice, not the window. 0 = one query per window.
   * A 30 s window at ~55,000 distinct spans/s (bench:ingest) pairs about 1.7M spans with their
   * partners: `skald start` peaked at 2,301 MiB RSS in one query, 977 MiB in slices of 200,000.
   */
  pairingSliceSpans?: number;
}

export interface ServiceMapJob {
  /** Starts the timer; returns at once. Safe to call twice. */
  start(): void;
  /** Finishes every window that can be finished now; for tests and `start`'s timer. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a run in progress. Safe before start and twice. */
  stop(): Promise<void>;
}

/**
 * The service-map job. Arrival time is cut into aligned windows of `windowMs`; window [a, b) is
 * finished once b <= server now - visibility margin: the calls done in it (pairing.ts) are
 * paired slice by slice into sm_edges_stage and the RED of the entry spans that arrived in it
 * (red.ts) into sm_red_stage, then the window is published (publication.ts): b is recorded in
 * sm_publishing, its calls are copied into sm_edges_1m with window_end = b and its RED into
 * sm_red_1m (views fill the rollups), and b is recorded in sm_windows (the watermark).
 * Idempotent: a window's result reads only rows that arrived before b, and the inserts carry the
 * deterministic dedup tokens `sm-stage-<b>...`, `sm-red-stage-<b>`, `sm-edges-<b>` and
 * `sm-red-<b>`, so a crash between the steps, or two query nodes running the job at once, never
 * counts a call or a request twice.
 */
export function createServiceMapJob(
  deps: { store: Store; logger: Logger; registry: Registry },
  config: ServiceMapJobConfig,
): ServiceMapJob {
  const { store, logger } = deps;
  const db = store.database;
  const log = logger.child({ component: "service-map-job" });
  const lateCalls = metric(
    deps.registry,
    "skald_service_map_late_calls_total",
    (registers) =>
      new Counter({
        name: "skald_service_map_late_calls_total",
        help: "Service-map calls whose parent and child spans arrived further apart than the lateness bound (not in edge RED; see the edge's `late` field).",
        registers,
      }),
  );
  const watermarkGauge = metric(
    deps.registry,
    "skald_service_map_watermark_seconds",
    (registers) =>
      new Gauge({
        name: "skald_service_map_watermark_seconds",
        help: "Arrival time up to which service-map edges are pre-aggregated (Unix seconds).",
        registers,
      }),
  );
  const windowSeconds = metric(
    deps.registry,
    "skald_service_map_window_duration_seconds",
    (registers) =>
      new Histogram({
        name: "skald_service_map_window_duration_seconds",
        help: "Time to finish one arrival window of the service-map job (pairing in slices, RED, watermark).",
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
  );
  const lastWindow = metric(
    deps.registry,
    "skald_service_map_last_window",
    (registers) =>
      new Gauge({
        name: "skald_service_map_last_window",
        help: "The last window the service-map job finished: its span arrivals, the slices its pairing was cut into (serviceMap.pairingSliceSpans), 1 if it read every trace of the window (most crossed services) rather than those with a child of another service, 1 if it was paired at all (0: no span in it or its lookback could make a call), and 1 if its virtual calls came from the pending spans staged by the windows before it (0: paired from the arrivals, as after windows finished without staging).",
        labelNames: ["what"],
        registers,
      }),
  );
  // on an embedded store, this process's readers learn of publications from memory (publication.ts)
  const local = store.kind === "embedded" ? localPublications(store, true) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function one<T>(sql: string): Promise<T | undefined> {
    const rs = await store.client.query({ query: sql, format: "JSONEachRow" });
    return (await rs.json<T>())[0];
  }

  /**
   * How many slices window [a, b) is paired in: about pairingSliceSpans grouped spans each
   * (pairedSpans), unless a runner decided first (migrations/0016). The first decision recorded
   * for the window is the one every runner uses, so a retry with another setting repeats the same
   * dedup tokens. The same count of the window's arrivals decides which traces the pairing reads
   * (either way gives the same calls, so runners need not agree on it).
   */
  async function slicesOf(
    a: bigint,
    b: bigint,
  ): Promise<{
    arrivals: number;
    peers: number;
    slices: number;
    candidates: PairingCandidates;
    inputs: PairingInputs;
  }> {
    const counted = await one<{ n: string; traces: string; childTraces: string; peers: string }>(
      `SELECT count() AS n, uniq(trace_id) AS traces, uniqIf(trace_id, remote_child = 1) AS childTraces,
          countIf(peer_kind != '') AS peers
        FROM ${db}.sm_arrivals WHERE inserted_at >= ${at(a)} AND inserted_at < ${at(b)}`,
    );
    const arrivals = Number(counted?.n ?? 0);
    // Which traces the pairing reads (PairingRange.candidates; the calls are the same either way).
    // Reading only those with a child of another service (and the lookback's children, to find
    // parents that came after their child) saves most when few traces cross services; when most
    // do, reading every trace of the window is cheaper. On bench:service-map's estate, where every
    // trace crosses services, "children" cost a quarter more; on traces of one service, "arrivals"
    // cost twice as much and more.
    const crossing = Number(counted?.childTraces ?? 0) / Math.max(1, Number(counted?.traces ?? 0));
    const candidates = crossing >= CROSSING_SHARE_READ_ALL ? "arrivals" : "children";
    const wanted = sliceCount(
      pairedSpans(arrivals, candidates, crossing, Number(counted?.peers ?? 0)),
      config.pairingSliceSpans ?? PAIRING_SLICE_SPANS,
    );
    await store.client.command({
      query: `INSERT INTO ${db}.sm_window_slices (window_end, slices) SELECT ${at(b)}, ${wanted}
        SETTINGS insert_deduplication_token = 'sm-slices-${b}'`,
    });
    const decided = await one<{ n: string }>(
      `SELECT argMin(slices, decided_at) AS n FROM ${db}.sm_window_slices WHERE window_end = ${at(b)}`,
    );
    // What kinds of rows the pairing would read (the calls do not depend on it, so runners need
    // not agree on it either): a window with none to pair is not paired at all.
    const inputs = pairingInputsOf(
      await one<Record<keyof PairingInputs, string>>(
        pairingCensusSql(db, { doneFromMs: a, untilMs: b, latenessMs: config.latenessMs }),
      ),
    );
    // 0 (nothing read back) keeps this runner's own count
    const peers = Number(counted?.peers ?? 0);
    return { arrivals, peers, slices: Number(decided?.n ?? 0) || wanted, candidates, inputs };
  }

  /** False when stopped before the window was finished. */
  async function finishWindow(a: bigint, b: bigint): Promise<boolean> {
    const finished = await one<{ n: string }>(
      `SELECT count() AS n FROM ${db}.sm_windows WHERE window_end = ${at(b)}`,
    );
    if (Number(finished?.n ?? 0) > 0) return true; // another runner finished it
    const endTimer = windowSeconds.startTimer();
    const { arrivals, peers, slices, candidates, inputs } = await slicesOf(a, b);
    const pairs = pairsAnything(inputs);
    const spill = Math.max(0, Math.trunc(config.pairingSpillBytes ?? PAIRING_SPILL_BYTES));
    const range = { doneFromMs: a, untilMs: b, latenessMs: config.latenessMs, candidates, inputs };
    const suffix = (index: number) => (slices === 1 ? `${b}` : `${b}-${index}-of-${slices}`);
    // The window's CLIENT/PRODUCER spans with a peer still pending at its end, and the keys of
    // earlier windows' pending spans that a child arriving in it took out (pairing.ts,
    // migrations/0025), staged before the pairing below reads them (with a bound shorter than a
    // window, some come due in this one).
    const children = inputs.childrenInWindow || inputs.links;
    for (let index = 0; (peers > 0 || children) && index < slices; index++) {
      if (stopped) return false;
      const slice = { index, count: slices };
      if (peers > 0)
        await store.client.command({
          query: `INSERT INTO ${db}.sm_pending (${PENDING_COLUMNS}) ${pendingSql(db, range, slice)}
          SETTINGS insert_deduplication_token = 'sm-pending-${suffix(index)}', max_bytes_before_external_group_by = ${spill}`,
        });
      if (children)
        await store.client.command({
          query: `INSERT INTO ${db}.sm_resolved (${RESOLVED_COLUMNS}) ${resolvedSql(db, range, slice)}
          SETTINGS insert_deduplication_token = 'sm-resolved-${suffix(index)}'`,
        });
    }
    // Virtual calls come from the staged spans when every window they may have arrived in was
    // staged (finished by this version); else they are paired from sm_arrivals.
    const staged = await stagedThrough(a);
    for (let index = 0; pairs && index < slices; index++) {
      if (stopped) return false; // the window is finished on the next run, from its first slice
      const token = `sm-stage-${suffix(index)}`;
      const select = `SELECT tenant, minute, source, target_kind, target,
          ${at(b)} AS window_end, ${EDGE_AGGREGATES}
        FROM (${pairingSql(db, { ...range, ...(staged ? { stagedUntilMs: b } : {}) }, { index, count: slices })})
        GROUP BY tenant, minute, source, target_kind, target
        SETTINGS insert_deduplication_token = '${token}', deduplicate_blocks_in_dependent_materialized_views = 1,
          max_bytes_before_external_group_by = ${spill}`;
      // Settings go in the SQL text, not in `clickhouse_settings`: over chDB those persist in the
      // shared session, and a dedup token left there silently drops later span inserts.
      await store.client.command({
        query: `INSERT INTO ${db}.sm_edges_stage (tenant, minute, source, target_kind, target, window_end,
          calls, errors, late, duration, slow_trace, error_trace) ${select}`,
      });
    }
    if (stopped) return false;
    // RED of the entry spans that arrived in the window (red.ts), staged like the calls: the
    // aggregation over the window's arrivals is done before readers wait for the publication
    await store.client.command({
      query: `INSERT INTO ${db}.sm_red_stage (window_end, tenant, ${RED_COLUMNS})
        SELECT ${at(b)}, * FROM (${redSql(db, { arrivedFrom: a, arrivedBefore: b })})
        SETTINGS insert_deduplication_token = 'sm-red-stage-${b}'`,
    });
    // Publication (publication.ts): from its record in sm_publishing to its record in sm_windows,
    // readers wait for the window rather than read rollups that may hold part of it.
    local?.begin();
    try {
      await publish(b);
    } catch (err) {
      // the store may hold part of the window until a run publishes it again
      if (local) local.ready = false;
      throw err;
    } finally {
      local?.end();
    }
    const lateRow = await one<{ n: string }>(
      `SELECT sum(late) AS n FROM ${db}.sm_edges_stage WHERE window_end = ${at(b)}`,
    );
    lateCalls.inc(Number(lateRow?.n ?? 0));
    endTimer();
    lastWindow.set({ what: "arrivals" }, arrivals);
    lastWindow.set({ what: "slices" }, slices);
    lastWindow.set({ what: "crossing_traces_read_all" }, candidates === "arrivals" ? 1 : 0);
    lastWindow.set({ what: "paired" }, pairs ? 1 : 0);
    lastWindow.set({ what: "staged" }, staged ? 1 : 0);
    return true;
  }

  /**
   * Whether the windows ending in (a - lateness, a] were all finished with their pending spans
   * staged (sm_windows.pending; a window published by two runners counts as staged if one did).
   */
  async function stagedThrough(a: bigint): Promise<boolean> {
    const row = await one<{ n: string }>(unstagedWindowsSql(db, a, config.latenessMs));
    return Number(row?.n ?? 1) === 0;
  }

  /** Publishes window b (see publication.ts): its calls and RED from the stages. */
  async function publish(b: bigint): Promise<void> {
    await store.client.command({
      query: `INSERT INTO ${db}.sm_publishing (window_end) SELECT ${at(b)}`,
    });
    // The window's calls, one row per minute and edge, into sm_edges_1m: its views fill the
    // rollups from this one insert.
    await store.client.command({
      query: `INSERT INTO ${db}.sm_edges_1m (tenant, minute, source, target_kind, target, window_end,
          calls, errors, late, duration, slow_trace, error_trace)
        SELECT tenant, minute, source, target_kind, target, window_end, sum(calls), sum(errors), sum(late),
          ${QUANTILES_MERGE_STATE}(duration), argMaxMergeState(slow_trace), max(error_trace)
        FROM ${db}.sm_edges_stage WHERE window_end = ${at(b)}
        GROUP BY tenant, minute, source, target_kind, target, window_end
        SETTINGS insert_deduplication_token = 'sm-edges-${b}', deduplicate_blocks_in_dependent_materialized_views = 1`,
    });
    // its RED: the views on sm_red_1m fill the hourly and per-service rollups from this one insert
    await store.client.command({
      query: `INSERT INTO ${db}.sm_red_1m (tenant, ${RED_COLUMNS})
        SELECT tenant, ${RED_COLUMNS} FROM ${db}.sm_red_stage WHERE window_end = ${at(b)}
        SETTINGS insert_deduplication_token = 'sm-red-${b}', deduplicate_blocks_in_dependent_materialized_views = 1`,
    });
    await store.client.command({
      query: `INSERT INTO ${db}.sm_windows (window_end, pending) SELECT ${at(b)}, 1`,
    });
  }

  async function run(): Promise<number> {
    const step = BigInt(config.windowMs);
    const state = await one<{ now: string; wm: string; first: string }>(
      `SELECT toUnixTimestamp64Milli(now64(3)) AS now,
        (SELECT toUnixTimestamp64Milli(max(window_end)) FROM ${db}.sm_windows) AS wm,
        (SELECT toUnixTimestamp64Milli(min(inserted_at)) FROM ${db}.sm_arrivals) AS first,
        (SELECT count() FROM ${db}.sm_windows) AS windows,
        (SELECT count() FROM ${db}.sm_arrivals) AS spans`,
    );
    if (!state) return 0;
    const s = state as unknown as { now: string; wm: string; first: string; windows: string; spans: string };
    const now = BigInt(s.now);
    const limit = now - BigInt(config.visibilityMarginMs);
    let a: bigint;
    if (Number(s.windows) > 0) a = BigInt(s.wm);
    else if (Number(s.spans) > 0) a = (BigInt(s.first) / step) * step;
    else return 0;
    let done = 0;
    while (a + step <= limit && done < config.maxWindowsPerRun && !stopped) {
      if (!(await finishWindow(a, a + step))) break;
      a += step;
      done++;
    }
    if (done > 0) watermarkGauge.set(Number(a) / 1000);
    // every window left in publication before this run (by this process or one that died) is
    // published again by now: this process's readers may take the state from memory
    if (local && !stopped) local.ready = true;
    return done;
  }

  const runOnce = (): Promise<number> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    start() {
      if (timer || stopped) return;
      timer = setInterval(() => {
        runOnce().catch((err) => log.warn({ err }, "service-map window failed; retried next run"));
      }, config.windowMs);
      timer.unref();
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}

/**
 * Share of a window's traces with a span whose parent is in another service (remote_child), from
 * which the pairing reads every trace of the window (PairingRange.candidates "arrivals").
 */
const CROSSING_SHARE_READ_ALL = 0.7;

/**
 * About how many spans a window's pairing groups, which is what its slices bound (sliceCount):
 * reading every trace of the window, its arrivals; reading the candidates, the arrivals of traces
 * with a child of another service (estimated from their share of the window's traces) plus the
 * CLIENT/PRODUCER spans with a peer (the virtual edges' keys). The candidates' reads also build
 * sets of the window's ids (span ids, to find parents that came after their child), about an
 * eighth of a grouped span's memory each, so a slice holds at most eight times as many arrivals.
 * Each slice costs a fixed share of reads and planning: on a one-service load of 60,000 spans/s
 * (OTLP-shaped traces, no peers), the job took 3.5-3.8 CPU-s a window in nine slices (one per
 * 200,000 arrivals), 1.2-1.4 in two.
 */
export function pairedSpans(
  arrivals: number,
  candidates: PairingCandidates,
  crossingShare: number,
  peers: number,
): number {
  if (candidates === "arrivals") return arrivals;
  return Math.max(
    Math.ceil(arrivals * crossingShare) + peers,
    Math.ceil(arrivals / ID_SETS_PER_GROUPED_SPAN),
  );
}

/** How many arrivals' ids weigh one grouped span in a slice (pairedSpans). */
const ID_SETS_PER_GROUPED_SPAN = 8;

/**
 * One row, `n`: how many windows ending in (endMs - latenessMs, endMs] were published without
 * their pending spans staged (by an older runner, or before migrations/0025). With none, the
 * CLIENT/PRODUCER spans that arrived in the last bound before endMs are all in sm_pending.
 */
export function unstagedWindowsSql(db: string, endMs: bigint | string, latenessMs: number): string {
  const end = typeof endMs === "bigint" ? at(endMs) : endMs;
  return `SELECT count() AS n FROM (SELECT max(pending) AS staged FROM ${db}.sm_windows
    WHERE window_end > ${end} - toIntervalMillisecond(${Math.trunc(latenessMs)}) AND window_end <= ${end}
    GROUP BY window_end HAVING staged = 0)`;
}

/** An arrival time in milliseconds as a SQL DateTime64(3) (computed in code, inlined; see pairingSql). */
const at = (ms: bigint): string => `fromUnixTimestamp64Milli(toInt64(${ms}))`;

/** Registers a metric once per registry (several modules or apps may share one in tests). */
function metric<T>(registry: Registry, name: string, make: (registers: Registry[]) => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make([registry]);
}
