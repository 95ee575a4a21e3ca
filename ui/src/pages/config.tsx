import { useState } from "react";
import { useQuery } from "../api.js";
import { formatTime } from "../format.js";
import { CONFIG_CHANGES, CONFIG_DIFF, CONFIG_HISTORY, CONFIG_RESOURCES, WHO_HAD } from "../queries.js";
import { useLocation } from "../router.js";

const COLLECTIONS = [
  "instances",
  "securityGroups",
  "loadBalancers",
  "autoScalingGroups",
  "addresses",
  "networkInterfaces",
  "iamRoles",
];

/** Side-by-side structural diff of two versions (the server's line model). */
function Diff({ type, id, from, to }: { type: string; id: string; from: string; to: string }) {
  const vars = { type, id, from: from || undefined, to: to || undefined };
  const d = useQuery(CONFIG_DIFF, vars, JSON.stringify(vars));
  if (d.state === "loading") return <p className="muted">Diffing…</p>;
  if (d.state === "error") return <p className="error">{d.error}</p>;
  const diff = d.data.resource?.diff;
  if (!diff) return <p className="muted">Nothing to compare.</p>;
  return (
    <table className="diff mono" aria-label="Differences between the two versions" data-testid="config-diff">
      <thead>
        <tr>
          <th scope="col">{diff.from ? formatTime(diff.from) : "(none)"}</th>
          <th scope="col">{diff.to ? formatTime(diff.to) : "(none)"}</th>
        </tr>
      </thead>
      <tbody>
        {diff.sideBySide.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines have no identity beyond their position.
          <tr key={i} className={`diff-${l.change}`}>
            <td>{l.left ?? ""}</td>
            <td>{l.right ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Config history: resources of a collection live at the end of the time range, a resource's
 * versions, a diff of any two (URL `a`, `b`), the changes feed of the range, and who held an IP.
 */
export function ConfigPage() {
  const loc = useLocation();
  const p = loc.params;
  const type = p.get("type") ?? "securityGroups";
  const id = p.get("id") ?? "";
  const res = useQuery(CONFIG_RESOURCES, { type, at: loc.window.to }, `${type}|${loc.window.to}`);
  const hist = useQuery(id ? CONFIG_HISTORY : null, { type, id }, `${type}|${id}`);
  const changes = useQuery(
    CONFIG_CHANGES,
    { since: loc.window.from, until: loc.window.to },
    `${loc.window.from}|${loc.window.to}`,
  );
  const versions = hist.state === "done" ? (hist.data.resource?.versions ?? []) : [];
  const a = p.get("a") ?? (versions.length > 1 ? versions[versions.length - 2].at : "");
  const b = p.get("b") ?? (versions.length > 0 ? versions[versions.length - 1].at : "");
  const [ip, setIp] = useState(p.get("ip") ?? "");
  const who = useQuery(
    p.get("ip") ? WHO_HAD : null,
    { ip: p.get("ip"), at: loc.window.to },
    `${p.get("ip")}|${loc.window.to}`,
  );
  return (
    <section className="config-page">
      <h1>Config history</h1>
      <div className="map-tools">
        <label>
          Collection
          <input
            list="collections"
            aria-label="Collection"
            defaultValue={type}
            onChange={(e) =>
              e.target.value && loc.setParams({ type: e.target.value, id: null, a: null, b: null })
            }
          />
          <datalist id="collections">
            {COLLECTIONS.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            loc.setParams({ ip }, { push: true });
          }}
        >
          <label>
            Who had IP{" "}
            <input
              aria-label="IP address"
              value={ip}
              placeholder="10.0.0.12"
              onChange={(e) => setIp(e.target.value)}
            />
          </label>{" "}
          <button type="submit">Look up</button>
        </form>
      </div>
      {who.state === "done" && (
        <p data-testid="who-had">
          At {formatTime(loc.window.to)}, {p.get("ip")} was held by{" "}
          {who.data.whoHad.length
            ? who.data.whoHad.map((h) => `${h.type}/${h.id} (${h.account}, ${h.region})`).join(", ")
            : "nobody recorded"}
          .
        </p>
      )}
      <div className="canary-grid">
        <aside className="details" aria-label="Resources">
          <h2>
            {type} at {formatTime(loc.window.to)}
          </h2>
          {res.state === "error" && <p className="error">{res.error}</p>}
          {res.state === "done" && res.data.resources.length === 0 && (
            <p className="muted small">None live.</p>
          )}
          <ul className="run-list">
            {res.state === "done" &&
              res.data.resources.map((r) => (
                <li key={`${r.account}/${r.region}/${r.id}`}>
                  <button
                    type="button"
                    data-testid="config-resource"
                    aria-current={r.id === id ? "true" : undefined}
                    onClick={() => loc.setParams({ id: r.id, a: null, b: null }, { push: true })}
                  >
                    {r.id} <span className="muted small">{r.region}</span>
                  </button>
                </li>
              ))}
          </ul>
        </aside>
        <div>
          {!id && <p className="muted">Pick a resource for its versions.</p>}
          {id && (
            <>
              <h2>
                {type}/{id}: {versions.length} version{versions.length === 1 ? "" : "s"}
              </h2>
              <table aria-label="Versions" data-testid="config-versions">
                <thead>
                  <tr>
                    <th scope="col">From</th>
                    <th scope="col">Until</th>
                    <th scope="col">A</th>
                    <th scope="col">B</th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v) => (
                    <tr key={v.at}>
                      <td>
                        {formatTime(v.at)} {v.deleted && <span className="error">deleted</span>}
                      </td>
                      <td>{v.until ? formatTime(v.until) : "now"}</td>
                      <td>
                        <input
                          type="radio"
                          name="a"
                          aria-label={`Compare from ${v.at}`}
                          checked={a === v.at}
                          onChange={() => loc.setParams({ a: v.at, b })}
                        />
                      </td>
                      <td>
                        <input
                          type="radio"
                          name="b"
                          aria-label={`Compare to ${v.at}`}
                          checked={b === v.at}
                          onChange={() => loc.setParams({ a, b: v.at })}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {versions.length > 0 && <Diff type={type} id={id} from={a} to={b} />}
            </>
          )}
          <h3>Changes in the range</h3>
          {changes.state === "done" && changes.data.changes.length === 0 && (
            <p className="muted small">No changes recorded.</p>
          )}
          <ul>
            {changes.state === "done" &&
              changes.data.changes.slice(-100).map((c) => (
                <li key={`${c.type}/${c.id}/${c.at}`}>
                  {formatTime(c.at)} · {c.kind} · {c.type}/{c.id}
                </li>
              ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
