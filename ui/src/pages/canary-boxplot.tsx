import type { BoxStats } from "../canary-model.js";
import { boxPlot } from "../canary-model.js";

const W = 220;
const H = 200;
const TOP = 22;
const BOTTOM = 24;
const LEFT = 44;

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

/**
 * Box plots of a metric's baseline and canary values side by side on one vertical scale: box from
 * the first to the third quartile, median line, mean circle, whiskers to the last values within
 * 1.5 IQR, outliers as dots. A happy canary's box sits level with the baseline's.
 */
export function CanaryBoxPlot({
  metric,
  baseline,
  canary,
}: {
  metric: string;
  baseline: readonly number[];
  canary: readonly number[];
}) {
  const plot = boxPlot(baseline, canary);
  if (!plot) return null;
  const y = (v: number) => TOP + (1 - (v - plot.lo) / (plot.hi - plot.lo)) * (H - TOP - BOTTOM);
  const slot = (W - LEFT) / 2;
  const box = (s: BoxStats | null, i: number, side: "baseline" | "canary", colour: string) => {
    if (!s) return null;
    const cx = LEFT + slot * i + slot / 2;
    const half = slot / 4;
    return (
      <g data-testid={`box-${side}`}>
        <title>{`${side}: n ${s.n}, q1 ${fmt(s.q1)}, median ${fmt(s.median)}, q3 ${fmt(s.q3)}, whiskers ${fmt(s.whiskerLow)}–${fmt(s.whiskerHigh)}, ${s.outliers.length} outlier${s.outliers.length === 1 ? "" : "s"}`}</title>
        <line x1={cx} x2={cx} y1={y(s.whiskerHigh)} y2={y(s.q3)} stroke={colour} strokeWidth={1.5} />
        <line x1={cx} x2={cx} y1={y(s.q1)} y2={y(s.whiskerLow)} stroke={colour} strokeWidth={1.5} />
        <line
          x1={cx - half / 2}
          x2={cx + half / 2}
          y1={y(s.whiskerHigh)}
          y2={y(s.whiskerHigh)}
          stroke={colour}
        />
        <line
          x1={cx - half / 2}
          x2={cx + half / 2}
          y1={y(s.whiskerLow)}
          y2={y(s.whiskerLow)}
          stroke={colour}
        />
        <rect
          x={cx - half}
          y={y(s.q3)}
          width={2 * half}
          height={Math.max(1, y(s.q1) - y(s.q3))}
          fill={colour}
          fillOpacity={0.25}
          stroke={colour}
          strokeWidth={1.5}
        />
        <line
          x1={cx - half}
          x2={cx + half}
          y1={y(s.median)}
          y2={y(s.median)}
          stroke={colour}
          strokeWidth={3}
        />
        <circle cx={cx} cy={y(s.mean)} r={3.5} fill="var(--bg)" stroke={colour} strokeWidth={1.5} />
        {s.outliers.map((v, k) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: outliers may repeat a value.
          <circle key={k} data-testid="box-outlier" cx={cx} cy={y(v)} r={2.5} fill={colour} />
        ))}
        <text x={cx} y={H - 6} className="tick" textAnchor="middle">
          {side}
        </text>
      </g>
    );
  };
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Box plot of ${metric}: quartiles, median, mean, whiskers and outliers of baseline and canary`}
      data-testid="canary-boxplot"
    >
      <text x={4} y={y(plot.hi) + 4} className="tick">
        {fmt(plot.hi)}
      </text>
      <text x={4} y={y(plot.lo) + 4} className="tick">
        {fmt(plot.lo)}
      </text>
      <line x1={LEFT - 4} x2={LEFT - 4} y1={TOP} y2={H - BOTTOM} stroke="var(--border)" />
      {box(plot.baseline, 0, "baseline", "var(--accent)")}
      {box(plot.canary, 1, "canary", "#e6a100")}
      <text x={4} y={12} className="tick">
        box plot
      </text>
    </svg>
  );
}
