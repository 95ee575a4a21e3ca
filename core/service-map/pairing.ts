/**
 * The one pairing query, shared by the background job (finished arrival windows) and the query
 * reader (the still-open window), so both count the same calls the same way.
 *
 * Input: `sm_arrivals` (migrations/0017; before it sm_half_edges, 0011). Arrival time `ins` is the
 * ClickHouse server clock when the span was inserted. A call is *done* (ready to count) at:
 *  - service edge (parent P in service A, child C in service B != A): max(P.ins, C.ins). It counts
 *    if |P.ins - C.ins| <= lateness, else it is *late*: counted in the `late` column and the
 *    skald_service_map_late_calls_total metric, never in calls/errors/latency.
 *  - virtual edge (CLIENT/PRODUCER span V with a peer: database, cache, queue, external): V.ins +
 *    lateness, if by then no child of V in another service has arrived. An instrumented callee
 *    therefore never shows up twice (as a service and as an external node).
 * Latency and errors of an edge call come from the caller's CLIENT span when the parent is one
 * (what the caller experienced, network included), else from the child span (a SERVER span called
 * by an uninstrumented client; a CONSUMER span under a PRODUCER, whose own span only measures the
 * send). Virtual edges use the CLIENT/PRODUCER span itself. Each call belongs to the minute its
 * child (or, for a virtual edge, the CLIENT/PRODUCER span) started.
 * Only rows that arrived before `until` are read, so a finished window's result never changes.
 * Partners are looked for among the spans that arrived at most `lookbackBounds` lateness bounds
 * before the window (the job: LATE_HORIZON; the reader's live part: 1, enough for every call that
 * is not late, and a late one is counted once the job finishes its window): a child arriving later
 * than that after its parent is neither paired nor counted as late (it still counts in its
 * service's RED). What one pairing reads grows with that lookback times the arrival rate. Duplicated spans (an ingester replaying
 * a batch) are read once: rows are grouped by span id first. (Keeping children once per span id
 * inside the pairing's one GROUP BY instead saved 16% of the job's CPU with unique spans, but its
 * cost grew with the number of copies: a client re-sending the same spans could make it crawl.)
 * Ids are bytes in sm_arrivals (migrations/0011, 0017); trace ids leave as hex text.
 * Virtual calls of spans that arrived in windows the job has finished are read from what it staged
 * per window instead (migrations/0025; "Staged virtual calls" below).
 */
/** How many lateness bounds back partners are looked for (see above). */
export const LATE_HORIZON = 4;
export interface PairingRange {
  /** Calls done at or after this arrival time (ms since epoch, server clock)... */
  doneFromMs: bigint;
  /** ...and before this one. Rows that arrived at or after it are ignored. */
  untilMs: bigint;
  latenessMs: number;
  /** Restricts to one tenant (the reader); the job pairs every tenant at once. */
  tenantParam?: string;
  /** How many lateness bounds before `doneFromMs` partners are looked for (default LATE_HORIZON). */
  lookbackBounds?: number;
  /**
   * Which traces the service edges read (see serviceEdgesSql): "children" (the default), those
   * that may hold a call done in the window; "arrivals", every trace with an arrival in the
   * window. Both give the same calls; "arrivals" skips reading the lookback's children, cheaper
   * when most of the window's traces have a child of another service anyway (the job chooses,
   * job.ts).
   */
  candidates?: PairingCandidates;
  /**
   * Which kinds of input rows the range holds (the job's census, job.ts): the branches that would
   * read only absent kinds are left out, so their sets are not built. Omitted: every branch runs
   * (the reader). The calls are the same either way.
   */
  inputs?: PairingInputs;
  /**
   * The CLIENT/PRODUCER spans with a peer that arrived before this time (a window end the job
   * finished, with every window ending less than a lateness bound before it) are read from what
   * the job staged for their window in sm_pending, not paired again (stagedVirtualsSql). Omitted:
   * every due span is paired from sm_arrivals.
   */
  stagedUntilMs?: bigint;
  /** Event-time filter on the call's minute, as SQL expressions (the reader). */
  minuteFrom?: string;
  minuteTo?: string;
}

/** Which traces the service edges read (PairingRange.candidates). */
export type PairingCandidates = "children" | "arrivals";

/**
 * What a pairing range holds, from a census of sm_arrivals (pairingCensusSql). A service edge needs
 * a span that may be the child of a call between services (`remote_child`) among the arrivals the
 * pairing reads, a CONSUMER linked to its producer (`ref_trace_id`; always such a child) for the
 * linked branches, and a virtual edge a CLIENT/PRODUCER span with a peer coming due. Each census
 * stops at its first row, so an estate that has the kind pays for one granule, and one that has
 * not reads one column of the lookback (what the branches it saves read first anyway). Without
 * it, a window whose traces all stay in one service still built its sets of span and trace ids:
 * 1.4-1.7 CPU-s of the job's 2.2-2.5 for a 2.4M-span window of bench:ingest-shaped traces.
 */
