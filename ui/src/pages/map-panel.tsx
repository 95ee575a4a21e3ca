import { useQuery } from "../api.js";
import { formatDuration, formatPercent, formatRate } from "../format.js";
import { type MapNode, SERVICE_METRICS } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";

const GROUPS = ["OPERATION", "VERSION", "INSTANCE"] as const;

/** A tiny line chart of one series (no axes: the panel's numbers give the scale). */
function Spark({ values, label, colour }: { values: number[]; label: string; colour: string }) {
  const w = 120;
  const h = 28;
  const max = Math.max(...values, 1e-12);
  const pts = values
    .map(
      (v, i) => `${values.length < 2 ? w / 2 : (i / (values.length - 1)) * w},${h - 2 - (v / max) * (h - 4)}`,
    )
    .join(" ");
  return (
    <svg width={w} height={h} role="img" aria-label={label} className="spark">
      <polyline points={pts} fill="none" stroke={colour} strokeWidth={1.5} />
    </svg>
  );
}

/** Side panel of a map node: its RED numbers, RED charts per operation/version/instance, exemplars. */
export function MapPanel({ node, onClose }: { node: MapNode; onClose(): void }) {
  const loc = useLocation();
  const by = (GROUPS as readonly string[]).includes(loc.params.get("by") ?? "")
    ? (loc.params.get("by") as (typeof GROUPS)[number])
    : "OPERATION";
  const isService = node.kind === "service";
  const vars = { service: node.name, groupBy: by, ...loc.window };
  const metrics = useQuery(isService ? SERVICE_METRICS : null, vars, JSON.stringify(vars));
  const traceLink = (id: string | null, label: string) =>
    id ? (
      <Link href={hrefWithGlobals(`/trace/${id}`, loc.params)} data-testid="exemplar">
        {label}
      </Link>
    ) : null;
  return (
    <aside className="details" aria-label={`Details of ${node.name}`} data-testid="map-panel">
      <div className="details-head">
        <h2>{node.name}</h2>
        <button type="button" className="icon" onClick={onClose} aria-label="Close node details">
          ✕
        </button>
      </div>
      <p className="muted">{node.kind}</p>
      <dl className="facts">
        <dt>Rate</dt>
        <dd>{formatRate(node.rate)}</dd>
        <dt>Calls</dt>
        <dd>{node.calls}</dd>
        <dt>Errors</dt>
        <dd className={node.errors > 0 ? "error" : undefined}>
          {node.errors} ({formatPercent(node.errorRate)})
        </dd>
        <dt>p50 / p95 / p99</dt>
        <dd>
          {formatDuration(node.p50)} / {formatDuration(node.p95)} / {formatDuration(node.p99)}
        </dd>
      </dl>
      <p>
        {traceLink(node.slowTraceId, "Slowest trace")} {traceLink(node.errorTraceId, "A failed trace")}
      </p>
      <p>
        <button type="button" onClick={() => loc.setParams({ focus: node.id, depth: "1" }, { push: true })}>
          Focus here
        </button>{" "}
        {isService && (
          <Link href={hrefWithGlobals("/traces", loc.params, { service: node.name })}>
            Traces of {node.name}
          </Link>
        )}
      </p>
      {isService && (
        <>
          <h3>RED by</h3>
          <div role="radiogroup" aria-label="Group RED by" className="seg" data-testid="red-by">
            {GROUPS.map((g) => (
              // biome-ignore lint/a11y/useSemanticElements: a segmented control of buttons.
              <button
                type="button"
                role="radio"
                key={g}
                aria-checked={by === g}
                onClick={() => loc.setParams({ by: g })}
              >
                {g.toLowerCase()}
              </button>
            ))}
          </div>
          {metrics.state === "loading" && <p className="muted">Loading…</p>}
          {metrics.state === "error" && <p className="error">{metrics.error}</p>}
          {metrics.state === "done" && metrics.data.serviceMetrics.length === 0 && (
            <p className="muted">No entry spans of {node.name} in this window.</p>
          )}
          {metrics.state === "done" && metrics.data.serviceMetrics.length > 0 && (
            <table className="red" aria-label="RED per group">
              <thead>
                <tr>
                  <th scope="col">{by.toLowerCase()}</th>
                  <th scope="col">rate</th>
                  <th scope="col">errors</th>
                  <th scope="col">p95</th>
                </tr>
              </thead>
              <tbody>
                {metrics.data.serviceMetrics.map((s) => (
                  <tr key={s.group}>
                    <th scope="row">{s.group || "—"}</th>
                    <td>
                      <Spark
                        values={s.points.map((x) => x.rate)}
                        label={`rate of ${s.group}`}
                        colour="var(--accent)"
                      />
                    </td>
                    <td>
                      <Spark
                        values={s.points.map((x) => x.errorRate)}
                        label={`error rate of ${s.group}`}
                        colour="#d62728"
                      />
                    </td>
                    <td>
                      <Spark
                        values={s.points.map((x) => Number(x.p95 ?? 0))}
                        label={`p95 of ${s.group}`}
                        colour="#e6a100"
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </aside>
  );
}
