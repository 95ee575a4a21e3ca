import { useState } from "react";
import { type Loadable, useQuery } from "../api.js";
import { formatTime } from "../format.js";
import {
  CONFIG_CHANGES,
  type ConfigChangeRow,
  type ConfigResourceRow,
  OPEN_TO_WORLD,
  WHO_HAD,
} from "../queries.js";
import { Link, useLocation } from "../router.js";
import { hrefWithGlobals } from "../url.js";

/** The saved questions, in the order the page lists them. */
const QUESTIONS = [
  { id: "open", title: "Security groups open to the world on a port" },
  { id: "who", title: "Who had an IP address at a time" },
  { id: "changes", title: "What changed recently" },
] as const;
type Question = (typeof QUESTIONS)[number]["id"];

/** datetime-local text for an instant (local time, to the minute). */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/**
 * Security queries over config history: saved questions with their parameters in the URL
 * (`q`, `port`, `ip`, `at`, `hours`), answered by the config-history GraphQL fields (resources
 * with a filter, whoHad, changes). `at` defaults to now.
 */
export default function SecurityPage() {
  const loc = useLocation();
  const p = loc.params;
  const q = (QUESTIONS.find((x) => x.id === p.get("q"))?.id ?? "open") as Question;
  return (
    <section className="security-page">
      <h1>Security queries</h1>
      <p className="muted">
        Saved questions over the recorded configuration history.{" "}
        <Link href={hrefWithGlobals("/config", loc.params)}>Browse config history</Link>.
      </p>
      <nav className="tabs" aria-label="Saved questions">
        {QUESTIONS.map((x) => (
          <Link
            key={x.id}
            href={hrefWithGlobals("/security", loc.params, { q: x.id })}
            aria-current={x.id === q ? "page" : undefined}
          >
            {x.title}
          </Link>
        ))}
      </nav>
      {q === "open" && <OpenPort />}
      {q === "who" && <WhoHad />}
      {q === "changes" && <Changes />}
    </section>
  );
}

function atParam(p: URLSearchParams): string | undefined {
  const at = p.get("at");
  return at && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : undefined;
}

function OpenPort() {
  const loc = useLocation();
  const port = Number(loc.params.get("port") ?? "22");
  const at = atParam(loc.params);
  const [form, setForm] = useState({ port: String(port), at: at ? localInput(Date.parse(at)) : "" });
  const ok = Number.isInteger(port) && port >= 0 && port <= 65535;
  const result = useQuery(ok ? OPEN_TO_WORLD : null, { port, at }, `${port}|${at}`);
  return (
    <>
      <form
        className="search-form"
        aria-label="Open to the world"
        onSubmit={(e) => {
          e.preventDefault();
          loc.setParams(
            { port: form.port, at: form.at ? new Date(form.at).toISOString() : null },
            { push: true },
          );
        }}
      >
        <label>
          Port
          <input
            type="number"
            min={0}
            max={65535}
            value={form.port}
            onChange={(e) => setForm({ ...form, port: e.target.value })}
          />
        </label>
        <label>
          At (empty: now)
          <input
            type="datetime-local"
            value={form.at}
            onChange={(e) => setForm({ ...form, at: e.target.value })}
          />
        </label>
        <button type="submit" className="primary">
          Ask
        </button>
      </form>
      <p className="muted small">
        Security groups with one rule that allows 0.0.0.0/0 and whose port range covers the port.
      </p>
      <Answer
        result={result}
        empty={`No security group is open to the world on port ${port}.`}
        rows={(d) => d.resources}
        render={(r: ConfigResourceRow) => (
          <>
            <td>
              <Link href={hrefWithGlobals("/config", loc.params, { type: r.type, id: r.id })}>{r.id}</Link>
            </td>
            <td>{r.account}</td>
            <td>{r.region}</td>
            <td>{formatTime(r.since)}</td>
          </>
        )}
        head={["Security group", "Account", "Region", "Version since"]}
      />
    </>
  );
}

