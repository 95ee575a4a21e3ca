import { formatDuration, formatTime } from "../format.js";
import type { TraceSummary } from "../queries.js";

const W = 1200;
const H = 200;
const PAD = { l: 64, r: 12, t: 10, b: 24 };

/** Duration (log scale) against start time; red dots carry errors; a dot opens its trace. */
export function Scatter({ traces, onOpen }: { traces: TraceSummary[]; onOpen(id: string): void }) {
  const xs = traces.map((t) => Date.parse(t.startTime));
  const ys = traces.map((t) => Math.max(1, Number(t.duration)));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const ly0 = Math.log10(Math.min(...ys));
  const ly1 = Math.max(Math.log10(Math.max(...ys)), ly0 + 1);
  const px = (x: number) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const py = (y: number) => H - PAD.b - ((Math.log10(y) - ly0) / (ly1 - ly0)) * (H - PAD.t - PAD.b);
  return (
    <figure className="scatter">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Trace durations over time">
        <line x1={PAD.l} x2={W - PAD.r} y1={H - PAD.b} y2={H - PAD.b} className="axis" />
        <line x1={PAD.l} x2={PAD.l} y1={PAD.t} y2={H - PAD.b} className="axis" />
        <text x={PAD.l - 6} y={PAD.t + 8} textAnchor="end" className="tick">
          {formatDuration(10 ** ly1)}
        </text>
        <text x={PAD.l - 6} y={H - PAD.b} textAnchor="end" className="tick">
          {formatDuration(10 ** ly0)}
        </text>
        <text x={PAD.l} y={H - 6} className="tick">
          {formatTime(new Date(x0).toISOString())}
        </text>
        <text x={W - PAD.r} y={H - 6} textAnchor="end" className="tick">
          {formatTime(new Date(x1).toISOString())}
        </text>
        {traces.map((t, i) => (
          // biome-ignore lint/a11y/useSemanticElements: an SVG mark cannot be a <button>; it gets role and keys.
          <circle
            key={t.traceId}
            cx={px(xs[i])}
            cy={py(ys[i])}
            r={Math.min(9, 3 + Math.log2(1 + t.spanCount))}
            className={t.errorCount > 0 ? "dot error-dot" : "dot"}
            tabIndex={0}
            role="button"
            aria-label={`${t.rootServiceName ?? "?"} ${t.rootOperation ?? ""}, ${formatDuration(t.duration)}`}
            onClick={() => onOpen(t.traceId)}
            onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && onOpen(t.traceId)}
          >
            <title>{`${t.rootServiceName ?? "?"} ${t.rootOperation ?? ""} — ${formatDuration(t.duration)}, ${t.spanCount} spans`}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
