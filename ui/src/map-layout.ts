/**
 * Layered layout of the service map (callers left, callees right), pure so it runs in a Web
 * Worker and in tests. Steps: break cycles (DFS back edges are ignored for ranking), rank each
 * node by the longest path from a caller-less node, order nodes within a rank by the barycentre
 * of their neighbours (a few down/up sweeps, which removes most crossings), then place ranks in
 * columns. Unconnected nodes get rank 0 and are kept. Linear in nodes + edges per sweep, so 500
 * nodes take milliseconds.
 */

export interface LayoutInput {
  nodes: string[];
  edges: Array<{ source: string; target: string }>;
}

export interface LayoutResult {
  positions: Record<string, { x: number; y: number }>;
  width: number;
  height: number;
}

export const COLUMN_GAP = 260;
export const ROW_GAP = 90;
const MARGIN = 70;
const SWEEPS = 6;
/** Nodes per column before a rank wraps into another, SUB_COLUMN_GAP to its right. */
export const MAX_ROWS = 40;
const SUB_COLUMN_GAP = 150;

export function layeredLayout(input: LayoutInput): LayoutResult {
  const ids = [...new Set(input.nodes)];
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const out: number[][] = Array.from({ length: n }, () => []);
  const inn: number[][] = Array.from({ length: n }, () => []);
  for (const e of input.edges) {
    const a = index.get(e.source);
    const b = index.get(e.target);
    if (a === undefined || b === undefined || a === b) continue;
    out[a].push(b);
    inn[b].push(a);
  }
  // Back edges by iterative DFS from every unvisited node (callers first).
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const back = new Set<string>();
  const order = ids
    .map((_, i) => i)
    .sort((a, b) => inn[a].length - inn[b].length || ids[a].localeCompare(ids[b]));
  for (const start of order) {
    if (state[start]) continue;
    const stack: Array<[number, number]> = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < out[v].length) {
        top[1]++;
        const w = out[v][k];
        if (state[w] === 1) back.add(`${v}>${w}`);
        else if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  // Longest-path ranks over the acyclic remainder (Kahn's order).
  const rank = new Int32Array(n);
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) for (const w of out[v]) if (!back.has(`${v}>${w}`)) indeg[w]++;
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi];
    for (const w of out[v]) {
      if (back.has(`${v}>${w}`)) continue;
      rank[w] = Math.max(rank[w], rank[v] + 1);
      if (--indeg[w] === 0) queue.push(w);
    }
  }
  const ranks: number[][] = [];
  for (let v = 0; v < n; v++) {
    if (!ranks[rank[v]]) ranks[rank[v]] = [];
    ranks[rank[v]].push(v);
  }
  for (const r of ranks) r?.sort((a, b) => ids[a].localeCompare(ids[b]));
  // Barycentre sweeps: order each rank by the mean position of neighbours in the previous rank.
  const pos = new Float64Array(n);
  const setPos = () => {
    for (const r of ranks) {
      if (r) for (let i = 0; i < r.length; i++) pos[r[i]] = i;
    }
  };
  setPos();
  for (let s = 0; s < SWEEPS; s++) {
    const down = s % 2 === 0;
    const seq = down ? ranks.keys() : [...ranks.keys()].reverse().values();
    for (const ri of seq) {
      const r = ranks[ri];
      if (!r) continue;
      const bary = new Map<number, number>();
      for (const v of r) {
        const nb = down ? inn[v] : out[v];
        bary.set(v, nb.length ? nb.reduce((sum, w) => sum + pos[w], 0) / nb.length : pos[v]);
      }
      r.sort((a, b) => (bary.get(a) ?? 0) - (bary.get(b) ?? 0) || ids[a].localeCompare(ids[b]));
      for (let i = 0; i < r.length; i++) pos[r[i]] = i;
    }
  }
  // A rank taller than MAX_ROWS wraps into sub-columns (a wide estate would otherwise be a strip
  // tens of thousands of pixels tall with most of the map out of sight).
  const columns: number[][] = [];
  const columnX: number[] = [];
  let x = MARGIN;
  ranks.forEach((r, ri) => {
    if (!r) return;
    if (ri > 0 && columns.length) x += COLUMN_GAP - SUB_COLUMN_GAP;
    for (let i = 0; i < r.length; i += MAX_ROWS) {
      if (i > 0) x += SUB_COLUMN_GAP;
      columns.push(r.slice(i, i + MAX_ROWS));
      columnX.push(x);
    }
    x += SUB_COLUMN_GAP;
  });
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = MARGIN * 2 + (tallest - 1) * ROW_GAP;
  const positions: LayoutResult["positions"] = {};
  columns.forEach((c, ci) => {
    const offset = ((tallest - c.length) * ROW_GAP) / 2;
    c.forEach((v, i) => {
      positions[ids[v]] = { x: columnX[ci], y: MARGIN + offset + i * ROW_GAP };
    });
  });
  const width = MARGIN * 2 + (columns.length ? columnX[columnX.length - 1] - MARGIN : 0);
  return { positions, width, height };
}
