import { useQuery } from "../api.js";
import { CANARY_SIGNATURE, type CanaryMetric, type CanarySignatureResult } from "../queries.js";

const W = 560;
const H = 180;
const P = 28;

/**
 * One metric's signature: baseline and canary series over time with the band between them
 * shaded (the difference), and a range plot of both samples (min, median, mean, max).
 */
export function CanaryChart({ runId, metric }: { runId: string; metric: CanaryMetric }) {
  const sig = useQuery<CanarySignatureResult>(
    CANARY_SIGNATURE,
    { id: runId, metric: metric.name },
    `${runId}|${metric.name}`,
  );
  const s =
    sig.state === "done"
      ? (sig.data.canaryRun?.signatures.find((x) => x.zone === null) ?? sig.data.canaryRun?.signatures[0])
      : undefined;
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
  const range = (st: CanaryMetric["baseline"], row: number, colour: string) => {
    if (st.min === null || st.max === null) return null;
    const sx = (v: number) =>
      P +
      ((v - Math.min(metric.baseline.min ?? v, metric.canary.min ?? v)) /
        (Math.max(metric.baseline.max ?? v, metric.canary.max ?? v) -
          Math.min(metric.baseline.min ?? v, metric.canary.min ?? v) || 1)) *
        (W - 2 * P);
    const yy = 20 + row * 26;
    return (
      <g>
        <line x1={sx(st.min)} x2={sx(st.max)} y1={yy} y2={yy} stroke={colour} strokeWidth={2} />
        {st.median !== null && <rect x={sx(st.median) - 3} y={yy - 8} width={6} height={16} fill={colour} />}
        {st.mean !== null && (
          <circle cx={sx(st.mean)} cy={yy} r={4} fill="var(--bg)" stroke={colour} strokeWidth={2} />
        )}
      </g>
    );
  };
  return (
    <div className="canary-chart" data-testid="canary-chart">
      <h3>{metric.name}: baseline vs canary</h3>
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
      <svg
        viewBox={`0 0 ${W} 64`}
        role="img"
        aria-label={`Distribution of ${metric.name}: min, median (bar), mean (circle), max`}
      >
        {range(metric.baseline, 0, "var(--accent)")}
        {range(metric.canary, 1, "#e6a100")}
      </svg>
    </div>
  );
}
