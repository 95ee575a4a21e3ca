import type { FlowRow } from "./queries.js";

/** The heatmap's model (pure): the busiest sources and destinations, and a cell per pair. */
export interface Heatmap {
  sources: string[];
  destinations: string[];
  /** bytes by `${source}\u0000${destination}` */
  cells: Map<string, FlowRow>;
  max: number;
}

export const cellKey = (source: string, destination: string) => `${source}\u0000${destination}`;

/** Keeps the `limit` sources and destinations with the most bytes (others are dropped, not merged). */
export function heatmap(rows: readonly FlowRow[], limit = 20): Heatmap {
  const bySrc = new Map<string, number>();
  const byDst = new Map<string, number>();
  for (const r of rows) {
    bySrc.set(r.source, (bySrc.get(r.source) ?? 0) + r.bytes);
    byDst.set(r.destination, (byDst.get(r.destination) ?? 0) + r.bytes);
  }
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, limit)
      .map(([k]) => k);
  const sources = top(bySrc);
  const destinations = top(byDst);
  const keepS = new Set(sources);
  const keepD = new Set(destinations);
  const cells = new Map<string, FlowRow>();
  let max = 0;
  for (const r of rows) {
    if (!keepS.has(r.source) || !keepD.has(r.destination)) continue;
    cells.set(cellKey(r.source, r.destination), r);
    max = Math.max(max, r.bytes);
  }
  return { sources, destinations, cells, max };
}

/** Cell intensity 0..1 on a log scale, so a 1 KB flow is still visible beside 1 GB. */
export function intensity(bytes: number, max: number): number {
  if (bytes <= 0 || max <= 0) return 0;
  return Math.max(0.08, Math.log1p(bytes) / Math.log1p(max));
}

/** "1.2 MB" (decimal units, as network tools print). */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
