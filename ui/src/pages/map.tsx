import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { useQuery } from "../api.js";
import { formatBytes } from "../flows-model.js";
import { formatDuration, formatPercent, formatRate } from "../format.js";
import { netWidth, overlayEdges } from "../network-overlay.js";
import { type MapNode, NETWORK_MAP, SERVICE_MAP } from "../queries.js";
import { useLocation } from "../router.js";
import { healthColour, useWorkerLayout } from "./map-graph.js";
import { MapPanel } from "./map-panel.js";
import { NetworkMap } from "./network-map.js";

const KINDS = ["service", "database", "cache", "external", "queue"] as const;
/** Beyond this many edges labels overlap into noise; each edge keeps its numbers in a tooltip. */
const MAX_LABELLED_EDGES = 12;

/** The shape of a node by kind, centred on 0,0 (kinds are told apart by shape, not colour). */
function Shape({ kind, fill, stroke }: { kind: MapNode["kind"]; fill: string; stroke: string }) {
  const common = { fill, stroke, strokeWidth: 3 };
  if (kind === "database") return <rect x={-20} y={-22} width={40} height={44} rx={12} ry={8} {...common} />;
  if (kind === "cache") return <polygon points="0,-24 24,0 0,24 -24,0" {...common} />;
  if (kind === "queue") return <rect x={-28} y={-15} width={56} height={30} rx={6} {...common} />;
  if (kind === "external")
    return <polygon points="-12,-21 12,-21 24,0 12,21 -12,21 -24,0" {...common} strokeDasharray="5 3" />;
  return <circle r={22} {...common} />;
}

/**
 * The service map: who calls whom in the window, laid out in a worker. URL state: `q` (name
 * search), `focus` + `depth`, `idle=hide`, `kinds` (comma list), `node` (side panel), `net`
 * (network traffic from flows: `overlay` on this map, or `beside` it as its own map).
 */