function WhoHad() {
  const loc = useLocation();
  const ip = loc.params.get("ip") ?? "";
  const at = atParam(loc.params) ?? loc.window.to;
  const shown = localInput(Date.parse(at));
  const [form, setForm] = useState({ ip, at: shown });
  const result = useQuery(ip ? WHO_HAD : null, { ip, at }, `${ip}|${at}`);
  // The field shows minutes only: an untouched field keeps the exact instant (or "now"), so an
  // address taken seconds ago is found.
  const atChosen = () => (form.at === shown ? atParam(loc.params) : new Date(form.at).toISOString());
  return (
    <>
      <form
        className="search-form"
        aria-label="Who had an IP"
        onSubmit={(e) => {
          e.preventDefault();
          loc.setParams({ ip: form.ip.trim(), at: atChosen() }, { push: true });
        }}
      >
        <label>
          IP address
          <input
            value={form.ip}
            onChange={(e) => setForm({ ...form, ip: e.target.value })}
            placeholder="10.0.0.12"
          />
        </label>
        <label>
          At
          <input
            type="datetime-local"
            value={form.at}
            onChange={(e) => setForm({ ...form, at: e.target.value })}
          />
        </label>
        <button type="submit" className="primary">
          Ask
        </button>
      </form>
      {ip && (
        <Answer
          result={result}
          empty={`Nothing recorded held ${ip} then.`}
          rows={(d) => d.whoHad}
          render={(r: ConfigResourceRow) => (
            <>
              <td>
                {r.type}/{r.id}
              </td>
              <td>{r.account}</td>
              <td>{r.region}</td>
              <td>{formatTime(r.since)}</td>
            </>
          )}
          head={["Holder", "Account", "Region", "Holding since"]}
        />
      )}
    </>
  );
}

function Changes() {
  const loc = useLocation();
  const hours = Math.min(24 * 30, Math.max(1, Number(loc.params.get("hours")) || 24));
  const until = loc.window.to;
  const since = new Date(Date.parse(until) - hours * 3_600_000).toISOString();
  const result = useQuery(CONFIG_CHANGES, { since, until }, `${since}|${until}`);
  return (
    <>
      <form className="search-form" aria-label="Changes" onSubmit={(e) => e.preventDefault()}>
        <label>
          In the last
          <select
            value={String(hours)}
            onChange={(e) => loc.setParams({ hours: e.target.value }, { push: true })}
            aria-label="Hours"
          >
            {[1, 6, 24, 72, 168].map((h) => (
              <option key={h} value={h}>
                {h < 24 ? `${h} h` : `${h / 24} d`}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Answer
        result={result}
        empty="No configuration changed in this time."
        rows={(d) => [...d.changes].reverse()}
        render={(r: ConfigChangeRow) => (
          <>
            <td>{formatTime(r.at)}</td>
            <td>
              <Link href={hrefWithGlobals("/config", loc.params, { type: r.type, id: r.id })}>
                {r.type}/{r.id}
              </Link>
            </td>
            <td>{r.kind}</td>
            <td>
              {r.account} · {r.region}
            </td>
          </>
        )}
        head={["When", "Resource", "Change", "Where"]}
      />
    </>
  );
}

function Answer<D, R>({
  result,
  empty,
  rows,
  render,
  head,
}: {
  result: Loadable<D>;
  empty: string;
  rows(d: D): R[];
  render(r: R): React.ReactNode;
  head: string[];
}) {
  if (result.state === "loading") return <p className="muted">Asking…</p>;
  if (result.state === "error")
    return (
      <p role="alert" className="error">
        The question failed: {result.error}
      </p>
    );
  const list = rows(result.data);
  if (list.length === 0) return <p data-testid="security-answer">{empty}</p>;
  return (
    <table className="results" data-testid="security-answer">
      <caption className="sr-only">Answer</caption>
      <thead>
        <tr>
          {head.map((h) => (
            <th key={h} scope="col">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {list.map((r, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: answers are read-only lists re-rendered whole.
          <tr key={i}>{render(r)}</tr>
        ))}
      </tbody>
    </table>
  );
}
