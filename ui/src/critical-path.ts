import type { WaterfallSpan } from "./waterfall.js";

/**
 * The critical path of a trace: the chain of work that decides when the trace ends. Start at the
 * root that ends last and walk back from its end: the child that finished last (before the
 * walk's current time) was what the parent waited for, so the path goes into that child (and,
 * recursively, into its children), then continues before the child's start with the child that
 * finished last before it; children running alongside the chosen one are skipped, and the
 * parent's own time between children is on the path too. A child that outlives its parent (an
 * asynchronous call) counts only up to the parent's end. Pure, on whatever spans are loaded.
 */

export type PathSpan = Pick<
  WaterfallSpan,
  "spanId" | "parentSpanId" | "startTimeUnixNano" | "endTimeUnixNano"
>;

/** A stretch of the path: which span is doing the work, in ns after the earliest start. */
export interface PathSegment {
  spanId: string;
  start: number;
  end: number;
}

export interface CriticalPath {
  /** In time order, contiguous from the root's start to its end. */
  segments: PathSegment[];
  /** Spans with at least one segment on the path. */
  spanIds: Set<string>;
}

interface Node {
  id: string;
  start: number;
  end: number;
  kids: Node[];
}

export function criticalPath(spans: readonly PathSpan[]): CriticalPath {
  if (spans.length === 0) return { segments: [], spanIds: new Set() };
  let base = BigInt(spans[0].startTimeUnixNano);
  for (const s of spans) {
    const t = BigInt(s.startTimeUnixNano);
    if (t < base) base = t;
  }
  const nodes = new Map<string, Node>();
  for (const s of spans) {
    if (nodes.has(s.spanId)) continue;
    const start = Number(BigInt(s.startTimeUnixNano) - base);
    nodes.set(s.spanId, {
      id: s.spanId,
      start,
      end: Math.max(start, Number(BigInt(s.endTimeUnixNano) - base)),
      kids: [],
    });
  }
  const roots: Node[] = [];
  const placed = new Set<string>();
  for (const s of spans) {
    if (placed.has(s.spanId)) continue;
    placed.add(s.spanId);
    const n = nodes.get(s.spanId) as Node;
    const parent = s.parentSpanId ? nodes.get(s.parentSpanId) : undefined;
    if (parent && parent !== n) parent.kids.push(n);
    else roots.push(n);
  }
  if (roots.length === 0) return { segments: [], spanIds: new Set() };
  const byEndDesc = (a: Node, b: Node) => b.end - a.end || a.start - b.start || (a.id < b.id ? -1 : 1);
  const root = [...roots].sort(byEndDesc)[0];
  const reversed: PathSegment[] = [];
  const push = (id: string, start: number, end: number) => {
    if (end > start) reversed.push({ spanId: id, start, end });
  };
  // Explicit stack (a deep trace must not overflow the call stack): frames resume their child loop.
  type Frame = { node: Node; kids: Node[]; k: number; cursor: number };
  const frame = (node: Node, limit: number): Frame => ({
    node,
    kids: [...node.kids].sort(byEndDesc),
    k: 0,
    cursor: Math.min(node.end, limit),
  });
  const stack: Frame[] = [frame(root, root.end)];
  while (stack.length) {
    const f = stack[stack.length - 1];
    let descended = false;
    while (f.k < f.kids.length) {
      const kid = f.kids[f.k++];
      // Inside the span, and started before the walk's current time (else it ran alongside).
      if (kid.start >= f.cursor || kid.end <= f.node.start) continue;
      const kidEnd = Math.min(kid.end, f.cursor);
      push(f.node.id, kidEnd, f.cursor);
      f.cursor = Math.max(kid.start, f.node.start);
      stack.push(frame(kid, kidEnd));
      descended = true;
      break;
    }
    if (descended) continue;
    push(f.node.id, f.node.start, f.cursor);
    stack.pop();
  }
  const segments = reversed.reverse();
  return { segments, spanIds: new Set(segments.map((s) => s.spanId)) };
}
