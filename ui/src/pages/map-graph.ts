import { useEffect, useRef, useState } from "react";
import type { LayoutInput, LayoutResult } from "../map-layout.js";

/** Health colour of a node or edge from its error rate. */
export function healthColour(errorRate: number, calls: number): string {
  if (calls === 0) return "var(--muted)";
  if (errorRate >= 0.05) return "#d62728";
  if (errorRate >= 0.01) return "#e6a100";
  return "#2ca02c";
}

/** Lays the graph out in a Web Worker; null until the first layout arrives. */
export function useWorkerLayout(input: LayoutInput): LayoutResult | null {
  const [result, setResult] = useState<LayoutResult | null>(null);
  const worker = useRef<Worker | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    const w = new Worker(new URL("../map-layout.worker.ts", import.meta.url), { type: "module" });
    worker.current = w;
    w.onmessage = (e: MessageEvent<{ id: number; result: LayoutResult }>) => {
      if (e.data.id === seq.current) setResult(e.data.result);
    };
    return () => w.terminate();
  }, []);
  const key = JSON.stringify(input);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` is the input's content.
  useEffect(() => {
    const id = ++seq.current;
    worker.current?.postMessage({ id, input });
  }, [key]);
  return result;
}
