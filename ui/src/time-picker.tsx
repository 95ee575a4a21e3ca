import { useEffect, useId, useRef, useState } from "react";
import { useLocation } from "./router.js";
import { RELATIVE_RANGES } from "./url.js";

/** "2026-11-28T22:40" for a datetime-local input, in local time. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The global time range: a relative range ("last 1h") or an absolute from/to, kept in the URL. */
export function TimePicker() {
  const loc = useLocation();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(() => toLocalInput(loc.window.from));
  const [to, setTo] = useState(() => toLocalInput(loc.window.to));
  const panelId = useId();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    setFrom(toLocalInput(loc.window.from));
    setTo(toLocalInput(loc.window.to));
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    const onClick = (e: MouseEvent) =>
      ref.current && !ref.current.contains(e.target as Node) && setOpen(false);
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open, loc.window.from, loc.window.to]);
  const label =
    loc.range.kind === "relative"
      ? `Last ${loc.range.last}`
      : `${toLocalInput(loc.range.from).replace("T", " ")} → ${toLocalInput(loc.range.to).replace("T", " ")}`;
  return (
    <div className="picker" ref={ref}>
      <button
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
        aria-label={`Time range: ${label}`}
      >
        {label}
      </button>
      <button type="button" className="icon" onClick={loc.refresh} aria-label="Refresh to now">
        ⟳
      </button>
      {open && (
        <div className="picker-panel" id={panelId} role="dialog" aria-label="Time range">
          <div className="relative-list">
            {RELATIVE_RANGES.map((r) => (
              <button
                type="button"
                key={r}
                aria-pressed={loc.range.kind === "relative" && loc.range.last === r}
                onClick={() => {
                  loc.setRange({ kind: "relative", last: r });
                  setOpen(false);
                }}
              >
                Last {r}
              </button>
            ))}
          </div>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const f = new Date(from);
              const t = new Date(to);
              if (Number.isNaN(f.getTime()) || Number.isNaN(t.getTime()) || f >= t) return;
              loc.setRange({ kind: "absolute", from: f.toISOString(), to: t.toISOString() });
              setOpen(false);
            }}
          >
            <label>
              From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
            </label>
            <label>
              To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            </label>
            <button type="submit">Apply</button>
          </form>
        </div>
      )}
    </div>
  );
}
