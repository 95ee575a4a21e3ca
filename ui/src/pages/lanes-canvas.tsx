import { useEffect, useRef, useState } from "react";
import { formatDuration } from "../format.js";
import { serviceColour, type WaterfallSpan } from "../waterfall.js";

const LANE_H = 18;
const LABEL_W = 140;
/** Cross-lane call connectors are drawn for traces up to this size; beyond it they are noise. */
const MAX_CONNECTORS = 2000;

/**
 * The swimlane diagram: one lane per service, time left to right, every loaded span drawn in its
 * service's lane, and a connector where a call crosses from one lane to another. Canvas, so a
 * 100,000-span trace costs one draw, not 100,000 DOM nodes.
 */
export function LanesCanvas({
  spans,
  services,
  startNs,
  durNs,
}: {
  spans: WaterfallSpan[];
  services: string[];
  startNs: bigint;
  durNs: bigint;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  // The canvas reads theme colours when it draws, so a theme switch must redraw it.
  const [theme, setTheme] = useState(document.documentElement.dataset.theme);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  const height = Math.max(1, services.length) * LANE_H + 18;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `theme` changes the CSS colours read inside.
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const fg = style.getPropertyValue("--fg") || "#222";
    const grid = style.getPropertyValue("--grid") || "#ddd";
    const lane = new Map(services.map((s, i) => [s, i]));
    const dur = Number(durNs) || 1;
    const plotW = Math.max(10, width - LABEL_W - 8);
    const x = (ns: string) => LABEL_W + (Number(BigInt(ns) - startNs) / dur) * plotW;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    services.forEach((s, i) => {
      ctx.fillStyle = grid;
      ctx.fillRect(LABEL_W, i * LANE_H + LANE_H - 1, plotW, 1);
      ctx.fillStyle = fg;
      ctx.fillText(s.length > 20 ? `${s.slice(0, 19)}…` : s, 4, i * LANE_H + LANE_H / 2);
    });
    const byId = new Map<string, WaterfallSpan>();
    for (const s of spans) byId.set(s.spanId, s);
    for (const s of spans) {
      const li = lane.get(s.serviceName) ?? 0;
      const x0 = x(s.startTimeUnixNano);
      const w = Math.max(1, x(s.endTimeUnixNano) - x0);
      ctx.fillStyle = s.status.code === "ERROR" ? "#d62728" : serviceColour(s.serviceName);
      ctx.fillRect(x0, li * LANE_H + 3, w, LANE_H - 7);
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (parent && parent.serviceName !== s.serviceName && spans.length <= MAX_CONNECTORS) {
        const pl = lane.get(parent.serviceName) ?? 0;
        ctx.strokeStyle = fg;
        ctx.globalAlpha = 0.5;
        ctx.beginPath();
        ctx.moveTo(x0, pl * LANE_H + LANE_H / 2);
        ctx.lineTo(x0, li * LANE_H + LANE_H / 2);
        ctx.stroke();
        ctx.globalAlpha = 1;
      }
    }
    ctx.fillStyle = fg;
    ctx.textAlign = "left";
    ctx.fillText("0", LABEL_W, height - 8);
    ctx.textAlign = "right";
    ctx.fillText(formatDuration(dur), LABEL_W + plotW, height - 8);
    ctx.textAlign = "left";
  }, [spans, services, startNs, durNs, height, theme]);
  return (
    <figure className="lanes">
      <canvas
        ref={ref}
        style={{ width: "100%", height }}
        role="img"
        aria-label={`Swimlanes: ${services.join(", ")}`}
        data-testid="swimlanes"
      />
    </figure>
  );
}
