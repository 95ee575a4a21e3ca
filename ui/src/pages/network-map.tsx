import { useMemo } from "react";
import { formatBytes } from "../flows-model.js";
import { netWidth } from "../network-overlay.js";
import type { NetworkMapResult } from "../queries.js";
import { useWorkerLayout } from "./map-graph.js";

/**
 * The network map: services (as flows and the recorder's instance tags name them) and the bytes
 * between them, laid out like the service map so the two can be read side by side.
 */
export function NetworkMap({ data }: { data: NetworkMapResult["networkMap"] }) {
  const layout = useWorkerLayout({
    nodes: data.nodes.map((n) => n.id),
    edges: data.edges.map((e) => ({ source: e.source, target: e.destination })),
  });
  const max = useMemo(() => Math.max(0, ...data.edges.map((e) => e.bytes)), [data.edges]);
  if (data.nodes.length === 0)
    return (
      <p className="muted" data-testid="no-flows">
        No flows in this window.
      </p>
    );
  if (!layout) return <p className="muted">Laying out…</p>;
  return (
    <svg
      width={Math.max(layout.width, 300)}
      height={Math.max(layout.height, 160)}
      aria-label="Network map graph"
      data-testid="network-map"
    >
      {data.edges.map((e) => {
        const a = layout.positions[e.source];
        const b = layout.positions[e.destination];
        if (!a || !b || e.source === e.destination) return null;
        const mx = (a.x + b.x) / 2;
        return (
          <g key={`${e.source}>${e.destination}`} className="net-edge">
            <path
              d={`M ${a.x + 14} ${a.y} C ${mx} ${a.y + 16}, ${mx} ${b.y + 16}, ${b.x - 14} ${b.y}`}
              fill="none"
              strokeWidth={netWidth(e.bytes, max)}
            />
            <title>{`${e.source} → ${e.destination}: ${formatBytes(e.bytes)}, ${e.packets} packets, ${e.flows} flows`}</title>
            <text x={mx} y={(a.y + b.y) / 2 + 4} textAnchor="middle" className="edge-label">
              {formatBytes(e.bytes)}
            </text>
          </g>
        );
      })}
      {data.nodes.map((n) => {
        const at = layout.positions[n.id];
        if (!at) return null;
        return (
          <g key={n.id} transform={`translate(${at.x},${at.y})`} data-testid="net-node" data-node={n.id}>
            <rect x={-14} y={-14} width={28} height={28} rx={4} className="net-node" />
            <title>{`${n.id}: ${formatBytes(n.bytesOut)} out, ${formatBytes(n.bytesIn)} in`}</title>
            <text y={30} textAnchor="middle" className="node-label">
              {n.id}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
