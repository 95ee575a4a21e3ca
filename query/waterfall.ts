/**
 * Waterfall order of a trace, computed from a skeleton (ids, parents, start times) so a trace of
 * any size can be ordered without holding full spans.
 *
 * Contract: depth-first, a parent before its children; roots and siblings ordered by start time,
 * then span id. A span whose parent is absent from the trace (not yet arrived, dropped, or in
 * another trace) is an orphan and becomes a root. Spans caught in a parent cycle are broken out
 * at their earliest member, which becomes a root, so every span appears exactly once. Duplicate
 * span ids (a re-sent span) keep their first occurrence only.
 */

export interface SkeletonSpan {
  spanId: string;
  /** "" for a root. */
  parentSpanId: string;
  startNs: bigint;
  serviceName: string;
}

export interface Waterfall {
  /** Span ids in waterfall order. */
  readonly spanIds: string[];
  readonly parentSpanIds: string[];
  /** Per position: depth below its root (roots are 0). */
  readonly depths: Int32Array;
  /** Per position: start time, to narrow the time bounds of a page read. */
  readonly startNs: bigint[];
  /** Span id → position. */
  readonly position: Map<string, number>;
  /** Distinct service names, sorted. */
  readonly services: string[];
  /** Position of the first span without a parent id (a true root), or -1. */
  readonly rootPosition: number;
}

export function buildWaterfall(input: readonly SkeletonSpan[]): Waterfall {
  const index = new Map<string, number>();
  const spans: SkeletonSpan[] = [];
  for (const s of input) {
    if (index.has(s.spanId)) continue;
    index.set(s.spanId, spans.length);
    spans.push(s);
  }
  const n = spans.length;
  const before = (a: number, b: number): number => {
    const sa = spans[a].startNs;
    const sb = spans[b].startNs;
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ia = spans[a].spanId;
    const ib = spans[b].spanId;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  };

  const children: Array<number[] | undefined> = new Array(n);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = spans[i].parentSpanId;
    const parent = p === "" || p === spans[i].spanId ? undefined : index.get(p);
    if (parent === undefined) roots.push(i);
    else {
      let list = children[parent];
      if (list === undefined) {
        list = [];
        children[parent] = list;
      }
      list.push(i);
    }
  }
  roots.sort(before);
  for (const list of children) list?.sort(before);

  const order: number[] = [];
  const depths = new Int32Array(n);
  const visited = new Uint8Array(n);
  const stack: number[] = [];
  const stackDepth: number[] = [];
  const walk = (root: number) => {
    stack.push(root);
    stackDepth.push(0);
    while (stack.length > 0) {
      const i = stack.pop()!;
      const d = stackDepth.pop()!;
      if (visited[i]) continue;
      visited[i] = 1;
      depths[order.length] = d;
      order.push(i);
      const kids = children[i];
      if (kids) {
        for (let k = kids.length - 1; k >= 0; k--) {
          stack.push(kids[k]);
          stackDepth.push(d + 1);
        }
      }
    }
  };
  for (const r of roots) walk(r);
  if (order.length < n) {
    // Only parent cycles are left: enter each at its earliest unvisited member.
    const rest: number[] = [];
    for (let i = 0; i < n; i++) if (!visited[i]) rest.push(i);
    rest.sort(before);
    for (const r of rest) if (!visited[r]) walk(r);
  }

  const spanIds = order.map((i) => spans[i].spanId);
  const services = [...new Set(spans.map((s) => s.serviceName))].sort();
  return {
    spanIds,
    parentSpanIds: order.map((i) => spans[i].parentSpanId),
    depths,
    startNs: order.map((i) => spans[i].startNs),
    position: new Map(spanIds.map((id, pos) => [id, pos])),
    services,
    rootPosition: order.findIndex((i) => spans[i].parentSpanId === ""),
  };
}