export interface PairingInputs {
  /** A span with remote_child = 1 arrived in the window... */
  childrenInWindow: boolean;
  /** ...or in the lookback before it (then the window's span ids are looked up as its parents). */
  childrenBefore: boolean;
  /** One of those is a CONSUMER linked to another trace. */
  links: boolean;
  /** A CLIENT/PRODUCER span with a peer arrived where it comes due in the window. */
  due: boolean;
}

/** PairingInputs from pairingCensusSql's row; without a row, every kind (nothing is left out). */
export function pairingInputsOf(row: Record<keyof PairingInputs, string> | undefined): PairingInputs {
  return {
    childrenInWindow: row?.childrenInWindow !== "0",
    childrenBefore: row?.childrenBefore !== "0",
    links: row?.links !== "0",
    due: row?.due !== "0",
  };
}

/** Whether a range with these inputs can hold a call at all (the job pairs only such a window). */
export const pairsAnything = (inputs: PairingInputs): boolean =>
  inputs.childrenInWindow || inputs.childrenBefore || inputs.due;

/**
 * One row of PairingInputs' fields (0 or 1 each) for the pairing of range `r` (the job: a window
 * with the default lookback; the reader's live part: one bound, one tenant, the range it then
 * pairs). It asks about the arrivals of exactly the conditions the pairing reads (arrivalsOf).
 */
export function pairingCensusSql(db: string, r: PairingRange): string {
  const c = arrivalsOf(r);
  // the kind's column first: PREWHERE then reads the time only where the kind is present
  const any = (condition: string) =>
    `(SELECT count() FROM (SELECT 1 FROM ${db}.sm_arrivals PREWHERE ${condition} LIMIT 1))`;
  return `SELECT ${any(`remote_child = 1 AND ${c.window}`)} AS childrenInWindow,
    ${any(`remote_child = 1 AND ${c.before}`)} AS childrenBefore,
    ${any(`notEmpty(ref_trace_id) AND ${c.horizon}`)} AS links,
    ${any(`peer_kind != '' AND ${c.due}`)} AS due`;
}

/**
 * The arrival-time conditions (SQL, on inserted_at and, with r.tenantParam, tenant) of a pairing
 * of `r`, shared by pairingSql and its census. Times are inlined as integer literals (computed in
 * code, never user input) rather than bound: over chDB, parameters of concurrent queries on the
 * shared session can leak into each other.
 */
function arrivalsOf(r: PairingRange) {
  const tenant = r.tenantParam ? `AND tenant = ${r.tenantParam}` : "";
  const from = `toInt64(${BigInt(r.doneFromMs)})`;
  const until = `toInt64(${BigInt(r.untilMs)})`;
  const late = `toInt64(${Math.trunc(r.latenessMs)})`;
  const lookback = `${from} - ${late} * ${Math.max(1, Math.trunc(r.lookbackBounds ?? LATE_HORIZON))}`;
  const arrived = (a: string, b: string) =>
    `inserted_at >= fromUnixTimestamp64Milli(${a}) AND inserted_at < fromUnixTimestamp64Milli(${b}) ${tenant}`;
  return {
    from,
    until,
    late,
    tenant,
    lookback,
    /** arrivals in [a, b) (ms expressions), of the range's tenant */
    arrived,
    /** every arrival a partner may be among */
    horizon: arrived(lookback, until),
    /** calls done in the range have a span that arrived in it (service edges)... */
    window: arrived(from, until),
    before: arrived(lookback, from),
    /** ...or a CLIENT/PRODUCER span that arrived one lateness bound before (virtual edges) */
    due: arrived(`${from} - ${late}`, `${until} - ${late}`),
  };
}

type Arrivals = ReturnType<typeof arrivalsOf>;

/**
 * The bounds of the virtual calls of the CLIENT/PRODUCER spans that arrived in [x, y) (SQL
 * expressions, ms): done one lateness bound later, their partners looked for back to the range's
 * horizon. The pairing's due spans (x = from - late), a window's pending spans (pendingSql), and
 * those that arrived since a stage (stagedVirtualsSql).
 */
function arrivedBounds(c: Arrivals, x: string, y: string): PairingBounds {
  return {
    from: `(${x} + ${c.late})`,
    until: `(${y} + ${c.late})`,
    late: c.late,
    horizon: c.horizon,
    window: c.arrived(x, y),
    before: c.arrived(c.lookback, x),
  };
}

/** Default arrivals per slice of a window's pairing (config `serviceMap.pairingSliceSpans`; job.ts). */
export const PAIRING_SLICE_SPANS = 200_000;
/** Default GROUP BY memory of one slice before it spills (config `serviceMap.pairingSpillBytes`; job.ts). */
export const PAIRING_SPILL_BYTES = 1_000_000_000;

