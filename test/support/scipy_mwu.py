"""Reference statistics for the canary judge's tests (a test peer, never part of the product).

Reads JSON on stdin: [{"x": [...], "y": [...]}, ...]. Writes JSON on stdout, one object per pair:
  u       scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="auto").statistic
  p       its p-value
  method  "exact" or "asymptotic", the rule scipy's method="auto" applies
  hl      the brute-force median of all pairwise differences y_j - x_i (numpy.median)
"""
import json
import sys

import numpy as np
from scipy import stats


def main() -> None:
    pairs = json.load(sys.stdin)
    out = []
    for pair in pairs:
        x = np.asarray(pair["x"], dtype=float)
        y = np.asarray(pair["y"], dtype=float)
        res = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
        ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
        method = "asymptotic" if (len(x) > 8 and len(y) > 8) or ties else "exact"
        hl = float(np.median(np.subtract.outer(y, x).ravel()))
        out.append({"u": float(res.statistic), "p": float(res.pvalue), "method": method, "hl": hl})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
