/**
 * The trace view's pure model: which spans are rows (collapsing hides descendants), where each
 * row's bar sits on the time axis, and which swimlane (service) it belongs to. Spans arrive from
 * `spanPage` in waterfall order (depth first, parents before children), page after page, so
 * everything here works on a prefix of the trace and never needs the whole of it.
 */

export interface WaterfallSpan {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  serviceName: string;
  kind: string;
  depth: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code: string };
}

/**
 * Indices (into `spans`) of the visible rows: every span except descendants of collapsed ones.
 * Relies on waterfall order: a span's descendants follow it directly with a greater depth.
 */
export function visibleRows(spans: readonly WaterfallSpan[], collapsed: ReadonlySet<string>): number[] {
  const out: number[] = [];
  let hideDeeperThan = Number.POSITIVE_INFINITY;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.depth > hideDeeperThan) continue;
    hideDeeperThan = Number.POSITIVE_INFINITY;
    out.push(i);
    if (collapsed.has(s.spanId)) hideDeeperThan = s.depth;
  }
  return out;
}

/** True when the span at `i` has at least one child among the loaded spans. */
export function hasChildren(spans: readonly WaterfallSpan[], i: number): boolean {
  return i + 1 < spans.length && spans[i + 1].depth > spans[i].depth;
}

/**
 * How many rows the virtual list shows: the visible loaded rows plus placeholders for spans not
 * loaded yet (unless the last loaded span is collapsed, whose later descendants would be hidden:
 * then placeholders still stand for the rest, which may hold siblings, so the count stays an upper
 * bound that shrinks as pages arrive).
 */
export function rowCount(visible: number, loaded: number, total: number): number {
  return visible + Math.max(0, total - loaded);
}

/** Whether the rows in [start, end] reach past the loaded ones far enough to fetch the next page. */
export function needsMore(
  lastVisibleRow: number,
  visibleLoaded: number,
  loaded: number,
  total: number,
): boolean {
  return loaded < total && lastVisibleRow >= visibleLoaded - 200;
}

export interface Bar {
  /** Offset from the trace start, as a fraction of the trace duration (0..1). */
  left: number;
  /** Width as a fraction of the trace duration; at least `minWidth` so tiny spans stay visible. */
  width: number;
}

/** A span's bar on the trace's time axis. Nanosecond strings are compared as BigInt for exactness. */
export function barOf(
  span: Pick<WaterfallSpan, "startTimeUnixNano" | "endTimeUnixNano">,
  traceStartNs: bigint,
  traceDurNs: bigint,
  minWidth = 0.002,
): Bar {
  const dur = traceDurNs > 0n ? Number(traceDurNs) : 1;
  const start = Number(BigInt(span.startTimeUnixNano) - traceStartNs);
  const len = Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano));
  const left = clamp(start / dur, 0, 1);
  return { left, width: Math.min(1 - left, Math.max(minWidth, len / dur)) };
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Swimlanes: one per service, in order of first appearance, each with a stable colour. */
export class Lanes {
  private readonly index = new Map<string, number>();
  readonly names: string[] = [];

  laneOf(service: string): number {
    let i = this.index.get(service);
    if (i === undefined) {
      i = this.names.length;
      this.index.set(service, i);
      this.names.push(service);
    }
    return i;
  }

  /** Adds the services of newly loaded spans (in order). */
  addAll(spans: readonly WaterfallSpan[]): void {
    for (const s of spans) this.laneOf(s.serviceName);
  }
}

/** A colour per service, from its name, so a service keeps its colour across traces and pages. */
export function serviceColour(service: string): string {
  let h = 2166136261;
  for (let i = 0; i < service.length; i++) h = Math.imul(h ^ service.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 62% 52%)`;
}

/** Evenly spaced tick marks for a duration axis: fractions (0..1) and their nanosecond values. */
export function ticks(durNs: number, count = 5): Array<{ at: number; ns: number }> {
  const out: Array<{ at: number; ns: number }> = [];
  for (let i = 0; i <= count; i++) out.push({ at: i / count, ns: (durNs * i) / count });
  return out;
}

/**
 * Self time of each service over the loaded spans: each span's duration minus the union of its
 * children's intervals clipped to it (the statistics table). Children are found through parentSpanId.
 */
export function selfTimeByService(
  spans: readonly WaterfallSpan[],
): Array<{ service: string; spans: number; selfNs: number }> {
  if (spans.length === 0) return [];
  // Relative to the first span, so nanosecond offsets fit a double exactly.
  const base = BigInt(spans[0].startTimeUnixNano);
  const rel = (ns: string) => Number(BigInt(ns) - base);
  const children = new Map<string, Array<[number, number]>>();
  for (const s of spans) {
    if (!s.parentSpanId) continue;
    const list = children.get(s.parentSpanId) ?? [];
    list.push([rel(s.startTimeUnixNano), rel(s.endTimeUnixNano)]);
    children.set(s.parentSpanId, list);
  }
  const acc = new Map<string, { spans: number; selfNs: number }>();
  for (const s of spans) {
    const start = rel(s.startTimeUnixNano);
    const end = rel(s.endTimeUnixNano);
    let covered = 0;
    const kids = (children.get(s.spanId) ?? [])
      .map(([a, b]) => [Math.max(a, start), Math.min(b, end)] as [number, number])
      .filter(([a, b]) => b > a)
      .sort((x, y) => x[0] - y[0]);
    let curA = -1;
    let curB = -1;
    for (const [a, b] of kids) {
      if (a > curB) {
        if (curB > curA) covered += curB - curA;
        curA = a;
        curB = b;
      } else if (b > curB) curB = b;
    }
    if (curB > curA) covered += curB - curA;
    const e = acc.get(s.serviceName) ?? { spans: 0, selfNs: 0 };
    e.spans++;
    e.selfNs += Math.max(0, end - start - covered);
    acc.set(s.serviceName, e);
  }
  return [...acc].map(([service, v]) => ({ service, ...v })).sort((a, b) => b.selfNs - a.selfNs);
}
