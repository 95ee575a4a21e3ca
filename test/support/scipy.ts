import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** What scipy says about one sample pair (see scipy_mwu.py). */
export interface ScipyMwu {
  u: number;
  p: number;
  method: "exact" | "asymptotic";
  /** Brute-force Hodges-Lehmann: numpy median of every y_j - x_i. */
  hl: number;
}

const script = join(dirname(fileURLToPath(import.meta.url)), "scipy_mwu.py");

/** Whether python3 with scipy is on this machine (CI installs it in .ci/run). */
export function scipyAvailable(): boolean {
  const r = spawnSync("python3", ["-c", "import scipy, numpy"], { encoding: "utf8" });
  return r.status === 0;
}

/**
 * Runs scipy.stats.mannwhitneyu on every pair in one python3 process (JSON over stdin/stdout).
 * Throws with python's stderr when the helper fails.
 */
export function scipyMannWhitney(pairs: Array<{ x: number[]; y: number[] }>): ScipyMwu[] {
  const r = spawnSync("python3", [script], {
    input: JSON.stringify(pairs),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`scipy helper failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ScipyMwu[];
}