/**
 * One of `count` slices of the trace-id space, cut by the first byte of the trace id: slice `index`
 * holds the calls whose parent span's trace id falls in its range. A window's pairing done in
 * slices reads and groups each slice's traces separately (the primary key of `sm_arrivals`,
 * (tenant, ten-second arrival bucket, trace_id, span_id), prunes every read to the slice within
 * each bucket), so each query holds a fraction of the
 * window in memory and runs a fraction of the time; the union of the slices' calls is the unsliced
 * result, each call in exactly one slice.
 */
export interface PairingSlice {
  index: number;
  /** 1 to 256. */
  count: number;
}

/** Slices of at most about `spansPerSlice` arrivals each, for a window of `arrivals` spans. */
export function sliceCount(arrivals: number, spansPerSlice: number): number {
  if (!(spansPerSlice > 0) || !(arrivals > 0)) return 1;
  return Math.min(256, Math.max(1, Math.ceil(arrivals / spansPerSlice)));
}

/** SQL condition: `column` (a FixedString trace id) lies in the slice's range; "1" for no slicing. */
export function inSlice(column: string, slice: PairingSlice | undefined): string {
  if (!slice || slice.count <= 1) return "1";
  const count = Math.min(256, Math.max(1, Math.trunc(slice.count)));
  const index = Math.min(count - 1, Math.max(0, Math.trunc(slice.index)));
  const byte = (i: number) =>
    `unhex('${Math.floor((256 * i) / count)
      .toString(16)
      .padStart(2, "0")}')`;
  const parts: string[] = [];
  if (index > 0) parts.push(`${column} >= ${byte(index)}`);
  if (index < count - 1) parts.push(`${column} < ${byte(index + 1)}`);
  return parts.join(" AND ");
}

/**
 * SELECT producing one row per call: tenant, minute, source, target_kind, target, trace_id,
 * duration_ns, is_error, is_late, done. `db` is the database name; `tenantParam` is a placeholder
 * the caller binds. With `slice`, only the calls of that slice (see PairingSlice).
 * Two halves, each reading only what its calls can come from: service edges (the traces that had
 * an arrival in the window) and virtual edges (the spans that came due, and their children). One
 * query for both read each due span's whole trace a second time; on bench:service-map's estate,
 * where most traces call a database, the halves took 1.9-2.1 CPU-s per 300,000-span window against
 * 2.5-3.1.
 */
export function pairingSql(db: string, r: PairingRange, slice?: PairingSlice): string {
  const inputs = r.inputs ?? pairingInputsOf(undefined);
  const children = inputs.childrenInWindow || inputs.childrenBefore;
  const c = arrivalsOf(r);
  const { from, until, late, horizon, window, before } = c;
  const mode = r.candidates ?? "children";
  const services = serviceEdgesSql(db, { from, until, late, horizon, window, before }, slice, mode, inputs);
  // a virtual edge is done one lateness bound after its CLIENT/PRODUCER span arrived
  const virtuals =
    r.stagedUntilMs === undefined
      ? virtualEdgesSql(db, arrivedBounds(c, `${from} - ${late}`, `${until} - ${late}`), slice, mode, inputs)
      : stagedVirtualsSql(db, r, c, r.stagedUntilMs, slice, mode, inputs);
  const minute = [r.minuteFrom ? `minute >= ${r.minuteFrom}` : "", r.minuteTo ? `minute < ${r.minuteTo}` : ""]
    .filter((c) => c !== "")
    .join(" AND ");
  // with neither (the job skips such a window), the virtual half: it reads least
  const halves = [children ? services : "", inputs.due || !children ? virtuals : ""];
  const union = halves.filter((h) => h !== "").join("\nUNION ALL\n");
  return minute === "" ? union : `SELECT * FROM (${union}) WHERE ${minute}`;
}

/** Arrival-time conditions shared by the two halves of pairingSql (SQL expressions). */
interface PairingBounds {
  /** The window's calls are done in [from, until) (ms); `late` is the lateness bound (ms). */
  from: string;
  until: string;
  late: string;
  /** Condition on `inserted_at` (and tenant): how far back partners are looked for. */
  horizon: string;
  /** Condition on `inserted_at` (and tenant): the arrivals that make a trace a candidate. */
  window: string;
  /** Condition on `inserted_at` (and tenant): arrivals within the horizon, before the window. */
  before: string;
}

/**
 * Service edges done in the window: one of the call's two spans arrived in it. The child of a call
 * is never a span whose parent came in its own ResourceSpans (same resource, so same service;
 * `remote_child` = 0 in sm_arrivals, migrations/0018). So the candidates ("children") are the
 * parent traces of the window's other spans with a parent (own trace, or the producer trace a
 * linked CONSUMER points to), plus the traces of the window's remaining arrivals whose span is the
 * parent of such a child that arrived before, within the horizon (found by span id, a superset).
 * A trace whose spans all came with their parents (one service) is not read at all. Or
 * ("arrivals", and before migrations/0018): every trace with an arrival in the window, which saves
 * reading the horizon's children when most traces cross services anyway. Their spans back to the
 * horizon are read, plus the CONSUMER spans of other traces linked into them (children under a key
 * of these traces). Trace ids alone, not (tenant, trace id): a trace id shared by two tenants only
 * adds rows, and calls are keyed by tenant below. Then one GROUP BY, no self-join: every span is
 * emitted under its own key (as a potential parent) and, if it has one, under its parent's key (as
 * a child); the GROUP BY holds each span together with all its children, from which calls are read
 * off. Keys outside the slice (a linked CONSUMER's own key, its producer's key read in its own
 * trace's slice) are left to their slice.
 */
