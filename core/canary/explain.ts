import type { MetricResult } from "./types.js";

/**
 * Words for a metric result, e.g.
 *   p95 latency of GET /checkout was 31% higher in the canary (median shift +42 ms, 98% CI
 *   +35..+49 ms, p < 0.001): High; direction 'increase' is bad
 * Everything said is in the result's fields; this only phrases it.
 */

/** A value in the metric's unit: "%" metrics hold ratios 0..1 and print as percentages. */
export function formatValue(v: number, unit: string, signed = false): string {
  if (!Number.isFinite(v)) return String(v);
  const scaled = unit === "%" ? v * 100 : v;
  const abs = Math.abs(scaled);
  const digits = abs === 0 ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = scaled.toFixed(digits);
  const sign = signed && scaled > 0 ? "+" : "";
  const suffix = unit === "%" ? (signed ? " pp" : "%") : unit ? ` ${unit}` : "";
  return `${sign}${text.replace(/^-/, "−")}${suffix}`;
}

export function formatP(p: number): string {
  if (p < 0.001) return "p < 0.001";
  return `p = ${p < 0.01 ? p.toFixed(4) : p.toFixed(3)}`;
}

function magnitude(r: MetricResult, unit: string): string {
  const b = r.baseline.mean;
  const c = r.canary.mean;
  const word = r.observed === "lower" ? "lower" : "higher";
  if (b !== 0 && Number.isFinite(b) && Number.isFinite(c)) {
    const pct = Math.abs((c / b - 1) * 100);
    const rounded = pct >= 10 ? pct.toFixed(0) : pct.toFixed(1);
    return `was ${rounded}% ${word} in the canary`;
  }
  return `was ${word} in the canary (mean ${formatValue(b, unit)} → ${formatValue(c, unit)})`;
}

function evidence(r: MetricResult, unit: string): string {
  const parts: string[] = [];
  if (r.shift) {
    const level = Math.round(r.shift.level * 1000) / 10;
    parts.push(
      `median shift ${formatValue(r.shift.estimate, unit, true)}, ${level}% CI ${formatValue(r.shift.lower, unit, true)}..${formatValue(r.shift.upper, unit, true)}`,
    );
  }
  if (r.pValue !== null) parts.push(formatP(r.pValue));
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** The sentence for a classified metric; `note` is the reason behind the classification. */
export function explain(r: MetricResult, unit: string, note: string): string {
  const head = r.name;
  switch (r.classification) {
    case "Error":
      return `${head} could not be judged: ${note}: Error`;
    case "Nodata":
    case "NodataFailMetric": {
      const sides = [r.baseline.count === 0 ? "baseline" : "", r.canary.count === 0 ? "canary" : ""].filter(
        Boolean,
      );
      const tail =
        r.classification === "Nodata"
          ? "not scored"
          : "this metric must have data, so it counts as a failure";
      return `${head} had no data in the ${sides.join(" and ")}: ${r.classification}; ${tail}`;
    }
    default:
      break;
  }
  if (r.observed === "same")
    return `${head} was the same in baseline and canary${evidence(r, unit)}: ${r.classification}`;
  if (r.observed === "unknown") {
    return `${head} showed no significant difference${evidence(r, unit)}: ${r.classification}${note ? `; ${note}` : ""}`;
  }
  return `${head} ${magnitude(r, unit)}${evidence(r, unit)}: ${r.classification}${note ? `; ${note}` : ""}`;
}
