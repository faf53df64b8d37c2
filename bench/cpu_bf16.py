"""Benchmark: fine-tuning the tiny CLAP in bf16 autocast on a CPU with native bf16, against
fp32 (the default), in one process on one thread (as a worker of
:func:`humanclap.train.finetune_many` runs).

What is measured
----------------
On the embedded world with the book's recipe (``wsce+mae``, lr 1e-3, weight decay 0.1, batch
32, every weight trainable; 633 training and 282 validation pairs): whole runs of 8 epochs
without early stopping (so both precisions train the same number of steps), alternating fp32
and bf16, ``--repeats`` times each with seeds 0, 1, ..., after an untimed warm-up run that
fills the feature cache. Reported: the seconds of each run, the median of each precision and
their ratio, and for each seed the largest difference of validation SRCC over the epochs and
the difference of the best validation SRCC.

``precision="bf16"`` is refused on a CPU without native bf16 (AVX512-BF16 or AMX), where it
would be emulated; the benchmark says so and stops there.

Usage::

    .venv/bin/python bench/cpu_bf16.py               # about 3 minutes (3 repeats)
    .venv/bin/python bench/cpu_bf16.py --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from _book_world import BOOK_RECIPE, warm_up, worker_world, write_report

from humanclap import train
from humanclap.runtime import cpu_has_native_bf16

RECIPE = {**BOOK_RECIPE, "patience": None}  # no early stopping: both ways train as long
PRECISIONS = ("fp32", "bf16")


def measure(base, splits, repeats: int) -> dict:
    """Alternating whole runs in each precision: their seconds and validation SRCC."""
    warm_up(base, splits)
    seconds: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    srcc: dict[str, list[list[float]]] = {p: [] for p in PRECISIONS}
    for seed in range(repeats):
        for precision in PRECISIONS:
            started = time.perf_counter()
            result = train.finetune(base, splits["train"], splits["validation"], seed=seed,
                                    precision=precision, **RECIPE)  # fmt: skip
            seconds[precision].append(time.perf_counter() - started)
            srcc[precision].append(result.history["val_srcc"].tolist())
    median = {p: statistics.median(t) for p, t in seconds.items()}
    fp32, bf16 = (np.array(srcc[p]) for p in PRECISIONS)
    return {
        "seconds": seconds,
        "median_s": median,
        "ratio": median["fp32"] / median["bf16"],
        "val_srcc_max_abs_difference_per_seed": np.abs(fp32 - bf16).max(axis=1).tolist(),
        "best_val_srcc": {p: np.array(srcc[p]).max(axis=1).tolist() for p in PRECISIONS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/results/cpu-bf16.json")
    args = parser.parse_args()
    if not cpu_has_native_bf16():
        sys.exit("cpu_bf16: this CPU has no native bf16 (AVX512-BF16 or AMX); nothing to measure")
    base, splits = worker_world()
    write_report(
        args.out,
        "one thread, the embedded world, the book's recipe, 8 epochs: fp32 and bf16",
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        **measure(base, splits, args.repeats),
    )


if __name__ == "__main__":
    main()