function serviceEdgesSql(
  db: string,
  b: PairingBounds,
  slice: PairingSlice | undefined,
  mode: PairingCandidates,
  inputs: PairingInputs,
): string {
  // Spans that may be the child of a call (remote_child; migrations/0018), and the span ids of the
  // window's other arrivals, each perhaps the parent of such a child that came first.
  const children = (when: string) => `remote_child = 1 AND ${when}`;
  const parents = `SELECT span_id FROM ${db}.sm_arrivals
        PREWHERE ${b.window} WHERE remote_child = 0 AND ${inSlice("trace_id", slice)}`;
  // The links are read by their reference: not pruned by the key, but the all-zero references
  // of the usual case are skipped by reading that one column first (PREWHERE in this order: ten
  // times cheaper than with the time condition first). Producer traces of linked CONSUMER spans:
  // of the window's, and of earlier ones whose producer trace had an arrival in the window.
  const linked = `
      SELECT ref_trace_id FROM ${db}.sm_arrivals
        PREWHERE notEmpty(ref_trace_id) AND ${b.window} WHERE ${inSlice("ref_trace_id", slice)}
      UNION ALL
      SELECT ref_trace_id FROM ${db}.sm_arrivals
        PREWHERE notEmpty(ref_trace_id) AND ${b.before} WHERE ${inSlice("ref_trace_id", slice)}
          AND ref_trace_id IN (SELECT trace_id FROM ${db}.sm_arrivals
            PREWHERE ${b.window} WHERE ${inSlice("trace_id", slice)})`;
  // Subqueries are not shared within a query (each IN computes its own set): the costliest, which
  // reads the children of the whole lookback, is named once.
  // Branches of kinds the census found absent (PairingInputs) are left out.
  const candidates = [
    ...(mode === "arrivals"
      ? [`SELECT trace_id FROM ${db}.sm_arrivals PREWHERE ${b.window} WHERE ${inSlice("trace_id", slice)}`]
      : [
          inputs.childrenInWindow
            ? `SELECT trace_id FROM ${db}.sm_arrivals
        PREWHERE ${children(b.window)} WHERE ${inSlice("trace_id", slice)}`
            : "",
          inputs.childrenBefore
            ? `SELECT trace_id FROM ${db}.sm_arrivals
        PREWHERE ${children(b.before)} AND ref_span_id IN (${parents}) WHERE ${inSlice("trace_id", slice)}`
            : "",
        ]),
    inputs.links ? linked : "",
  ]
    .filter((c) => c !== "")
    .join("\n      UNION ALL\n      ");
  const columns = `tenant, trace_id, span_id, ref_trace_id, ref_span_id, service_name, kind, start_time, duration_ns,
        is_error, inserted_at`;
  // CONSUMER spans of other traces linked into the candidates
  const linkedRows = inputs.links
    ? `
        UNION ALL
        SELECT ${columns} FROM ${db}.sm_arrivals
          PREWHERE notEmpty(ref_trace_id) AND ${b.horizon} AND ref_trace_id IN (${linked})
          WHERE ${inSlice("ref_trace_id", slice)}`
    : "";
  // The IN is in the PREWHERE, before the arrival time: the other columns, the time among them, are
  // then read only for granules that hold a candidate's span (with the time first, reading a
  // window's candidates back to the horizon took 0.44-0.81 CPU-s a slice against 0.21-0.33).
  return `
SELECT tenant, toStartOfMinute(ch.2) AS minute, p_service AS source, 'service' AS target_kind, ch.1 AS target,
  lower(hex(ch.6)) AS trace_id, if(p_kind = 'CLIENT', p_dur, ch.3) AS duration_ns,
  if(p_kind = 'CLIENT', p_err, ch.4) AS is_error, toUInt8(abs(ch.5 - p_ins) > ${b.late}) AS is_late,
  greatest(ch.5, p_ins) AS done
FROM
(
  SELECT tenant, k_trace,
    countIf(is_self = 1) > 0 AS has_self,
    anyIf(service, is_self = 1) AS p_service, anyIf(kind, is_self = 1) AS p_kind,
    anyIf(dur, is_self = 1) AS p_dur, anyIf(err, is_self = 1) AS p_err, anyIf(ins, is_self = 1) AS p_ins,
    groupArrayIf((service, start, dur, err, ins, trace_id), is_self = 0) AS children
  FROM
  (
    SELECT tenant, trace_id, k.1 AS k_trace, k.2 AS k_span, k.3 AS is_self, service, kind, start, dur, err, ins
    FROM
    (
      -- deduplicated half edges (a replayed span, or one read by both parts, is read once); an
      -- all-zero ref_trace_id means the span's own trace, an all-zero ref_span_id no parent
      SELECT tenant, trace_id, span_id, if(empty(any(ref_trace_id)), trace_id, any(ref_trace_id)) AS ref_trace,
        any(ref_span_id) AS ref_span,
        -- plain String: LowCardinality values compared across rows of different blocks gave
        -- wrong answers on ClickHouse 26.7 in a self-join; kept plain here to be safe
        toString(any(service_name)) AS service, any(kind) AS kind, any(start_time) AS start,
        any(duration_ns) AS dur, any(is_error) AS err, min(toUnixTimestamp64Milli(inserted_at)) AS ins
      FROM
      (
        SELECT ${columns} FROM ${db}.sm_arrivals
          PREWHERE trace_id IN (${candidates}) AND ${b.horizon} WHERE ${inSlice("trace_id", slice)}${linkedRows}
      )
      GROUP BY tenant, trace_id, span_id
    )
    ARRAY JOIN if(notEmpty(ref_span), [(trace_id, span_id, 1), (ref_trace, ref_span, 0)], [(trace_id, span_id, 1)]) AS k
    WHERE ${inSlice("k.1", slice)}
  )
  GROUP BY tenant, k_trace, k_span
  -- a key without its own span (a parent not read: not arrived, or outside the lookback) has no calls
  HAVING has_self
)
-- calls done outside the window are dropped before they become rows
ARRAY JOIN arrayFilter(ch -> ch.1 != p_service AND greatest(ch.5, p_ins) >= ${b.from}
    AND greatest(ch.5, p_ins) < ${b.until}, children) AS ch`;
}

