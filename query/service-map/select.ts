import type { MapEdge, MapNode, NodeKind } from "./map-reader.js";

export interface ServiceMapFilter {
  kinds?: NodeKind[] | null;
  nameContains?: string | null;
  minCalls?: number | null;
}

/**
 * Applies `filter` (node kinds, name text, minimum edge calls), then `focus`/`depth`: the nodes
 * within `depth` hops (edges followed in either direction, default 1) of the focus node. Edges
 * are kept only when both ends are kept. An unknown focus gives an empty map.
 */
export function selectNodes(
  nodes: MapNode[],
  edges: MapEdge[],
  focus: string | null | undefined,
  depth: number | null | undefined,
  filter: ServiceMapFilter | null | undefined,
): { nodes: MapNode[]; edges: MapEdge[] } {
  let keep = nodes.filter(
    (n) =>
      (!filter?.kinds || filter.kinds.includes(n.kind)) &&
      (!filter?.nameContains || n.name.includes(filter.nameContains)),
  );
  let ids = new Set(keep.map((n) => n.id));
  let kept = edges.filter(
    (e) => ids.has(e.source) && ids.has(e.target) && (filter?.minCalls == null || e.calls >= filter.minCalls),
  );
  if (focus != null) {
    const reach = new Set<string>(ids.has(focus) ? [focus] : []);
    let frontier = [...reach];
    for (let hop = 0; hop < (depth ?? 1) && frontier.length > 0; hop++) {
      const next: string[] = [];
      for (const e of kept) {
        for (const [a, b] of [
          [e.source, e.target],
          [e.target, e.source],
        ]) {
          if (frontier.includes(a) && !reach.has(b)) {
            reach.add(b);
            next.push(b);
          }
        }
      }
      frontier = next;
    }
    ids = reach;
    keep = keep.filter((n) => ids.has(n.id));
    kept = kept.filter((e) => ids.has(e.source) && ids.has(e.target));
  }
  return { nodes: keep, edges: kept };
}
