/**
 * Network traffic (flows grouped by service) laid over the trace-derived service map: a flow
 * edge is drawn where both of its ends are services on the map; the rest (addresses no instance
 * held, services that send no spans) are counted so the user knows what the overlay leaves out.
 */

export interface NetEdge {
  source: string;
  destination: string;
  bytes: number;
  packets: number;
  flows: number;
}

export interface OverlayEdge extends NetEdge {
  /** Map node ids of the two ends. */
  from: string;
  to: string;
}

export function overlayEdges(
  nodes: ReadonlyArray<{ id: string; name: string; kind: string }>,
  edges: readonly NetEdge[],
): { drawn: OverlayEdge[]; outside: NetEdge[] } {
  const byName = new Map<string, string>();
  for (const n of nodes) if (n.kind === "service") byName.set(n.name, n.id);
  const drawn: OverlayEdge[] = [];
  const outside: NetEdge[] = [];
  for (const e of edges) {
    const from = byName.get(e.source);
    const to = byName.get(e.destination);
    if (from && to && from !== to) drawn.push({ ...e, from, to });
    else outside.push(e);
  }
  return { drawn, outside };
}

/** Stroke width of a network edge: grows with the log of its bytes, 1–6 px. */
export function netWidth(bytes: number, maxBytes: number): number {
  if (bytes <= 0 || maxBytes <= 0) return 1;
  return 1 + 5 * (Math.log1p(bytes) / Math.log1p(maxBytes));
}