/**
 * Virtual edges done in the window: the CLIENT/PRODUCER spans with a peer that arrived one
 * lateness bound before it (first arrival, over every stored copy back to the horizon), and their
 * children that may be in another service: the span has a virtual edge if none of those, in
 * another service, arrived by the time it is due. A child that came with its parent in one
 * ResourceSpans (`remote_child` = 0, migrations/0018) is of the parent's service.
 *
 * Which rows are read follows the candidates mode (PairingCandidates; the calls are the same):
 * - "children" (few traces cross services): the due spans from the window alone, their earlier
 *   copies by span id, and only the remote children of the due spans, found by their parent's span
 *   id (and CONSUMER spans linked into their traces). On bench:service-map's one-service estate
 *   this cost a quarter of reading the traces. Looking for the children by trace id instead (every
 *   remote child of the due spans' traces) cost half as much again where traces cross services
 *   (10,000 spans/s, 5 min bound): that half took 0.78-0.89 s for a job's window against
 *   0.55-0.59, and 1.5-1.7 s for the reader's live part (which counts every call not yet due,
 *   five minutes of them) against 0.75-1.1. The span id set leaves out the key's trace, so it
 *   finds a superset; a row under a key no due span has is dropped by the grouping, as below.
 * - "arrivals" (most traces cross services, so most of a trace is remote children anyway): every
 *   span of the due spans' traces back to the horizon, each under its own key and its parent's,
 *   keeping the due spans' keys; one read of the traces instead of three cost 15% less on the
 *   crossing estate.
 */
function virtualEdgesSql(
  db: string,
  b: PairingBounds,
  slice: PairingSlice | undefined,
  mode: PairingCandidates,
  inputs: PairingInputs,
): string {
  return `
SELECT tenant, toStartOfMinute(p_start) AS minute, p_service AS source, p_peer_kind AS target_kind,
  p_peer_name AS target, lower(hex(k_trace)) AS trace_id, p_dur AS duration_ns, p_err AS is_error,
  toUInt8(0) AS is_late, p_ins + ${b.late} AS done
FROM (${virtualSpansSql(db, b, slice, mode, inputs)})`;
}

/**
 * The spans behind virtualEdgesSql's calls, one row each: tenant, k_trace, k_span, p_service,
 * p_start, p_dur, p_err, p_peer_kind, p_peer_name and p_ins (first arrival, ms). The job stages
 * them per window (pendingSql) with the done range shifted by a bound: the spans that arrived in
 * the window and had no child in another service by its end.
 */