export function MapPage() {
  const loc = useLocation();
  const p = loc.params;
  const focus = p.get("focus") ?? "";
  const depth = Math.max(1, Math.min(10, Number(p.get("depth")) || 1));
  const q = p.get("q") ?? "";
  const hideIdle = p.get("idle") === "hide";
  const kinds = (p.get("kinds") ?? "")
    .split(",")
    .filter((k): k is (typeof KINDS)[number] => (KINDS as readonly string[]).includes(k));
  const selected = p.get("node") ?? "";
  const vars = {
    ...loc.window,
    environment: loc.environment || undefined,
    focus: focus || undefined,
    depth: focus ? depth : undefined,
    filter: { nameContains: q || undefined, kinds: kinds.length ? kinds : undefined },
  };
  const map = useQuery(SERVICE_MAP, vars, JSON.stringify(vars));
  const net =
    p.get("net") === "overlay" || p.get("net") === "beside" ? (p.get("net") as "overlay" | "beside") : "";
  const network = useQuery(
    net ? NETWORK_MAP : null,
    loc.window,
    `${net}|${loc.window.from}|${loc.window.to}`,
  );
  const graph = useMemo(() => {
    if (map.state !== "done") return { nodes: [], edges: [] };
    let nodes = map.data.serviceMap.nodes;
    const edges = map.data.serviceMap.edges;
    if (hideIdle) {
      const busy = new Set(edges.filter((e) => e.calls > 0).flatMap((e) => [e.source, e.target]));
      nodes = nodes.filter((n) => n.calls > 0 || busy.has(n.id));
    }
    const ids = new Set(nodes.map((n) => n.id));
    return { nodes, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
  }, [map, hideIdle]);
  const layout = useWorkerLayout({
    nodes: graph.nodes.map((n) => n.id),
    edges: graph.edges.map((e) => ({ source: e.source, target: e.target })),
  });
  const overlay = useMemo(
    () =>
      net === "overlay" && network.state === "done"
        ? overlayEdges(graph.nodes, network.data.networkMap.edges)
        : { drawn: [], outside: [] },
    [net, network, graph.nodes],
  );
  const maxNetBytes = Math.max(0, ...overlay.drawn.map((e) => e.bytes));
  // Zoom: a map larger than its frame starts fitted to it; the buttons zoom from there.
  const frame = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number | null>(null);
  const [fit, setFit] = useState(1);
  const lw = Math.max(layout?.width ?? 400, 400);
  const lh = Math.max(layout?.height ?? 200, 200);
  useLayoutEffect(() => {
    const el = frame.current;
    if (!el) return;
    setFit(Math.min(1, (el.clientWidth - 4) / lw, (el.clientHeight - 4) / lh));
  }, [lw, lh]);
  const scale = zoom ?? fit;
  const node = graph.nodes.find((n) => n.id === selected) ?? null;
  const svcSelected = loc.service
    ? graph.nodes.find((n) => n.kind === "service" && n.name === loc.service)?.id
    : undefined;
  const highlighted = selected || svcSelected || "";

  return (
    <section className="map-page">
      <h1>Service map</h1>
      <form className="map-tools" aria-label="Map options" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search{" "}
          <input
            type="search"
            defaultValue={q}
            aria-label="Search nodes"
            onChange={(e) => loc.setParams({ q: e.target.value })}
          />
        </label>
        <label>
          Focus
          <select
            aria-label="Focus on node"
            value={focus}
            onChange={(e) => loc.setParams({ focus: e.target.value }, { push: true })}
          >
            <option value="">whole map</option>
            {(map.state === "done" ? map.data.serviceMap.nodes : []).map((n) => (
              <option key={n.id} value={n.id}>
                {n.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Depth{" "}
          <input
            type="number"
            min={1}
            max={10}
            value={depth}
            disabled={!focus}
            aria-label="Focus depth"
            onChange={(e) => loc.setParams({ depth: e.target.value })}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={hideIdle}
            onChange={(e) => loc.setParams({ idle: e.target.checked ? "hide" : null })}
          />{" "}
          Hide idle
        </label>
        <label>
          Network traffic{" "}
          <select
            aria-label="Network traffic"
            value={net}
            onChange={(e) => loc.setParams({ net: e.target.value || null }, { push: true })}
          >
            <option value="">off</option>
            <option value="overlay">over this map</option>
            <option value="beside">network map beside</option>
          </select>
        </label>
        <fieldset className="kinds">
          <legend className="sr-only">Node kinds</legend>
          {KINDS.map((k) => (
            <label key={k} className="check">
              <input
                type="checkbox"
                checked={kinds.length === 0 || kinds.includes(k)}
                onChange={(e) => {
                  const cur = kinds.length ? kinds : [...KINDS];
                  const next = e.target.checked ? [...cur, k] : cur.filter((x) => x !== k);
                  loc.setParams({ kinds: next.length === KINDS.length ? null : next.join(",") || k });
                }}
              />{" "}
              {k}
            </label>
          ))}
        </fieldset>
      </form>
      {map.state === "loading" && <p className="muted">Loading the map…</p>}
      {map.state === "error" && (
        <p role="alert" className="error">
          Could not load the map: {map.error}
        </p>
      )}
      {map.state === "done" && graph.nodes.length === 0 && (
        <p className="muted">No services in this window.</p>
      )}
      {net && network.state === "error" && (
        <p role="alert" className="error">
          Could not load network traffic: {network.error}
        </p>
      )}
      {net === "overlay" && network.state === "done" && (
        <p className="muted small" data-testid="net-overlay-note">
          <span className="net-key" aria-hidden="true" /> network traffic: {overlay.drawn.length} edge
          {overlay.drawn.length === 1 ? "" : "s"} between services on this map
          {overlay.outside.length > 0 &&
            `; ${overlay.outside.length} more involve endpoints not on it (${[
              ...new Set(overlay.outside.flatMap((e) => [e.source, e.destination])),
            ]
              .filter((x) => !graph.nodes.some((n) => n.kind === "service" && n.name === x))
              .slice(0, 4)
              .join(", ")})`}
        </p>
      )}
      <div className={node ? "map-body with-details" : net === "beside" ? "map-body beside" : "map-body"}>
        <div className="map-canvas" data-testid="service-map" ref={frame}>
          {layout && graph.nodes.length > 0 && (
            <div className="zoom" role="toolbar" aria-label="Zoom">
              <button
                type="button"
                aria-label="Zoom out"
                onClick={() => setZoom(Math.max(0.05, scale / 1.5))}
              >
                −
              </button>
              <button type="button" onClick={() => setZoom(null)} aria-pressed={zoom === null}>
                Fit
              </button>
              <button type="button" aria-label="Zoom in" onClick={() => setZoom(Math.min(2, scale * 1.5))}>
                +
              </button>
              <span className="muted small" data-testid="zoom-level">
                {Math.round(scale * 100)}%
              </span>
            </div>
          )}
          {layout && graph.nodes.length > 0 && (
            <svg
              width={lw * scale}
              height={lh * scale}
              viewBox={`0 0 ${lw} ${lh}`}
              aria-label="Service map graph"
            >
              <defs>
                <marker
                  id="arrow"
                  viewBox="0 0 10 10"
                  refX="10"
                  refY="5"
                  markerWidth="7"
                  markerHeight="7"
                  orient="auto-start-reverse"
                >
                  <path d="M 0 0 L 10 5 L 0 10 z" fill="var(--muted)" />
                </marker>
              </defs>
              {graph.edges.map((e) => {
                const a = layout.positions[e.source];
                const b = layout.positions[e.target];
                if (!a || !b) return null;
                const mx = (a.x + b.x) / 2;
                const my = (a.y + b.y) / 2;
                const path = `M ${a.x + 26} ${a.y} C ${mx} ${a.y}, ${mx} ${b.y}, ${b.x - 28} ${b.y}`;
                return (
                  <g key={`${e.source}>${e.target}`} className="edge">
                    <path
                      d={path}
                      fill="none"
                      stroke={healthColour(e.errorRate, e.calls)}
                      strokeWidth={1.5 + Math.min(4, Math.log10(1 + e.calls))}
                      markerEnd="url(#arrow)"
                      opacity={
                        highlighted && highlighted !== e.source && highlighted !== e.target ? 0.3 : 0.9
                      }
                    />
                    <title>{`${e.source} → ${e.target}: ${formatRate(e.rate)}, ${formatPercent(e.errorRate)} errors, p95 ${formatDuration(e.p95)}`}</title>
                    {graph.edges.length <= MAX_LABELLED_EDGES && (
                      <text x={mx} y={my - 6} textAnchor="middle" className="edge-label">
                        {formatRate(e.rate)} · {formatPercent(e.errorRate)} · p95 {formatDuration(e.p95)}
                      </text>
                    )}
                  </g>
                );
              })}
              {overlay.drawn.map((e) => {
                const a = layout.positions[e.from];
                const b = layout.positions[e.to];
                if (!a || !b) return null;
                const mx = (a.x + b.x) / 2;
                // Bowed the other way from the call edge, so both stay visible.
                const path = `M ${a.x + 26} ${a.y + 6} C ${mx} ${a.y + 40}, ${mx} ${b.y + 40}, ${b.x - 28} ${b.y + 6}`;
                return (
                  <g key={`net:${e.from}>${e.to}`} className="net-edge" data-testid="net-edge">
                    <path d={path} fill="none" strokeWidth={netWidth(e.bytes, maxNetBytes)} />
                    <title>{`network ${e.source} → ${e.destination}: ${formatBytes(e.bytes)}, ${e.packets} packets, ${e.flows} flows`}</title>
                  </g>
                );
              })}
              {graph.nodes.map((n) => {
                const at = layout.positions[n.id];
                if (!at) return null;
                const ring = 2 * Math.PI * 30;
                const open = () => loc.setParams({ node: n.id === selected ? null : n.id }, { push: true });
                return (
                  // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>; it gets role and keys.
                  <g
                    key={n.id}
                    transform={`translate(${at.x},${at.y})`}
                    className={n.id === highlighted ? "node selected" : "node"}
                    tabIndex={0}
                    role="button"
                    aria-pressed={n.id === selected}
                    aria-label={`${n.kind} ${n.name}: ${formatRate(n.rate)}, ${formatPercent(n.errorRate)} errors`}
                    data-testid="map-node"
                    data-node={n.id}
                    onClick={open}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" || e.key === " ") {
                        e.preventDefault();
                        open();
                      }
                    }}
                  >
                    {n.errors > 0 && (
                      <circle
                        r={30}
                        fill="none"
                        stroke="#d62728"
                        strokeWidth={4}
                        strokeDasharray={`${Math.max(3, ring * n.errorRate)} ${ring}`}
                        transform="rotate(-90)"
                        className="error-ring"
                      />
                    )}
                    <Shape kind={n.kind} fill="var(--bg)" stroke={healthColour(n.errorRate, n.calls)} />
                    <text y={4} textAnchor="middle" className="node-kind">
                      {n.kind === "service" ? "" : n.kind.slice(0, 2).toUpperCase()}
                    </text>
                    <text y={44} textAnchor="middle" className="node-label">
                      {n.name.length > 28 ? `${n.name.slice(0, 27)}…` : n.name}
                    </text>
                  </g>
                );
              })}
            </svg>
          )}
        </div>
        {node && <MapPanel node={node} onClose={() => loc.setParams({ node: null })} />}
        {!node && net === "beside" && (
          <section className="map-canvas network-side" aria-label="Network map">
            <h2>Network map (flows by service)</h2>
            {network.state === "loading" && <p className="muted">Loading flows…</p>}
            {network.state === "done" && <NetworkMap data={network.data.networkMap} />}
          </section>
        )}
      </div>
    </section>
  );
}
