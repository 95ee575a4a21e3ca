import { useMemo, useState } from "react";
import { useQuery } from "../api.js";
import { criticalPath, type PathSegment } from "../critical-path.js";
import { formatDuration, formatTime } from "../format.js";
import { TRACE_HEADER } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";
import { selfTimeByService, serviceColour, type WaterfallSpan } from "../waterfall.js";
import { LanesCanvas } from "./lanes-canvas.js";
import { SpanDetails } from "./span-details.js";
import { useSpanPages } from "./use-span-pages.js";
import { WaterfallView } from "./waterfall-view.js";

/**
 * One trace: header, swimlanes by service (overview), the virtualised waterfall with its minimap
 * and the selected span's details. URL state: `span` (selected), `collapsed` (comma-separated span
 * ids), `q` (filter), `cp=1` (critical path shown).
 */
export function TracePage({ traceId }: { traceId: string }) {
  const loc = useLocation();
  const header = useQuery(TRACE_HEADER, { id: traceId }, traceId);
  const pages = useSpanPages(traceId);
  const [showStats, setShowStats] = useState(false);
  const collapsed = useMemo(
    () => new Set((loc.params.get("collapsed") ?? "").split(",").filter(Boolean)),
    [loc.params],
  );
  const selected = loc.params.get("span") ?? "";
  const q = loc.params.get("q") ?? "";
  const showPath = loc.params.get("cp") === "1";
  const stats = useMemo(() => (showStats ? selfTimeByService(pages.loaded) : []), [showStats, pages.loaded]);
  const path = useMemo(() => (showPath ? criticalPath(pages.loaded) : null), [showPath, pages.loaded]);
  const noSpans = useMemo(() => new Set<string>(), []);
  const [jump, setJump] = useState<{ position: number; seq: number } | null>(null);
  const [jumpText, setJumpText] = useState("");
  const [compareWith, setCompareWith] = useState("");

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
            <span data-testid="loaded-count">{pages.loaded.length.toLocaleString("en")}</span> loaded
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
          <button
            type="button"
            aria-pressed={showPath}
            onClick={() => loc.setParams({ cp: showPath ? null : "1" })}
            title="The chain of spans that decides when the trace ends (over the loaded spans)"
          >
            Critical path
          </button>
          <form
            className="inline-form"
            aria-label="Jump to span"
            onSubmit={(e) => {
              e.preventDefault();
              const n = Number(jumpText);
              if (Number.isInteger(n) && n >= 1) setJump({ position: n - 1, seq: (jump?.seq ?? 0) + 1 });
            }}
          >
            <input
              type="number"
              min={1}
              max={t.spanCount}
              placeholder="Span #"
              aria-label="Span number"
              value={jumpText}
              onChange={(e) => setJumpText(e.target.value)}
            />
            <button type="submit">Jump</button>
          </form>
          <form
            className="inline-form"
            aria-label="Compare with another trace"
            onSubmit={(e) => {
              e.preventDefault();
              const other = compareWith.trim().toLowerCase();
              if (/^[0-9a-f]{32}$/.test(other))
                loc.navigate(hrefWithGlobals("/compare", loc.params, { a: traceId, b: other }));
            }}
          >
            <input
              placeholder="Other trace id"
              aria-label="Other trace id"
              value={compareWith}
              onChange={(e) => setCompareWith(e.target.value)}
              className="mono"
              size={20}
            />
            <button type="submit">Compare</button>
          </form>
        </div>
      </div>
      <LanesCanvas spans={pages.loaded} services={t.services} startNs={startNs} durNs={durNs} />
      {path && (
        <p className="muted small" data-testid="critical-path">
          Critical path: {path.spanIds.size.toLocaleString("en")} spans,{" "}
          {formatDuration(path.segments.reduce((sum, x) => sum + (x.end - x.start), 0))}
          {pages.loaded.length < t.spanCount &&
            ` (over the ${pages.loaded.length.toLocaleString("en")} loaded spans)`}
          {" · "}
          {pathSummary(path.segments, pages.loaded)}
        </p>
      )}
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
          critical={path?.spanIds ?? noSpans}
          jump={jump}
        />
        {selected && (
          <SpanDetails
            traceId={traceId}
            at={pages.at}
            spanId={selected}
            onClose={() => loc.setParams({ span: null })}
          />
        )}
      </div>
    </section>
  );
}

/** The services the critical path spends its time in, largest first (the top three). */
function pathSummary(segments: PathSegment[], spans: readonly WaterfallSpan[]): string {
  const service = new Map(spans.map((s) => [s.spanId, s.serviceName]));
  const by = new Map<string, number>();
  for (const x of segments) {
    const name = service.get(x.spanId) ?? "?";
    by.set(name, (by.get(name) ?? 0) + (x.end - x.start));
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name, ns]) => `${name} ${formatDuration(ns)}`)
    .join(", ");
}
