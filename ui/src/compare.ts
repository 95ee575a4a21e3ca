/**
 * Comparing two traces (pure): spans grouped by (service, operation) with counts and total and
 * longest duration on each side, and which groups only one trace has. Durations are nanoseconds.
 */

export interface CompareSpan {
  serviceName: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code: string };
}

export interface Side {
  count: number;
  totalNs: number;
  maxNs: number;
  errors: number;
}

export interface CompareRow {
  service: string;
  operation: string;
  a: Side;
  b: Side;
  /** "a" or "b" when only that trace has the group. */
  only: "a" | "b" | null;
  /** b.totalNs − a.totalNs. */
  deltaNs: number;
}

const empty = (): Side => ({ count: 0, totalNs: 0, maxNs: 0, errors: 0 });

/** Rows with the largest change in total time first; groups only one side has stay among them. */
export function compareTraces(a: readonly CompareSpan[], b: readonly CompareSpan[]): CompareRow[] {
  const rows = new Map<string, CompareRow>();
  const add = (spans: readonly CompareSpan[], side: "a" | "b") => {
    for (const s of spans) {
      const key = `${s.serviceName}\u0000${s.name}`;
      let row = rows.get(key);
      if (!row) {
        row = { service: s.serviceName, operation: s.name, a: empty(), b: empty(), only: null, deltaNs: 0 };
        rows.set(key, row);
      }
      const d = Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));
      const x = row[side];
      x.count++;
      x.totalNs += d;
      x.maxNs = Math.max(x.maxNs, d);
      if (s.status.code === "ERROR") x.errors++;
    }
  };
  add(a, "a");
  add(b, "b");
  const out = [...rows.values()];
  for (const r of out) {
    r.only = r.a.count === 0 ? "b" : r.b.count === 0 ? "a" : null;
    r.deltaNs = r.b.totalNs - r.a.totalNs;
  }
  return out.sort(
    (x, y) =>
      Math.abs(y.deltaNs) - Math.abs(x.deltaNs) ||
      x.service.localeCompare(y.service) ||
      x.operation.localeCompare(y.operation),
  );
}

/** Summary counts: groups in both, only in A, only in B. */
export function compareSummary(rows: readonly CompareRow[]): { both: number; onlyA: number; onlyB: number } {
  return {
    both: rows.filter((r) => r.only === null).length,
    onlyA: rows.filter((r) => r.only === "a").length,
    onlyB: rows.filter((r) => r.only === "b").length,
  };
}
