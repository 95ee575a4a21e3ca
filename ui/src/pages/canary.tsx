import { useState } from "react";
import { gql, useQuery } from "../api.js";
import { formatTime } from "../format.js";
import { CANARY_RUN, CANARY_RUNS, START_CANARY } from "../queries.js";
import { useLocation } from "../router.js";
import { CanaryChart } from "./canary-chart.js";

const CLASSES = ["", "High", "Low", "Pass", "Nodata", "NodataFailMetric", "Error"] as const;

function Verdict({ v }: { v: string | null }) {
  return <span className={`verdict verdict-${(v ?? "none").toLowerCase()}`}>{v ?? "—"}</span>;
}

/**
 * Canary report. URL state: `run` (the run shown), `cls` (classification filter), `metric`
 * (the metric whose series is drawn). Runs are started with the global time range and service.
 */
export function CanaryPage() {
  const loc = useLocation();
  const runId = loc.params.get("run") ?? "";
  const cls = loc.params.get("cls") ?? "";
  const metricName = loc.params.get("metric") ?? "";
  const [form, setForm] = useState({ service: loc.service, baseline: "", canary: "" });
  const [starting, setStarting] = useState<string | null>(null);
  const [nonce, setNonce] = useState(0);
  const runs = useQuery(CANARY_RUNS, { service: loc.service || undefined }, `${loc.service}|${nonce}`);
  const run = useQuery(runId ? CANARY_RUN : null, { id: runId }, runId);
  const r = run.state === "done" ? run.data.canaryRun : null;
  const metrics = r ? r.metrics.filter((m) => !cls || m.classification === cls) : [];
  const metric = r?.metrics.find((m) => m.name === metricName);

  const start = async () => {
    setStarting("Running the analysis…");
    try {
      const res = await gql(START_CANARY, { ...form, ...loc.window });
      setStarting(null);
      setNonce(nonce + 1);
      loc.setParams({ run: res.canaryAnalysis.id, metric: null }, { push: true });
    } catch (e) {
      setStarting(`Could not start: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return (
    <section className="canary-page">
      <h1>Canary report</h1>
      <div className="canary-grid">
        <aside className="details" aria-label="Canary runs">
          <form
            className="canary-form"
            aria-label="Start a canary run"
            onSubmit={(e) => {
              e.preventDefault();
              void start();
            }}
          >
            <h2>Start a run</h2>
            <label>
              Service{" "}
              <input
                required
                value={form.service}
                onChange={(e) => setForm({ ...form, service: e.target.value })}
              />
            </label>
            <label>
              Baseline version{" "}
              <input
                required
                value={form.baseline}
                onChange={(e) => setForm({ ...form, baseline: e.target.value })}
              />
            </label>
            <label>
              Canary version{" "}
              <input
                required
                value={form.canary}
                onChange={(e) => setForm({ ...form, canary: e.target.value })}
              />
            </label>
            <button type="submit" className="primary" disabled={starting === "Running the analysis…"}>
              Analyse the time range
            </button>
            {starting && <p role="status">{starting}</p>}
          </form>
          <h3>Past runs</h3>
          {runs.state === "done" && runs.data.canaryRuns.length === 0 && (
            <p className="muted small">No runs yet.</p>
          )}
          <ul className="run-list">
            {runs.state === "done" &&
              runs.data.canaryRuns.map((x) => (
                <li key={x.id}>
                  <button
                    type="button"
                    aria-current={x.id === runId ? "true" : undefined}
                    onClick={() => loc.setParams({ run: x.id, metric: null }, { push: true })}
                    data-testid="canary-run"
                  >
                    <Verdict v={x.verdict} /> {x.service} · {x.score.toFixed(0)} ·{" "}
                    <span className="muted small">{formatTime(x.from)}</span>
                  </button>
                </li>
              ))}
          </ul>
        </aside>
        <div>
          {!runId && <p className="muted">Pick a run, or start one for the current time range.</p>}
          {run.state === "error" && (
            <p role="alert" className="error">
              {run.error}
            </p>
          )}
          {run.state === "done" && !r && <p className="muted">No run {runId}.</p>}
          {r && (
            <article data-testid="canary-report">
              <div className="verdict-head">
                <Verdict v={r.verdict} />
                <span className="score">
                  <span className="sr-only">Score </span>
                  {r.score.toFixed(0)}
                </span>
                <span className="muted">
                  {r.service} · {r.status} · {formatTime(r.from)} → {formatTime(r.to)}
                </span>
              </div>
              {r.error && <p className="error">{r.error}</p>}
              <ul>
                {r.reasons.map((why) => (
                  <li key={why}>{why}</li>
                ))}
              </ul>
              <h3>Groups</h3>
              <p>
                {r.groups.map((g) => (
                  <span key={g.name} className="chip">
                    {g.name}: {g.score === null ? "—" : g.score.toFixed(0)} (weight{" "}
                    {Number(g.weight.toFixed(1))})
                  </span>
                ))}
              </p>
              {r.zones.length > 0 && (
                <>
                  <h3>Zones</h3>
                  <table className="results zones" aria-label="Verdict per zone" data-testid="canary-zones">
                    <thead>
                      <tr>
                        <th scope="col">Zone</th>
                        <th scope="col">Verdict</th>
                        <th scope="col">Score</th>
                        <th scope="col">Worst metric</th>
                      </tr>
                    </thead>
                    <tbody>
                      {r.zones.map((z) => {
                        const worst = z.metrics.find(
                          (m) => m.classification === "High" || m.classification === "Low",
                        );
                        return (
                          <tr key={z.zone}>
                            <td>
                              <button
                                type="button"
                                className="link"
                                onClick={() => loc.setParams({ zone: z.zone })}
                              >
                                {z.zone}
                              </button>
                            </td>
                            <td>{z.verdict}</td>
                            <td className="num">{z.score.toFixed(0)}</td>
                            <td>{worst ? `${worst.name} (${worst.classification})` : "—"}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </>
              )}
              <label>
                Classification{" "}
                <select
                  aria-label="Filter by classification"
                  value={cls}
                  onChange={(e) => loc.setParams({ cls: e.target.value })}
                >
                  {CLASSES.map((c) => (
                    <option key={c} value={c}>
                      {c || "all"}
                    </option>
                  ))}
                </select>
              </label>
              <table className="canary-metrics" aria-label="Metrics">
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col">Result</th>
                    <th scope="col">Explanation</th>
                  </tr>
                </thead>
                <tbody>
                  {metrics.map((m) => (
                    <tr key={m.name} className={m.name === metricName ? "selected" : undefined}>
                      <th scope="row">
                        <button
                          type="button"
                          className="link"
                          onClick={() => loc.setParams({ metric: m.name })}
                          data-testid="canary-metric"
                        >
                          {m.name}
                        </button>
                        {m.critical && (
                          <span className="critical" title="Critical: failing it fails the run">
                            {" "}
                            critical
                          </span>
                        )}
                        <div className="muted small">{m.group}</div>
                      </th>
                      <td className={`cls cls-${m.classification.toLowerCase()}`}>{m.classification}</td>
                      <td>{m.explanation}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {metric && (
                <CanaryChart
                  runId={r.id}
                  metric={metric}
                  zone={loc.params.get("zone")}
                  onZone={(z) => loc.setParams({ zone: z })}
                />
              )}
            </article>
          )}
        </div>
      </div>
    </section>
  );
}
