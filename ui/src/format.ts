/** Display formatting for nanosecond durations and times (pure). */

/** "1.25 s", "340 ms", "12.5 µs", "800 ns" from nanoseconds (string or number). */
export function formatDuration(ns: string | number | bigint | null | undefined): string {
  if (ns === null || ns === undefined) return "–";
  const n = Number(ns);
  if (!Number.isFinite(n)) return "–";
  const abs = Math.abs(n);
  if (abs >= 60e9) return `${trim(n / 60e9)} min`;
  if (abs >= 1e9) return `${trim(n / 1e9)} s`;
  if (abs >= 1e6) return `${trim(n / 1e6)} ms`;
  if (abs >= 1e3) return `${trim(n / 1e3)} µs`;
  return `${n} ns`;
}

function trim(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Local date-time to the second, e.g. "2026-11-28 22:40:05". */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Parses a user-typed duration ("250ms", "1.5s", "2m") into what the Duration scalar takes, or null. */
export function normaliseDuration(text: string): string | null {
  const t = text.trim();
  if (!t) return null;
  return /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/.test(t) || /^\d+$/.test(t) ? t.replace("µs", "us") : null;
}

/** Percent with one decimal, "0.0%". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Rate per second, compact. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return `${perSecond.toFixed(0)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${(perSecond * 60).toFixed(1)}/min`;
}