function virtualSpansSql(
  db: string,
  b: PairingBounds,
  slice: PairingSlice | undefined,
  mode: PairingCandidates,
  inputs: PairingInputs,
): string {
  // the due spans: their keys, and (mode "children") their rows
  const due = `FROM ${db}.sm_arrivals PREWHERE peer_kind != '' AND ${b.window} WHERE ${inSlice("trace_id", slice)}`;
  const keys = `SELECT trace_id, span_id ${due}`;
  const traces = `SELECT trace_id FROM (${keys})`;
  const columns = (self: string) => `${self} AS is_self, toString(service_name) AS service,
        start_time AS start, duration_ns AS dur, is_error AS err, toString(peer_kind) AS vkind,
        toString(peer_name) AS vname, toUnixTimestamp64Milli(inserted_at) AS ins`;
  // a copy or a child: only its arrival, and a child's service, are used (reading the due span's
  // other columns here too cost the "children" mode twice as much on a one-service estate). No
  // alias is a column's name: ClickHouse would read the alias in PREWHERE ('' AS peer_kind made
  // `peer_kind != ''` false).
  const partner = (self: string, service: string) => `${self} AS is_self, ${service} AS service,
        toDateTime64(0, 9) AS start, toUInt64(0) AS dur, toUInt8(0) AS err, '' AS vkind, '' AS vname,
        toUnixTimestamp64Milli(inserted_at) AS ins`;
  // spans of another trace linked into the due spans' traces (CONSUMERs under a PRODUCER); as in
  // serviceEdgesSql, branches of kinds the census found absent are left out
  const linked = !inputs.links
    ? ""
    : `
    UNION ALL
    SELECT tenant, ref_trace_id AS k_trace, ref_span_id AS k_span, ${partner("0", "toString(service_name)")}
      FROM ${db}.sm_arrivals
      PREWHERE notEmpty(ref_trace_id) AND ${b.horizon} AND ref_trace_id IN (${traces})
      WHERE ${inSlice("ref_trace_id", slice)}`;
  // is_self: 1 for a due span (or, reading the traces, any copy of it), 2 for a copy that arrived
  // before the window, 0 for a child. Rows are matched to the due spans by grouping alone: a row
  // under a key no due span has (a span id shared by another trace, a child of another span) makes
  // a group without is_self 1, which HAVING drops, so no branch filters by the keys again (each IN
  // builds its own set from another read of the window).
  const rows =
    mode === "arrivals"
      ? `
    SELECT tenant, k.1 AS k_trace, k.2 AS k_span, ${columns("k.3")}
      FROM
      (
        SELECT tenant, trace_id, span_id, ref_trace_id, ref_span_id, service_name, start_time, duration_ns,
            is_error, peer_kind, peer_name, inserted_at
          FROM ${db}.sm_arrivals
          PREWHERE trace_id IN (${traces}) AND ${b.horizon} WHERE ${inSlice("trace_id", slice)}
      )
      ARRAY JOIN [(trace_id, span_id, 1), (trace_id, ref_span_id, 0)] AS k
      WHERE (k.1, k.2) IN (${keys}) AND (k.3 = 1 OR empty(ref_trace_id))${linked}`
      : `
    SELECT tenant, trace_id AS k_trace, span_id AS k_span, ${columns("1")}
      ${due}
    UNION ALL
    SELECT tenant, trace_id AS k_trace, span_id AS k_span, ${partner("2", "''")}
      FROM ${db}.sm_arrivals
      PREWHERE peer_kind != '' AND span_id IN (SELECT span_id FROM (${keys})) AND ${b.before}
      WHERE ${inSlice("trace_id", slice)}${
        inputs.childrenInWindow || inputs.childrenBefore
          ? `
    UNION ALL
    SELECT tenant, trace_id AS k_trace, ref_span_id AS k_span, ${partner("0", "toString(service_name)")}
      FROM ${db}.sm_arrivals
      PREWHERE remote_child = 1 AND ref_span_id IN (SELECT span_id FROM (${keys})) AND ${b.horizon}
      WHERE empty(ref_trace_id) AND ${inSlice("trace_id", slice)}`
          : ""
      }${linked}`;
  return `
  SELECT tenant, k_trace, k_span,
    countIf(is_self = 1) > 0 AS has_self,
    anyIf(service, is_self = 1) AS p_service, anyIf(start, is_self = 1) AS p_start,
    anyIf(dur, is_self = 1) AS p_dur, anyIf(err, is_self = 1) AS p_err,
    anyIf(vkind, is_self = 1) AS p_peer_kind, anyIf(vname, is_self = 1) AS p_peer_name,
    minIf(ins, is_self > 0) AS p_ins,
    groupArrayIf((service, ins), is_self = 0) AS children
  FROM
  (${rows}
  )
  GROUP BY tenant, k_trace, k_span
  HAVING has_self AND p_ins + ${b.late} >= ${b.from} AND p_ins + ${b.late} < ${b.until}
    AND NOT arrayExists(ch -> ch.1 != p_service AND ch.2 <= p_ins + ${b.late}, children)
`;
}

/** Columns of sm_pending (migrations/0025), in pendingSql's order. */
export const PENDING_COLUMNS =
  "window_end, tenant, trace_id, span_id, service, start_time, duration_ns, is_error, peer_kind, peer_name, arrived_ms";
