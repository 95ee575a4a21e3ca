import {
  type AnchorHTMLAttributes,
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from "react";
import {
  parseRange,
  parseRoute,
  type Route,
  resolveRange,
  type TimeRange,
  withParams,
  writeRange,
} from "./url.js";

/** The current location, parsed: what every page reads its state from. */
export interface Location {
  route: Route;
  pathname: string;
  params: URLSearchParams;
  range: TimeRange;
  /** The range resolved to absolute times when the location last changed (stable while idle). */
  window: { from: string; to: string };
  service: string;
  /** The environment filter (`env`): a `deployment.environment` value, or "" for all. */
  environment: string;
  navigate(href: string, opts?: { replace?: boolean }): void;
  /** Changes query parameters of the current page (replacing history unless `push`). */
  setParams(changes: Record<string, string | undefined | null>, opts?: { push?: boolean }): void;
  setRange(range: TimeRange): void;
  /** Re-resolves a relative range to "now". */
  refresh(): void;
}

const LocationContext = createContext<Location | null>(null);

function read(): { pathname: string; search: string } {
  return { pathname: window.location.pathname, search: window.location.search };
}

export function RouterProvider({ children }: { children: ReactNode }) {
  const [loc, setLoc] = useState(read);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const onPop = () => {
      setLoc(read());
      setNow(Date.now());
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((href: string, opts?: { replace?: boolean }) => {
    if (opts?.replace) window.history.replaceState(null, "", href);
    else window.history.pushState(null, "", href);
    setLoc(read());
    setNow(Date.now());
  }, []);
  const value = useMemo<Location>(() => {
    const params = new URLSearchParams(loc.search);
    const range = parseRange(params);
    const go = (next: URLSearchParams, push: boolean) => {
      const q = next.toString();
      navigate(q ? `${loc.pathname}?${q}` : loc.pathname, { replace: !push });
    };
    return {
      route: parseRoute(loc.pathname),
      pathname: loc.pathname,
      params,
      range,
      window: resolveRange(range, now),
      service: params.get("service") ?? "",
      environment: params.get("env") ?? "",
      navigate,
      setParams: (changes, opts) => go(withParams(params, changes), opts?.push ?? false),
      setRange: (r) => {
        const next = new URLSearchParams(params);
        writeRange(next, r);
        go(next, true);
      },
      refresh: () => setNow(Date.now()),
    };
  }, [loc, now, navigate]);
  return <LocationContext.Provider value={value}>{children}</LocationContext.Provider>;
}

export function useLocation(): Location {
  const loc = useContext(LocationContext);
  if (!loc) throw new Error("useLocation outside RouterProvider");
  return loc;
}

/** An <a> that navigates inside the app without a reload (modified clicks open normally). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { navigate } = useLocation();
  const { onClick, href, ...rest } = props;
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}
