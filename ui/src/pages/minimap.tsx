import { useEffect, useRef, useState } from "react";
import { barOf, type Rows, serviceColour, type WaterfallSpan } from "../waterfall.js";

const WIDTH = 96;

interface Props {
  at: ReadonlyArray<WaterfallSpan | undefined>;
  loaded: readonly WaterfallSpan[];
  rows: Rows;
  startNs: bigint;
  durNs: bigint;
  critical: ReadonlySet<string>;
  firstRow: number;
  lastRow: number;
  onScrollTo(row: number): void;
}

/**
 * The whole trace at a glance beside the waterfall: every row squeezed into the strip's height
 * (time left to right, loaded spans drawn, the critical path on top), with a box for the rows in
 * view. Dragging or clicking moves the waterfall there — which fetches only the blocks it lands
 * on; as a slider it takes ↑/↓, PageUp/PageDown, Home/End.
 */
export function Minimap({
  at,
  loaded,
  rows,
  startNs,
  durNs,
  critical,
  firstRow,
  lastRow,
  onScrollTo,
}: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [height, setHeight] = useState(0);
  const [theme, setTheme] = useState(document.documentElement.dataset.theme);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const el = box.current;
    const resize = new ResizeObserver(() => setHeight(el?.clientHeight ?? 0));
    if (el) resize.observe(el);
    return () => {
      observer.disconnect();
      resize.disconnect();
    };
  }, []);
  const count = Math.max(1, rows.count);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `theme` changes the CSS colours read inside; `loaded` marks new spans in `at`.
  useEffect(() => {
    const c = canvas.current;
    if (!c || height === 0) return;
    const ctx = c.getContext("2d");
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(WIDTH * dpr);
    c.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, WIDTH, height);
    const accent = getComputedStyle(c).getPropertyValue("--fg") || "#000";
    const rowH = Math.max(1, height / count);
    const onPath: Array<[number, number, number]> = [];
    for (let p = 0; p < at.length; p++) {
      const s = at[p];
      if (!s) continue;
      const r = rows.rowOf(p);
      if (r < 0) continue;
      const bar = barOf(s, startNs, durNs, 0.01);
      const y = (r / count) * height;
      if (critical.has(s.spanId)) onPath.push([bar.left, bar.width, y]);
      ctx.fillStyle = s.status.code === "ERROR" ? "#d62728" : serviceColour(s.serviceName);
      ctx.fillRect(bar.left * WIDTH, y, Math.max(1, bar.width * WIDTH), rowH);
    }
    ctx.fillStyle = accent;
    for (const [left, width, y] of onPath)
      ctx.fillRect(left * WIDTH, y, Math.max(2, width * WIDTH), Math.max(2, rowH));
  }, [at, loaded, rows, startNs, durNs, critical, height, count, theme]);

  const shown = Math.max(1, lastRow - firstRow + 1);
  const boxH = Math.min(height, Math.max(6, (shown / count) * height));
  const top = (Math.min(firstRow, count - shown) / Math.max(1, count - shown)) * (height - boxH);
  const dragging = useRef(false);
  const goTo = (clientY: number) => {
    const rect = box.current?.getBoundingClientRect();
    if (!rect || rect.height === 0) return;
    // Like a scrollbar thumb: the box's centre follows the pointer, and both ends are reachable.
    const track = Math.max(1, rect.height - boxH);
    const row = Math.round(((clientY - rect.top - boxH / 2) / track) * Math.max(0, count - shown));
    onScrollTo(Math.max(0, Math.min(count - 1, row)));
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    const step = { ArrowDown: shown, ArrowUp: -shown, PageDown: count / 10, PageUp: -count / 10 }[e.key];
    if (step !== undefined) onScrollTo(Math.max(0, Math.min(count - 1, Math.round(firstRow + step))));
    else if (e.key === "Home") onScrollTo(0);
    else if (e.key === "End") onScrollTo(count - 1);
    else return;
    e.preventDefault();
  };
  return (
    <div
      ref={box}
      className="minimap"
      role="slider"
      tabIndex={0}
      aria-label="Trace minimap"
      aria-orientation="vertical"
      aria-valuemin={1}
      aria-valuemax={count}
      aria-valuenow={firstRow + 1}
      aria-valuetext={`rows ${(firstRow + 1).toLocaleString("en")} to ${Math.min(count, lastRow + 1).toLocaleString("en")} of ${count.toLocaleString("en")}`}
      data-testid="minimap"
      onKeyDown={onKeyDown}
      onPointerDown={(e) => {
        dragging.current = true;
        e.currentTarget.setPointerCapture(e.pointerId);
        goTo(e.clientY);
      }}
      onPointerMove={(e) => {
        if (dragging.current) goTo(e.clientY);
      }}
      onPointerUp={(e) => {
        dragging.current = false;
        e.currentTarget.releasePointerCapture(e.pointerId);
      }}
    >
      <canvas ref={canvas} style={{ width: WIDTH, height }} />
      <div className="minimap-view" style={{ top, height: boxH }} data-testid="minimap-view" />
    </div>
  );
}