/** Columns of sm_resolved (migrations/0025), in resolvedSql's order. */
export const RESOLVED_COLUMNS = "window_end, tenant, trace_id, span_id";

/*
 * Staged virtual calls (migrations/0025). A virtual call is done one lateness bound after its
 * CLIENT/PRODUCER span V arrived, if no child of V in another service arrived by then. Pairing
 * that from sm_arrivals groups every due span with its children by key; the reader's live part
 * counts every call not yet done as well, a whole bound of spans (at 10,000 spans/s crossing
 * services, 825,000 a read). So the job stages, as it finishes window [a, b):
 *  - sm_pending (pendingSql): the window's spans V, first arrived in it, that no child in
 *    another service arrived for before b (window_end = b);
 *  - sm_resolved (resolvedSql): the keys of staged spans of earlier windows that a child
 *    arriving in [a, b) took out (at most a bound after V), window_end = b.
 * The calls of spans that arrived before a finished window end S are then the staged spans,
 * less the keys resolved up to S, less those a child arriving since S takes out (the reader:
 * S = its watermark; the job: S = b, where none can be due any more) — stagedVirtualsSql.
 */

/**
 * sm_pending rows of window [doneFromMs, untilMs) (see above), as virtualEdgesSql finds its
 * spans (the same branches, candidates and lookback back from the window; a copy that arrived
 * before the window leaves the span to that copy's window).
 */
export function pendingSql(db: string, r: PairingRange, slice?: PairingSlice): string {
  const inputs = r.inputs ?? pairingInputsOf(undefined);
  const c = arrivalsOf(r);
  const spans = virtualSpansSql(
    db,
    arrivedBounds(c, c.from, c.until),
    slice,
    r.candidates ?? "children",
    inputs,
  );
  return `SELECT fromUnixTimestamp64Milli(${c.until}), tenant, k_trace, k_span, p_service, p_start, p_dur, p_err,
    p_peer_kind, p_peer_name, p_ins
  FROM (${spans})`;
}

/**
 * Staged spans of the windows ending in (windows[0], windows[1]] that arrived in [arrived[0],
 * arrived[1]) (SQL expressions, ms), of the range's tenant and slice, as a FROM ... WHERE clause.
 */
function pendingRows(
  db: string,
  c: Arrivals,
  windows: [string, string],
  arrived: [string, string],
  slice: PairingSlice | undefined,
): string {
  return `FROM ${db}.sm_pending
      WHERE window_end > fromUnixTimestamp64Milli(${windows[0]}) AND window_end <= fromUnixTimestamp64Milli(${windows[1]})
        AND arrived_ms >= ${arrived[0]} AND arrived_ms < ${arrived[1]} ${c.tenant} AND ${inSlice("trace_id", slice)}`;
}

/**
 * Children (a span's own trace, or a CONSUMER linked to it) of the staged spans `pending` (a
 * FROM ... WHERE clause) that arrived in [a, b): tenant, k_trace, k_span, service, ins. Found by
 * the parent's span id: a superset, matched to the spans by key.
 */
function stagedChildren(
  db: string,
  c: Arrivals,
  pending: string,
  a: string,
  b: string,
  slice: PairingSlice | undefined,
): string {
  return `SELECT tenant, if(empty(ref_trace_id), trace_id, ref_trace_id) AS k_trace, ref_span_id AS k_span,
          toString(service_name) AS service, toUnixTimestamp64Milli(inserted_at) AS ins
        FROM ${db}.sm_arrivals
        PREWHERE (remote_child = 1 OR notEmpty(ref_trace_id)) AND ref_span_id IN (SELECT span_id ${pending})
          AND ${c.arrived(a, b)}
        WHERE ${inSlice("k_trace", slice)}`;
}

/** sm_resolved rows of window [doneFromMs, untilMs) (see above). */
export function resolvedSql(db: string, r: PairingRange, slice?: PairingSlice): string {
  const c = arrivalsOf(r);
  // a child arriving in the window takes out a span that arrived at most a bound before it, staged
  // in an earlier window (the window's own spans were staged with their children before its end)
  const pending = pendingRows(
    db,
    c,
    [`${c.from} - ${c.late}`, c.from],
    [`${c.from} - ${c.late}`, c.from],
    slice,
  );
  return `SELECT DISTINCT fromUnixTimestamp64Milli(${c.until}), v.tenant, v.trace_id, v.span_id
  FROM (SELECT tenant, trace_id, span_id, toString(service) AS v_service, arrived_ms ${pending}) AS v
  INNER JOIN (${stagedChildren(db, c, pending, c.from, c.until, slice)}) AS ch
    ON v.tenant = ch.tenant AND v.trace_id = ch.k_trace AND v.span_id = ch.k_span
  WHERE ch.service != v.v_service AND ch.ins <= v.arrived_ms + ${c.late}`;
}

