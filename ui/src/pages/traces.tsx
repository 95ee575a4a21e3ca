import { useState } from "react";
import { useQuery } from "../api.js";
import { formatDuration, formatTime, normaliseDuration } from "../format.js";
import { OPERATIONS, SEARCH_TRACES } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals, parseAttributeFilters } from "../url.js";
import { serviceColour } from "../waterfall.js";
import { Scatter } from "./scatter.js";

const STATUSES = ["", "ERROR", "OK", "UNSET"] as const;

/** Trace search: the form's fields are URL parameters (op, attrs, min, max, status, limit). */
export function TracesPage() {
  const loc = useLocation();
  const p = loc.params;
  const [form, setForm] = useState(() => ({
    op: p.get("op") ?? "",
    attrs: p.get("attrs") ?? "",
    min: p.get("min") ?? "",
    max: p.get("max") ?? "",
    status: p.get("status") ?? "",
    limit: p.get("limit") ?? "50",
  }));
  const ops = useQuery(
    loc.service ? OPERATIONS : null,
    { service: loc.service, ...loc.window },
    `${loc.service}|${loc.window.from}`,
  );
  const attributes = parseAttributeFilters(p.get("attrs") ?? "");
  const filter = {
    service: loc.service || undefined,
    environment: loc.environment || undefined,
    operation: p.get("op") || undefined,
    status: STATUSES.find((s): s is Exclude<typeof s, ""> => s !== "" && s === p.get("status")),
    attributes: attributes.length ? attributes : undefined,
    minDuration: normaliseDuration(p.get("min") ?? "") ?? undefined,
    maxDuration: normaliseDuration(p.get("max") ?? "") ?? undefined,
    from: loc.window.from,
    to: loc.window.to,
  };
  const first = Math.min(500, Math.max(1, Number(p.get("limit")) || 50));
  const result = useQuery(SEARCH_TRACES, { filter, first }, JSON.stringify([filter, first]));
  const badMin = form.min !== "" && normaliseDuration(form.min) === null;
  const badMax = form.max !== "" && normaliseDuration(form.max) === null;
  const traces = result.state === "done" ? result.data.traces.edges.map((e) => e.node) : [];
  const open = (id: string) => loc.navigate(hrefWithGlobals(`/trace/${id}`, loc.params));
  // Two traces picked for comparison (the latest two clicks).
  const [picked, setPicked] = useState<string[]>([]);
  const pick = (id: string, on: boolean) =>
    setPicked((cur) => (on ? [...cur.filter((x) => x !== id), id].slice(-2) : cur.filter((x) => x !== id)));

  return (
    <section className="traces-page">
      <h1>Traces</h1>
      <form
        className="search-form"
        aria-label="Trace search"
        onSubmit={(e) => {
          e.preventDefault();
          if (badMin || badMax) return;
          loc.setParams(form, { push: true });
        }}
      >
        <label>
          Service
          <input value={loc.service || "All (filter above)"} readOnly aria-readonly="true" tabIndex={-1} />
        </label>
        <label>
          Operation
          <input
            name="operation"
            list="operations"
            value={form.op}
            placeholder="any"
            onChange={(e) => setForm({ ...form, op: e.target.value })}
          />
          <datalist id="operations">
            {ops.state === "done" &&
              ops.data.operations.map((o) => <option key={`${o.name}|${o.kind}`} value={o.name} />)}
          </datalist>
        </label>
        <label className="wide">
          Attributes <small>(key=value, comma separated)</small>
          <input
            name="attributes"
            value={form.attrs}
            placeholder="http.status_code=500, user.id"
            onChange={(e) => setForm({ ...form, attrs: e.target.value })}
          />
        </label>
        <label>
          Min duration
          <input
            name="minDuration"
            value={form.min}
            placeholder="e.g. 100ms"
            aria-invalid={badMin}
            onChange={(e) => setForm({ ...form, min: e.target.value })}
          />
        </label>
        <label>
          Max duration
          <input
            name="maxDuration"
            value={form.max}
            placeholder="e.g. 2s"
            aria-invalid={badMax}
            onChange={(e) => setForm({ ...form, max: e.target.value })}
          />
        </label>
        <label>
          Status
          <select
            name="status"
            value={form.status}
            onChange={(e) => setForm({ ...form, status: e.target.value })}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Limit
          <input
            name="limit"
            type="number"
            min={1}
            max={500}
            value={form.limit}
            onChange={(e) => setForm({ ...form, limit: e.target.value })}
          />
        </label>
        <button type="submit" className="primary">
          Find traces
        </button>
      </form>
      {result.state === "loading" && <p className="muted">Searching…</p>}
      {result.state === "error" && (
        <p role="alert" className="error">
          Search failed: {result.error}
        </p>
      )}
      {result.state === "done" && (
        <>
          <p className="muted" aria-live="polite">
            {traces.length} trace{traces.length === 1 ? "" : "s"}
            {result.data.traces.pageInfo.hasNextPage ? " (more available: raise the limit)" : ""}
          </p>
          {traces.length > 0 && <Scatter traces={traces} onOpen={open} />}
          {traces.length > 1 && (
            <p className="compare-bar">
              <button
                type="button"
                disabled={picked.length !== 2}
                onClick={() =>
                  loc.navigate(hrefWithGlobals("/compare", loc.params, { a: picked[0], b: picked[1] }))
                }
              >
                Compare selected ({picked.length}/2)
              </button>
            </p>
          )}
          <table className="results">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">Compare</span>
                </th>
                <th scope="col">Root</th>
                <th scope="col">Services</th>
                <th scope="col">Spans</th>
                <th scope="col">Errors</th>
                <th scope="col">Duration</th>
                <th scope="col">Start</th>
              </tr>
            </thead>
            <tbody>
              {traces.map((t) => (
                <tr key={t.traceId} className={t.errorCount > 0 ? "has-error" : undefined}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Compare ${t.rootServiceName ?? "?"} ${t.rootOperation ?? ""} ${t.traceId}`}
                      checked={picked.includes(t.traceId)}
                      onChange={(e) => pick(t.traceId, e.target.checked)}
                    />
                  </td>
                  <td>
                    <Link href={hrefWithGlobals(`/trace/${t.traceId}`, loc.params)} data-testid="trace-link">
                      <strong>{t.rootServiceName ?? "?"}</strong> {t.rootOperation ?? "(root not received)"}
                    </Link>
                    <div className="mono muted small">{t.traceId}</div>
                  </td>
                  <td>
                    {t.services.map((s) => (
                      <span key={s} className="chip" style={{ borderColor: serviceColour(s) }}>
                        {s}
                      </span>
                    ))}
                  </td>
                  <td className="num">{t.spanCount}</td>
                  <td className="num">
                    {t.errorCount > 0 ? <span className="error">{t.errorCount}</span> : 0}
                  </td>
                  <td className="num">{formatDuration(t.duration)}</td>
                  <td>{formatTime(t.startTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
