import { useMemo } from "react";
import { useQuery } from "../api.js";
import { formatDuration, formatTime } from "../format.js";
import { type Attr, SPAN_DETAIL } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";
import type { WaterfallSpan } from "../waterfall.js";

function Attrs({ attrs, label }: { attrs: Attr[]; label: string }) {
  if (attrs.length === 0) return <p className="muted small">No {label.toLowerCase()}.</p>;
  return (
    <table className="attrs" aria-label={label}>
      <tbody>
        {attrs.map((a) => (
          <tr key={a.key}>
            <th scope="row">{a.key}</th>
            <td className="mono" title={a.type}>
              {a.value}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The selected span in full: `spans(first: 1, offset: <its waterfall position>)`, since pages
 * follow the same waterfall order. The position comes from the loaded spans (or, for a shared link
 * to a span not loaded yet, from the server: the waterfall scrolls there and loads it).
 */
export function SpanDetails({
  traceId,
  at,
  spanId,
  onClose,
}: {
  traceId: string;
  at: ReadonlyArray<WaterfallSpan | undefined>;
  spanId: string;
  onClose(): void;
}) {
  const loc = useLocation();
  const index = useMemo(() => at.findIndex((s) => s?.spanId === spanId), [at, spanId]);
  const detail = useQuery(
    index < 0 ? null : SPAN_DETAIL,
    { id: traceId, offset: index },
    `${traceId}|${spanId}|${index}`,
  );
  const s = detail.state === "done" ? detail.data.trace?.spans[0] : undefined;
  return (
    <aside className="details" aria-label="Span details" data-testid="span-details">
      <div className="details-head">
        <h2>{s ? s.name : "Span"}</h2>
        <button type="button" className="icon" onClick={onClose} aria-label="Close span details">
          ✕
        </button>
      </div>
      {index < 0 && <p className="muted">Loading the span…</p>}
      {detail.state === "error" && (
        <p role="alert" className="error">
          {detail.error}
        </p>
      )}
      {index >= 0 && detail.state === "loading" && <p className="muted">Loading…</p>}
      {s && s.spanId !== spanId && <p className="error">The span changed while loading; select it again.</p>}
      {s && s.spanId === spanId && (
        <>
          <dl className="facts">
            <dt>Service</dt>
            <dd>{s.serviceName}</dd>
            <dt>Kind</dt>
            <dd>{s.kind}</dd>
            <dt>Status</dt>
            <dd className={s.status.code === "ERROR" ? "error" : undefined}>
              {s.status.code}
              {s.status.message ? `: ${s.status.message}` : ""}
            </dd>
            <dt>Duration</dt>
            <dd>{formatDuration(s.duration)}</dd>
            <dt>Start</dt>
            <dd>{formatTime(s.startTime)}</dd>
            <dt>Span id</dt>
            <dd className="mono">{s.spanId}</dd>
            <dt>Parent</dt>
            <dd className="mono">{s.parentSpanId ?? "—"}</dd>
            <dt>Scope</dt>
            <dd>
              {s.scope.name} {s.scope.version}
            </dd>
          </dl>
          <h3>Attributes</h3>
          <Attrs attrs={s.attributes} label="Attributes" />
          <h3>Events ({s.events.length})</h3>
          {s.events.map((e) => (
            <details key={`${e.timeUnixNano}-${e.name}`} open>
              <summary>
                {e.name}{" "}
                <span className="muted small">
                  +{formatDuration(Number(BigInt(e.timeUnixNano) - BigInt(s.startTimeUnixNano)))}
                </span>
              </summary>
              <Attrs attrs={e.attributes} label="Event attributes" />
            </details>
          ))}
          <h3>Links ({s.links.length})</h3>
          {s.links.map((l) => (
            <div key={`${l.traceId}-${l.spanId}`}>
              <Link
                href={hrefWithGlobals(`/trace/${l.traceId}`, loc.params, { span: l.spanId })}
                className="mono"
              >
                {l.traceId.slice(0, 12)}…/{l.spanId}
              </Link>
              <Attrs attrs={l.attributes} label="Link attributes" />
            </div>
          ))}
          <h3>Resource</h3>
          <Attrs attrs={s.resource.attributes} label="Resource attributes" />
        </>
      )}
    </aside>
  );
}