/**
 * The virtual half of pairingSql when the spans that arrived before `stagedUntilMs` (a window end
 * the job finished, with every window of the bound before it staged) are staged: those are read
 * from sm_pending (see above), and the spans that arrived since (the reader's live part: since
 * the watermark) are paired from sm_arrivals as virtualEdgesSql pairs them.
 */
function stagedVirtualsSql(
  db: string,
  r: PairingRange,
  c: Arrivals,
  stagedUntilMs: bigint,
  slice: PairingSlice | undefined,
  mode: PairingCandidates,
  inputs: PairingInputs,
): string {
  const staged = `toInt64(${BigInt(stagedUntilMs)})`;
  const late = BigInt(Math.trunc(r.latenessMs));
  // whether calls of the range may be done after stagedUntil (then spans arrived since are paired
  // below, and children arriving since may still take out staged spans)
  const since = BigInt(stagedUntilMs) < BigInt(r.untilMs) - late;
  // staged spans due in the range: arrived in [from - late, until - late), before stagedUntil
  const pending = pendingRows(
    db,
    c,
    [`${c.from} - ${c.late}`, staged],
    [`${c.from} - ${c.late}`, `least(${staged}, ${c.until} - ${c.late})`],
    slice,
  );
  const resolved = `SELECT tenant, trace_id, span_id FROM ${db}.sm_resolved
      WHERE window_end > fromUnixTimestamp64Milli(${c.from} - ${c.late}) AND window_end <= fromUnixTimestamp64Milli(${staged})
        ${c.tenant} AND ${inSlice("trace_id", slice)}`;
  const children =
    since && (inputs.childrenInWindow || inputs.childrenBefore || inputs.links)
      ? `
    LEFT JOIN
    (
      SELECT tenant, k_trace, k_span, groupArray((service, ins)) AS children
      FROM (${stagedChildren(db, c, pending, staged, c.until, slice)})
      GROUP BY tenant, k_trace, k_span
    ) AS ch ON v.tenant = ch.tenant AND v.trace_id = ch.k_trace AND v.span_id = ch.k_span`
      : "";
  const stagedCalls = `
SELECT tenant, toStartOfMinute(v_start) AS minute, v_service AS source, v_peer_kind AS target_kind,
  v_peer_name AS target, lower(hex(v_trace)) AS trace_id, v_dur AS duration_ns, v_err AS is_error,
  toUInt8(0) AS is_late, v_ins + ${c.late} AS done
FROM
(
  SELECT v.tenant AS tenant, v.trace_id AS v_trace, toString(v.service) AS v_service, v.start_time AS v_start,
    v.duration_ns AS v_dur, v.is_error AS v_err, toString(v.peer_kind) AS v_peer_kind,
    toString(v.peer_name) AS v_peer_name, v.arrived_ms AS v_ins${children === "" ? "" : ", ch.children AS v_children"}
  FROM
  (
    SELECT tenant, trace_id, span_id, service, start_time, duration_ns, is_error, peer_kind, peer_name, arrived_ms
    ${pending} AND (tenant, trace_id, span_id) NOT IN (${resolved})
  ) AS v${children}
)${
    children === ""
      ? ""
      : `
WHERE NOT arrayExists(ch -> ch.1 != v_service AND ch.2 <= v_ins + ${c.late}, v_children)`
  }`;
  if (!since) return stagedCalls;
  // spans that arrived since stagedUntil: done from stagedUntil + late on
  const direct = virtualEdgesSql(db, arrivedBounds(c, staged, `${c.until} - ${c.late}`), slice, mode, inputs);
  return `${stagedCalls}\nUNION ALL\n${direct}`;
}

/** Column types of the aggregate states, for CASTs of -If states. */
export const DURATION_STATE = "AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64)";
export const SLOW_STATE = "AggregateFunction(argMax, String, UInt64)";

/** Column list and aggregate expressions turning pairing rows into `sm_edges_1m` rows. */
export const EDGE_AGGREGATES = `
  countIf(is_late = 0) AS calls,
  countIf(is_late = 0 AND is_error = 1) AS errors,
  countIf(is_late = 1) AS late,
  CAST(quantilesDDIfState(0.01, 0.5, 0.9, 0.95, 0.99)(duration_ns, is_late = 0), '${DURATION_STATE}') AS duration,
  CAST(argMaxIfState(trace_id, duration_ns, is_late = 0), '${SLOW_STATE}') AS slow_trace,
  maxIf(trace_id, is_error = 1 AND is_late = 0) AS error_trace`;

/** The DDSketch relative accuracy of every latency quantile Skald reports. */
export const QUANTILE_RELATIVE_ACCURACY = 0.01;
export const QUANTILE_LEVELS = [0.5, 0.9, 0.95, 0.99] as const;
export const QUANTILES_MERGE = "quantilesDDMerge(0.01, 0.5, 0.9, 0.95, 0.99)";
export const QUANTILES_MERGE_STATE = "quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)";
export const QUANTILES_STATE = "quantilesDDState(0.01, 0.5, 0.9, 0.95, 0.99)";
