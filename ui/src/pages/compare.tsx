import { useEffect, useMemo, useState } from "react";
import { gql } from "../api.js";
import { type CompareRow, compareSummary, compareTraces } from "../compare.js";
import { formatDuration } from "../format.js";
import { SPAN_PAGE, TRACE_HEADER, type TraceHeader, waterfallSpan } from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";
import { BLOCK, type WaterfallSpan } from "../waterfall.js";

/** Spans compared per trace at most: the first 20,000 in waterfall order (5 blocks, fetched at once). */
export const COMPARE_CAP = 20_000;

type Loaded =
  | { state: "loading" }
  | { state: "error"; error: string }
  | { state: "missing" }
  | { state: "done"; header: TraceHeader; spans: WaterfallSpan[] };

/** A trace's header and spans (up to COMPARE_CAP), blocks fetched in parallel by offset. */
function useWholeTrace(id: string): Loaded {
  const [result, setResult] = useState<Loaded>({ state: "loading" });
  useEffect(() => {
    let live = true;
    setResult({ state: "loading" });
    (async () => {
      const head = await gql(TRACE_HEADER, { id });
      if (!head.trace) return { state: "missing" } as const;
      const n = Math.min(head.trace.spanCount, COMPARE_CAP);
      const offsets = Array.from({ length: Math.ceil(n / BLOCK) }, (_, i) => i * BLOCK);
      const pages = await Promise.all(offsets.map((offset) => gql(SPAN_PAGE, { id, offset })));
      const spans = pages
        .flatMap((p) => p.trace?.spanPage.edges.map((e) => waterfallSpan(e.node)) ?? [])
        .slice(0, n);
      return { state: "done", header: head.trace, spans } as const;
    })().then(
      (r) => live && setResult(r),
      (err: unknown) =>
        live && setResult({ state: "error", error: err instanceof Error ? err.message : String(err) }),
    );
    return () => {
      live = false;
    };
  }, [id]);
  return result;
}

const VALID = /^[0-9a-f]{32}$/;

/**
 * Two traces side by side (`/compare?a=…&b=…`): spans grouped by service and operation with
 * counts and durations of each, the difference, and what only one of them has.
 */
export default function ComparePage() {
  const loc = useLocation();
  const a = (loc.params.get("a") ?? "").toLowerCase();
  const b = (loc.params.get("b") ?? "").toLowerCase();
  const [form, setForm] = useState({ a, b });
  const [filter, setFilter] = useState<"all" | "changed" | "only">("all");
  const valid = VALID.test(a) && VALID.test(b);
  return (
    <section className="compare-page">
      <h1>Compare traces</h1>
      <form
        className="search-form"
        aria-label="Traces to compare"
        onSubmit={(e) => {
          e.preventDefault();
          loc.setParams({ a: form.a.trim(), b: form.b.trim() }, { push: true });
        }}
      >
        <label>
          Trace A
          <input
            className="mono"
            size={34}
            value={form.a}
            onChange={(e) => setForm({ ...form, a: e.target.value })}
          />
        </label>
        <label>
          Trace B
          <input
            className="mono"
            size={34}
            value={form.b}
            onChange={(e) => setForm({ ...form, b: e.target.value })}
          />
        </label>
        <button type="submit" className="primary">
          Compare
        </button>
      </form>
      {!valid ? (
        <p className="muted">
          Give two trace ids (32 hex characters), or pick two traces in the search results.
        </p>
      ) : (
        <Comparison a={a} b={b} filter={filter} setFilter={setFilter} />
      )}
    </section>
  );
}

function Comparison({
  a,
  b,
  filter,
  setFilter,
}: {
  a: string;
  b: string;
  filter: "all" | "changed" | "only";
  setFilter(f: "all" | "changed" | "only"): void;
}) {
  const loc = useLocation();
  const ta = useWholeTrace(a);
  const tb = useWholeTrace(b);
  const rows = useMemo(
    () => (ta.state === "done" && tb.state === "done" ? compareTraces(ta.spans, tb.spans) : []),
    [ta, tb],
  );
  for (const [label, t, id] of [
    ["A", ta, a],
    ["B", tb, b],
  ] as const) {
    if (t.state === "error")
      return (
        <p role="alert" className="error">
          Could not load trace {label}: {t.error}
        </p>
      );
    if (t.state === "missing")
      return (
        <p role="alert" className="error">
          Trace {label} (<span className="mono">{id}</span>) is not in this tenant.
        </p>
      );
  }
  if (ta.state !== "done" || tb.state !== "done") return <p className="muted">Loading both traces…</p>;
  const summary = compareSummary(rows);
  const shown = rows.filter((r) =>
    filter === "only"
      ? r.only !== null
      : filter === "changed"
        ? r.only !== null || r.a.count !== r.b.count
        : true,
  );
  const head = (label: string, t: typeof ta, id: string) => (
    <div className="compare-head" data-testid={`compare-${label.toLowerCase()}`}>
      <h2>
        {label}:{" "}
        <Link href={hrefWithGlobals(`/trace/${id}`, loc.params)}>
          {t.header.rootSpan ? `${t.header.rootSpan.serviceName} ${t.header.rootSpan.name}` : id}
        </Link>
      </h2>
      <p className="muted">
        <span className="mono">{id}</span> · {formatDuration(t.header.duration)} ·{" "}
        {t.header.spanCount.toLocaleString("en")} spans
        {t.header.spanCount > t.spans.length && ` (first ${t.spans.length.toLocaleString("en")} compared)`}
      </p>
    </div>
  );
  const delta = (ns: number) => (ns === 0 ? "0" : `${ns > 0 ? "+" : "−"}${formatDuration(Math.abs(ns))}`);
  const side = (r: CompareRow, k: "a" | "b") =>
    r[k].count === 0 ? (
      <>
        <td className="num muted">–</td>
        <td className="num muted">–</td>
      </>
    ) : (
      <>
        <td className="num">
          {r[k].count}
          {r[k].errors > 0 && <span className="error"> ({r[k].errors} err)</span>}
        </td>
        <td className="num">{formatDuration(r[k].totalNs)}</td>
      </>
    );
  return (
    <>
      <div className="compare-heads">
        {head("A", ta, a)}
        {head("B", tb, b)}
      </div>
      <p data-testid="compare-summary">
        {summary.both} operations in both · {summary.onlyA} only in A · {summary.onlyB} only in B · duration{" "}
        {delta(Number(BigInt(tb.header.duration) - BigInt(ta.header.duration)))}
      </p>
      <label>
        Show{" "}
        <select
          value={filter}
          onChange={(e) => setFilter(e.target.value as typeof filter)}
          aria-label="Show operations"
        >
          <option value="all">all operations</option>
          <option value="changed">different counts</option>
          <option value="only">only in one trace</option>
        </select>
      </label>
      <table className="results compare" aria-label="Operations compared">
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Operation</th>
            <th scope="col">Spans A</th>
            <th scope="col">Time A</th>
            <th scope="col">Spans B</th>
            <th scope="col">Time B</th>
            <th scope="col">Δ time</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr
              key={`${r.service}\u0000${r.operation}`}
              className={r.only ? `only-${r.only}` : undefined}
              data-testid="compare-row"
            >
              <td>{r.service}</td>
              <td>
                {r.operation}
                {r.only && <span className="chip">only in {r.only.toUpperCase()}</span>}
              </td>
              {side(r, "a")}
              {side(r, "b")}
              <td className={r.deltaNs > 0 ? "num worse" : r.deltaNs < 0 ? "num better" : "num"}>
                {delta(r.deltaNs)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
