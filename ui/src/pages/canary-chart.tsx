import { useQuery } from "../api.js";
import { histogram } from "../canary-model.js";
import { CANARY_SIGNATURE, type CanaryMetric } from "../queries.js";
import { CanaryBoxPlot } from "./canary-boxplot.js";

const W = 560;
const H = 180;
const P = 28;

/**
 * One metric's signature: baseline and canary series over time with the band between them
 * shaded (the difference), and beside each other a histogram of both sides' values and their box
 * plots. `zone` picks one zone's series (null: all zones together).
 */
export function CanaryChart({
  runId,
  metric,
  zone,
  onZone,
}: {
  runId: string;
  metric: CanaryMetric;
  zone: string | null;
  onZone(zone: string | null): void;
}) {
  const sig = useQuery(CANARY_SIGNATURE, { id: runId, metric: metric.name }, `${runId}|${metric.name}`);
  const all = sig.state === "done" ? (sig.data.canaryRun?.signatures ?? []) : [];
  const zones = [...new Set(all.flatMap((x) => (x.zone === null ? [] : [x.zone])))].sort();
  const s = all.find((x) => x.zone === zone) ?? all.find((x) => x.zone === null) ?? all[0];
  const b = s?.baseline ?? [];
  const c = s?.canary ?? [];
  const n = Math.max(b.length, c.length);
  const values = [...b, ...c].map((p) => p.value).filter((v): v is number => v !== null);
  const lo = Math.min(0, ...values);
  const hi = Math.max(lo + 1e-12, ...values);
  const x = (i: number) => P + (n <= 1 ? 0.5 : i / (n - 1)) * (W - 2 * P);
  const y = (v: number) => H - P - ((v - lo) / (hi - lo)) * (H - 2 * P);
  const line = (pts: typeof b) =>
    pts.flatMap((p, i) => (p.value === null ? [] : [`${x(i)},${y(p.value)}`])).join(" ");
  const band =
    n > 0
      ? [
          ...b.map((p, i) => `${x(i)},${y(p.value ?? 0)}`),
          ...c.map((p, i) => `${x(i)},${y(p.value ?? 0)}`).reverse(),
        ].join(" ")
      : "";
  const valuesOf = (pts: typeof b) => pts.flatMap((p) => (p.value === null ? [] : [p.value]));
  const h = histogram(valuesOf(b), valuesOf(c));
  const top = Math.max(1, ...h.baseline, ...h.canary);
  const HH = 120;
  const bw = h.edges.length > 1 ? (W - 2 * P) / (h.edges.length - 1) : 0;
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());
  return (
    <div className="canary-chart" data-testid="canary-chart">
      <h3>{metric.name}: baseline vs canary</h3>
      {zones.length > 0 && (
        <label>
          Zone{" "}
          <select aria-label="Zone" value={zone ?? ""} onChange={(e) => onZone(e.target.value || null)}>
            <option value="">all zones</option>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
      )}
      {sig.state === "loading" && <p className="muted">Loading series…</p>}
      {sig.state === "error" && <p className="error">{sig.error}</p>}
      {sig.state === "done" && n === 0 && <p className="muted">No series recorded for this metric.</p>}
      {n > 0 && (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Series of ${metric.name}`}>
          <polygon points={band} fill="#d62728" opacity={0.15} />
          <polyline points={line(b)} fill="none" stroke="var(--accent)" strokeWidth={2} />
          <polyline points={line(c)} fill="none" stroke="#e6a100" strokeWidth={2} />
          <text x={P} y={14} className="tick">
            baseline (blue) · canary (amber) · difference shaded
          </text>
        </svg>
      )}
      <div className="canary-dist">
        {h.edges.length > 0 && (
          <svg
            viewBox={`0 0 ${W} ${HH}`}
            role="img"
            aria-label={`Histogram of ${metric.name}: baseline and canary values per interval`}
            data-testid="canary-histogram"
          >
            {h.baseline.map((n, i) => {
              const x0 = P + i * bw;
              const hb = (n / top) * (HH - 34);
              const hc = (h.canary[i] / top) * (HH - 34);
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: bins are positional.
                <g key={i}>
                  <rect
                    x={x0 + 1}
                    y={HH - 18 - hb}
                    width={bw / 2 - 1}
                    height={hb}
                    fill="var(--accent)"
                    opacity={0.8}
                  >
                    <title>{`baseline ${fmt(h.edges[i])}–${fmt(h.edges[i + 1])}: ${n}`}</title>
                  </rect>
                  <rect
                    x={x0 + bw / 2}
                    y={HH - 18 - hc}
                    width={bw / 2 - 1}
                    height={hc}
                    fill="#e6a100"
                    opacity={0.9}
                  >
                    <title>{`canary ${fmt(h.edges[i])}–${fmt(h.edges[i + 1])}: ${h.canary[i]}`}</title>
                  </rect>
                </g>
              );
            })}
            <text x={P} y={HH - 4} className="tick">
              {fmt(h.edges[0])}
            </text>
            <text x={W - P} y={HH - 4} className="tick" textAnchor="end">
              {fmt(h.edges[h.edges.length - 1])}
            </text>
            <text x={P} y={12} className="tick">
              values per interval: baseline (blue) · canary (amber)
            </text>
          </svg>
        )}
        <CanaryBoxPlot metric={metric.name} baseline={valuesOf(b)} canary={valuesOf(c)} />
      </div>
    </div>
  );
}
