"""Benchmark: fine-tuning the tiny CLAP with its first audio blocks frozen and their output
computed once per clip (``trainable="freeze-audio:<k>"``), against every weight trainable
(``"all"``), in one process on one thread (as a worker of
:func:`humanclap.train.finetune_many` runs).

What is measured
----------------
On the embedded world with the book's recipe (``wsce+mae``, lr 1e-3, weight decay 0.1, batch
32; 633 training and 282 validation pairs): whole runs of 8 epochs without early stopping (so
every way trains the same number of steps), alternating ``all``, ``freeze-audio:1`` and
``freeze-audio:2`` with seeds 0, 1, ..., after an untimed warm-up run of each that fills the
feature cache. Reported: the seconds of each run, the median of each way and its ratio to
``all``, and each run's best validation SRCC (the test split is not read).

Usage::

    .venv/bin/python bench/frozen_audio.py               # about 4 minutes (5 seeds)
    .venv/bin/python bench/frozen_audio.py --seeds 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _book_world import BOOK_RECIPE, worker_world, write_report

from humanclap import train

RECIPE = {**BOOK_RECIPE, "patience": None}  # no early stopping: every way trains as long
WAYS = ("all", *(f"freeze-audio:{k}" for k in range(1, 5)))


def measure(base, splits, seeds: int, ways: tuple[str, ...] = WAYS) -> dict:
    """Alternating whole runs of each way: their seconds and best validation SRCC."""
    for way in ways:  # fills the feature cache of each depth
        train.finetune(base, splits["train"], splits["validation"], seed=0,
                       **{**RECIPE, "trainable": way, "num_epochs": 1})  # fmt: skip
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    best: dict[str, list[float]] = {w: [] for w in ways}
    for seed in range(seeds):
        for way in ways:
            started = time.perf_counter()
            result = train.finetune(base, splits["train"], splits["validation"], seed=seed,
                                    **{**RECIPE, "trainable": way})  # fmt: skip
            seconds[way].append(time.perf_counter() - started)
            best[way].append(float(result.best_val_srcc))
    median = {w: statistics.median(t) for w, t in seconds.items()}
    return {
        "seconds": seconds,
        "median_s": median,
        "speed_up_vs_all": {w: median["all"] / m for w, m in median.items()},
        "best_val_srcc": best,
        "best_val_srcc_mean": {w: float(np.mean(v)) for w, v in best.items()},
        "best_val_srcc_sd": {
            w: float(np.std(v, ddof=1)) if len(v) > 1 else None for w, v in best.items()
        },  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ways", nargs="+", default=list(WAYS), help="trainable specs")
    parser.add_argument("--out", default="bench/results/frozen-audio-cpu.json")
    args = parser.parse_args()
    base, splits = worker_world()
    write_report(
        args.out,
        "one thread, the embedded world, the book's recipe, 8 epochs: every weight trainable "
        "against the first k audio conv blocks frozen (their output computed once per clip)",
        **measure(base, splits, args.seeds, tuple(args.ways)),
    )


if __name__ == "__main__":
    main()
