import { lazy, Suspense, useEffect, useState } from "react";
import { useQuery } from "./api.js";
import { TracePage } from "./pages/trace.js";
import { TracesPage } from "./pages/traces.js";
import { Unavailable } from "./pages/unavailable.js";
import { ENVIRONMENTS, ROOT_FIELDS, SERVICES } from "./queries.js";
import { Link, useLocation } from "./router.js";
import { SignIn, SignOut, useSignInNeeded } from "./sign-in.js";
import { TimePicker } from "./time-picker.js";
import { hrefWithGlobals } from "./url.js";

/**
 * Only the trace search and trace view are in the first page's bundle (the usual way in); every
 * other page is a chunk of its own, loaded when first visited.
 */
const ComparePage = lazy(() => import("./pages/compare.js"));
const SecurityPage = lazy(() => import("./pages/security.js"));
const MapPage = lazy(() => import("./pages/map.js").then((m) => ({ default: m.MapPage })));
const CanaryPage = lazy(() => import("./pages/canary.js").then((m) => ({ default: m.CanaryPage })));
const ConfigPage = lazy(() => import("./pages/config.js").then((m) => ({ default: m.ConfigPage })));
const FlowsPage = lazy(() => import("./pages/flows.js").then((m) => ({ default: m.FlowsPage })));

const NAV = [
  { path: "/traces", label: "Traces", pages: ["traces", "trace", "compare"] },
  { path: "/map", label: "Service map", pages: ["map"] },
  { path: "/config", label: "Config history", pages: ["config"] },
  { path: "/security", label: "Security", pages: ["security"] },
  { path: "/canary", label: "Canary", pages: ["canary"] },
  { path: "/flows", label: "Network flows", pages: ["flows"] },
] as const;

type Theme = "light" | "dark";

/** Theme: the saved choice, else the system's (prefers-color-scheme). */
function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => {
    const saved = localStorage.getItem("skald.theme");
    if (saved === "light" || saved === "dark") return saved;
    return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  });
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return [
    theme,
    () => {
      const next = theme === "dark" ? "light" : "dark";
      localStorage.setItem("skald.theme", next);
      setTheme(next);
    },
  ];
}

export function App() {
  const loc = useLocation();
  const [theme, toggleTheme] = useTheme();
  const signInNeeded = useSignInNeeded();
  const env = loc.environment;
  const services = useQuery(
    SERVICES,
    { ...loc.window, environment: env || undefined },
    `${loc.window.from}|${loc.window.to}|${env}`,
  );
  const environments = useQuery(ENVIRONMENTS, loc.window, `${loc.window.from}|${loc.window.to}`);
  const roots = useQuery(ROOT_FIELDS, {}, "roots");
  const has = (fields: readonly string[]) =>
    roots.state === "done" &&
    fields.every((f) => (roots.data.__schema.queryType.fields ?? []).some((x) => x.name === f));
  const page = loc.route.page;
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link className="brand" href={hrefWithGlobals("/traces", loc.params)}>
          Skald
        </Link>
        <nav aria-label="Pages">
          {NAV.map((n) => (
            <Link
              key={n.path}
              href={hrefWithGlobals(n.path, loc.params)}
              aria-current={(n.pages as readonly string[]).includes(page) ? "page" : undefined}
            >
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="globals">
          <label>
            <span className="sr-only">Environment filter</span>
            <select
              aria-label="Environment filter"
              value={env}
              onChange={(e) => loc.setParams({ env: e.target.value }, { push: true })}
            >
              <option value="">All environments</option>
              {environments.state === "done" &&
                environments.data.environments.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              {/* the chosen one shows at once, before the list has loaded */}
              {env && !(environments.state === "done" && environments.data.environments.includes(env)) && (
                <option value={env}>{env}</option>
              )}
            </select>
          </label>
          <label>
            <span className="sr-only">Service filter</span>
            <select
              aria-label="Service filter"
              value={loc.service}
              onChange={(e) => loc.setParams({ service: e.target.value }, { push: true })}
            >
              <option value="">All services</option>
              {services.state === "done" &&
                services.data.services.map((s) => (
                  <option key={s.name} value={s.name}>
                    {s.name}
                  </option>
                ))}
              {loc.service &&
                !(
                  services.state === "done" && services.data.services.some((s) => s.name === loc.service)
                ) && <option value={loc.service}>{loc.service}</option>}
            </select>
          </label>
          <TimePicker />
          <button
            type="button"
            className="icon"
            onClick={toggleTheme}
            aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          <SignOut />
        </div>
      </header>
      {signInNeeded && <SignIn />}
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {page === "traces" && <TracesPage />}
          {page === "trace" && loc.route.page === "trace" && <TracePage traceId={loc.route.traceId} />}
          {page === "map" &&
            (roots.state !== "done" ? (
              <p className="muted">Loading…</p>
            ) : has(["serviceMap", "serviceMetrics"]) ? (
              <MapPage />
            ) : (
              <Unavailable title="Service map" api="serviceMap" />
            ))}
          {page === "config" &&
            (roots.state !== "done" ? (
              <p className="muted">Loading…</p>
            ) : has(["resources", "resource", "changes", "whoHad"]) ? (
              <ConfigPage />
            ) : (
              <Unavailable title="Config history" api="config history" />
            ))}
          {page === "canary" &&
            (roots.state !== "done" ? (
              <p className="muted">Loading…</p>
            ) : has(["canaryAnalysis", "canaryRuns", "canaryRun"]) ? (
              <CanaryPage />
            ) : (
              <Unavailable title="Canary report" api="canary analysis" />
            ))}
          {page === "flows" &&
            (roots.state !== "done" ? (
              <p className="muted">Loading…</p>
            ) : has(["flowMatrix", "topTalkers"]) ? (
              <FlowsPage />
            ) : (
              <Unavailable title="Network flows" api="flows" />
            ))}
          {page === "compare" && (
            <Suspense fallback={<p className="muted">Loading…</p>}>
              <ComparePage />
            </Suspense>
          )}
          {page === "security" &&
            (roots.state !== "done" ? (
              <p className="muted">Loading…</p>
            ) : has(["resources", "whoHad", "changes"]) ? (
              <Suspense fallback={<p className="muted">Loading…</p>}>
                <SecurityPage />
              </Suspense>
            ) : (
              <Unavailable title="Security queries" api="config history" />
            ))}
          {page === "notFound" && (
            <section>
              <h1>Not found</h1>
              <p>
                No page at <code>{loc.pathname}</code>. <Link href="/traces">Search traces</Link>.
              </p>
            </section>
          )}
        </Suspense>
      </main>
    </div>
  );
}
