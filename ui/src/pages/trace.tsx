import { useMemo, useState } from "react";
import { useQuery } from "../api.js";
import { formatDuration, formatTime } from "../format.js";
import { TRACE_HEADER, type TraceHeaderResult } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";
import { selfTimeByService, serviceColour } from "../waterfall.js";
import { LanesCanvas } from "./lanes-canvas.js";
import { SpanDetails } from "./span-details.js";
import { useSpanPages } from "./use-span-pages.js";
import { WaterfallView } from "./waterfall-view.js";

/**
 * One trace: header, swimlanes by service (overview), the virtualised waterfall and the selected
 * span's details. URL state: `span` (selected), `collapsed` (comma-separated span ids), `q` (filter).
 */
export function TracePage({ traceId }: { traceId: string }) {
  const loc = useLocation();
  const header = useQuery<TraceHeaderResult>(TRACE_HEADER, { id: traceId }, traceId);
  const pages = useSpanPages(traceId);
  const [showStats, setShowStats] = useState(false);
  const collapsed = useMemo(
    () => new Set((loc.params.get("collapsed") ?? "").split(",").filter(Boolean)),
    [loc.params],
  );
  const selected = loc.params.get("span") ?? "";
  const q = loc.params.get("q") ?? "";
  const stats = useMemo(() => (showStats ? selfTimeByService(pages.spans) : []), [showStats, pages.spans]);

  if (header.state === "loading") return <p className="muted">Loading trace…</p>;
  if (header.state === "error")
    return (
      <p role="alert" className="error">
        Could not load the trace: {header.error}
      </p>
    );
  const t = header.data.trace;
  if (!t) {
    return (
      <section>
        <h1>Trace not found</h1>
        <p>
          No trace <code>{traceId}</code> in this tenant.{" "}
          <Link href={hrefWithGlobals("/traces", loc.params)}>Search traces</Link>.
        </p>
      </section>
    );
  }
  const startNs = BigInt(t.startTimeUnixNano);
  const durNs = BigInt(t.endTimeUnixNano) - startNs;
  const toggle = (spanId: string) => {
    const next = new Set(collapsed);
    if (next.has(spanId)) next.delete(spanId);
    else next.add(spanId);
    loc.setParams({ collapsed: [...next].join(",") });
  };
  return (
    <section className="trace-page">
      <div className="trace-head">
        <div>
          <Link href={hrefWithGlobals("/traces", loc.params)}>← Traces</Link>
          <h1>
            {t.rootSpan ? (
              <>
                <span style={{ color: serviceColour(t.rootSpan.serviceName) }}>{t.rootSpan.serviceName}</span>{" "}
                {t.rootSpan.name}
              </>
            ) : (
              "Trace (root span not received)"
            )}
          </h1>
          <p className="muted">
            <span className="mono">{t.traceId}</span> · {formatTime(t.startTime)} ·{" "}
            {formatDuration(t.duration)} ·{" "}
            <span data-testid="span-count">{t.spanCount.toLocaleString("en")}</span> spans ·{" "}
            {t.services.length} services
            {" · "}
            <span data-testid="loaded-count">{pages.spans.length.toLocaleString("en")}</span> loaded
          </p>
        </div>
        <div className="trace-tools">
          <label>
            <span className="sr-only">Find spans</span>
            <input
              type="search"
              placeholder="Find spans (name or service)"
              aria-label="Find spans"
              defaultValue={q}
              onChange={(e) => loc.setParams({ q: e.target.value })}
            />
          </label>
          <button type="button" aria-pressed={showStats} onClick={() => setShowStats(!showStats)}>
            Statistics
          </button>
        </div>
      </div>
      <LanesCanvas spans={pages.spans} services={t.services} startNs={startNs} durNs={durNs} />
      {showStats && (
        <table className="stats" aria-label="Self time by service">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Spans</th>
              <th scope="col">Self time</th>
            </tr>
          </thead>
          <tbody>
            {stats.map((s) => (
              <tr key={s.service}>
                <td>{s.service}</td>
                <td className="num">{s.spans}</td>
                <td className="num">{formatDuration(s.selfNs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages.error && (
        <p role="alert" className="error">
          Could not load spans: {pages.error}
        </p>
      )}
      <div className={selected ? "trace-body with-details" : "trace-body"}>
        <WaterfallView
          pages={pages}
          startNs={startNs}
          durNs={durNs}
          collapsed={collapsed}
          onToggle={toggle}
          selected={selected}
          onSelect={(spanId) => loc.setParams({ span: spanId })}
          query={q}
        />
        {selected && (
          <SpanDetails
            traceId={traceId}
            spans={pages.spans}
            spanId={selected}
            onClose={() => loc.setParams({ span: null })}
          />
        )}
      </div>
    </section>
  );
}
