"""Benchmark: Kendall's tau-b of 1,000 bootstrap resamples by sign matrices (humanclap.stats),
against one :func:`scipy.stats.kendalltau` call per resample (the obvious way, and humanclap's
before).

What is measured
----------------
For the book's sizes (the world's 282 test pairs, RELATE's 1,311 test pairs) and RELATE REL's
5,460 pairs (above the matrix path's limit, so both ways are the scipy loop there), scores on
RELATE's 0--10 scale with ties, ``n_boot`` resamples of the pairs: the seconds of each way
(best of ``--repeats``), their ratio, and the largest difference between the two (they compute
the same statistic; integer pair counts make the difference rounding only).

Usage::

    .venv/bin/python bench/ktau_bootstrap.py             # about a minute
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from humanclap.stats import bootstrap as hb


def _best_of(repeats: int, fn, *args) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/results/ktau-bootstrap-cpu.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in (282, 1311, 5460):
        human = np.round(rng.uniform(0, 10, n) * 4) / 4  # quarter steps: ties, as pair means
        pred = 0.3 * human + rng.normal(0, 2, n)
        idx = rng.integers(0, n, size=(args.n_boot, n))
        loop_s, loop = _best_of(args.repeats, hb._ktau_rows, pred[idx], human[idx])
        new_s, new = _best_of(args.repeats, hb._ktau_resamples, pred, human, idx)
        rows.append({
            "n": n,
            "scipy_loop_s": loop_s,
            "humanclap_s": new_s,
            "ratio": loop_s / new_s,
            "path": "sign matrices" if n <= hb._KTAU_MATRIX_MAX_N else "scipy loop",
            "max_abs_difference": float(np.nanmax(np.abs(loop - new))),
        })  # fmt: skip
        print(rows[-1])
    report = {"what": f"Kendall tau-b of {args.n_boot} bootstrap resamples", "rows": rows,
              "machine": platform.processor() or platform.machine()}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
