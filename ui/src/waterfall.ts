/**
 * The trace view's pure model: which spans are rows (collapsing hides descendants), where each
 * row's bar sits on the time axis, and which swimlane (service) it belongs to. Spans arrive from
 * `spanPage` in waterfall order (depth first, parents before children), in blocks fetched by offset
 * as the view needs them, so everything here works on whatever part of the trace is loaded.
 */

export interface WaterfallSpan {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  serviceName: string;
  kind: string;
  depth: number;
  /** Spans in this span's subtree (itself excluded); they follow it in waterfall order. */
  descendantCount: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code: string };
}

/**
 * The rows of the waterfall over every position of the trace, loaded or not: a row is a span's
 * position in waterfall order. Collapsing a span hides the `descendantCount` positions after it
 * (its subtree follows it directly), whether they are loaded or not, so the rows are exact from the
 * first page on. `at` holds the loaded spans by position (holes for the rest).
 */
export interface Rows {
  count: number;
  /** The waterfall position shown in row `row`. */
  position(row: number): number;
  /** The row showing `position`, or -1 when a collapsed ancestor hides it. */
  rowOf(position: number): number;
}

export function rowsOf(
  at: ReadonlyArray<WaterfallSpan | undefined>,
  total: number,
  collapsed: ReadonlySet<string>,
): Rows {
  const shown: number[] = [];
  let any = false;
  for (let i = 0; i < total; ) {
    shown.push(i);
    const s = at[i];
    if (s && collapsed.has(s.spanId) && s.descendantCount > 0) {
      any = true;
      i += 1 + s.descendantCount;
    } else i++;
  }
  if (!any) return { count: total, position: (r) => r, rowOf: (p) => (p >= 0 && p < total ? p : -1) };
  return {
    count: shown.length,
    position: (r) => shown[r],
    rowOf(p) {
      let lo = 0;
      let hi = shown.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (shown[mid] === p) return mid;
        if (shown[mid] < p) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    },
  };
}

/** True when the span has children (known from its subtree size, loaded or not). */
export function hasChildren(span: WaterfallSpan | undefined): boolean {
  return (span?.descendantCount ?? 0) > 0;
}

/**
 * Spans are fetched in blocks of positions: a small first block so the view renders fast, then
 * large ones, each fetched by offset, so a jump to any row fetches only the blocks it shows.
 */
export const FIRST_BLOCK = 500;
export const BLOCK = 4000;

export function blockOf(position: number): number {
  return position < FIRST_BLOCK ? 0 : 1 + Math.floor((position - FIRST_BLOCK) / BLOCK);
}

/** [start, end) positions of a block. */
export function blockRange(block: number): [number, number] {
  return block === 0 ? [0, FIRST_BLOCK] : [FIRST_BLOCK + (block - 1) * BLOCK, FIRST_BLOCK + block * BLOCK];
}

/** Blocks covering positions [from, to] of a trace of `total` spans. */
export function blocksFor(from: number, to: number, total: number): number[] {
  if (total <= 0) return [];
  const a = blockOf(Math.max(0, from));
  const b = blockOf(Math.min(total - 1, Math.max(0, to)));
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
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
