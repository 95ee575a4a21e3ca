import { useMemo } from "react";
import { useQuery } from "../api.js";
import { cellKey, formatBytes, heatmap, intensity } from "../flows-model.js";
import { FLOW_GROUPS, FLOWS_PAGE, type FlowGroup, type FlowRow } from "../queries.js";
import { useLocation } from "../router.js";

function PairTable({ rows, label }: { rows: FlowRow[]; label: string }) {
  if (rows.length === 0) return <p className="muted small">No {label.toLowerCase()} in this window.</p>;
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Source</th>
          <th scope="col">Destination</th>
          <th scope="col" className="num">
            Bytes
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={cellKey(r.source, r.destination)}>
            <td>{r.source}</td>
            <td>{r.destination}</td>
            <td className="num">{formatBytes(r.bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Network flows: a source × destination heatmap at the chosen grouping (URL `group`), a cell's
 * figures on click (URL `cell`), top talkers, inter-zone and inter-region traffic.
 */
export function FlowsPage() {
  const loc = useLocation();
  const raw = loc.params.get("group") ?? "ADDRESS";
  const group: FlowGroup = (FLOW_GROUPS as readonly string[]).includes(raw) ? (raw as FlowGroup) : "ADDRESS";
  const vars = { ...loc.window, groupBy: group };
  const res = useQuery(FLOWS_PAGE, vars, JSON.stringify(vars));
  const data = res.state === "done" ? res.data : null;
  const hm = useMemo(() => heatmap(data?.flowMatrix.rows ?? []), [data]);
  const cell = loc.params.get("cell") ?? "";
  const [cs, cd] = cell.split("→");
  const picked = cell ? hm.cells.get(cellKey(cs, cd)) : undefined;
  return (
    <section className="flows-page">
      <h1>Network flows</h1>
      <div className="map-tools">
        <label>
          Group by
          <select
            aria-label="Group flows by"
            value={group}
            onChange={(e) => loc.setParams({ group: e.target.value, cell: null }, { push: true })}
          >
            {FLOW_GROUPS.map((g) => (
              <option key={g} value={g}>
                {g.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
      </div>
      {res.state === "loading" && <p className="muted">Loading flows…</p>}
      {res.state === "error" && (
        <p role="alert" className="error">
          Could not load flows: {res.error}
        </p>
      )}
      {data && hm.sources.length === 0 && <p className="muted">No flows in this window.</p>}
      {data && hm.sources.length > 0 && (
        <div className="flows-grid">
          <div className="heatmap-wrap">
            <table
              className="heatmap"
              aria-label="Bytes from source (rows) to destination (columns)"
              data-testid="flow-matrix"
            >
              <thead>
                <tr>
                  <th scope="col">source \ destination</th>
                  {hm.destinations.map((d) => (
                    <th scope="col" key={d} className="col-head">
                      <span>{d}</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {hm.sources.map((s) => (
                  <tr key={s}>
                    <th scope="row">{s}</th>
                    {hm.destinations.map((d) => {
                      const c = hm.cells.get(cellKey(s, d));
                      if (!c) return <td key={d} className="cell empty" />;
                      const a = intensity(c.bytes, hm.max);
                      return (
                        <td key={d} className="cell">
                          <button
                            type="button"
                            data-testid="flow-cell"
                            aria-pressed={picked === c}
                            aria-label={`${s} to ${d}: ${formatBytes(c.bytes)}`}
                            title={`${s} → ${d}: ${formatBytes(c.bytes)}`}
                            style={{
                              background: `rgb(47 95 208 / ${a})`,
                              color: a > 0.55 ? "#fff" : undefined,
                            }}
                            onClick={() => loc.setParams({ cell: `${s}→${d}` })}
                          >
                            {formatBytes(c.bytes)}
                          </button>
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <aside className="details" aria-label="Flow details" data-testid="flow-details">
            {picked ? (
              <>
                <h2>
                  {picked.source} → {picked.destination}
                </h2>
                <dl className="facts">
                  <dt>Bytes</dt>
                  <dd>{formatBytes(picked.bytes)}</dd>
                  <dt>Packets</dt>
                  <dd>{picked.packets}</dd>
                  <dt>Flows</dt>
                  <dd>{picked.flows}</dd>
                  <dt>Reverse</dt>
                  <dd>{formatBytes(hm.cells.get(cellKey(picked.destination, picked.source))?.bytes ?? 0)}</dd>
                </dl>
              </>
            ) : (
              <p className="muted">Pick a cell for its figures.</p>
            )}
            <h3>Top talkers</h3>
            <table aria-label="Top talkers">
              <tbody>
                {data.topTalkers.map((t) => (
                  <tr key={t.name}>
                    <th scope="row">{t.name}</th>
                    <td className="num">{formatBytes(t.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </aside>
        </div>
      )}
      {data && (
        <div className="two-col">
          <div>
            <h3>Inter-zone traffic</h3>
            <PairTable rows={data.interZoneTraffic.rows} label="Inter-zone traffic" />
          </div>
          <div>
            <h3>Inter-region traffic</h3>
            <PairTable rows={data.interRegionTraffic.rows} label="Inter-region traffic" />
          </div>
        </div>
      )}
    </section>
  );
}
