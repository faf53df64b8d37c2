"""Benchmark: a study's fine-tuning runs in parallel worker processes, against the same runs one
after another in one process.

What is measured
----------------
The book's chapters 3 and 4 train many runs of the tiny CLAP on the embedded world (recipes x
seeds). Here: ``--runs`` seeds of the book's recipe (``wsce+mae``, lr 1e-3, weight decay 0.1, 8
epochs, batch 32, patience 3, every weight trainable) on the world's train and validation pairs,
by :func:`humanclap.train.finetune_many` three ways, each in a fresh process (so each pays once
for importing, for its clips' features and, in parallel, for starting its workers):

* **one process**: ``workers=1`` with torch's 2 threads, as the chapters trained before;
* **one process, tuned allocator**: the same after :func:`humanclap.runtime.tune_cpu_allocator`
  (what part of the gain is the allocator alone);
* **parallel**: ``workers=2``, one thread each, tuned allocator in each worker (the chapters now).

Reported: the wall time of the ``finetune_many`` call, seconds per run, the ratios against one
process, whether every run's best epoch agrees across the three ways, and the largest
difference of a run's best validation SRCC (one thread sums some floats in another order than
two, so a run may differ in the last digits; a run trained alone on one thread equals its
parallel twin exactly, ``tests/test_parallel.py``).

Usage::

    .venv/bin/python bench/finetune_parallel.py            # 6 runs each way, about 4 minutes
    .venv/bin/python bench/finetune_parallel.py --runs 4
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from _book_world import BOOK_RECIPE, book_world

from humanclap.runtime import tune_cpu_allocator
from humanclap.train import finetune_many
from humanclap.train.parallel import available_cpus

PATHS = ("one process", "one process, tuned allocator", "parallel")


def measure(path: str, num_runs: int) -> dict:
    """Train ``num_runs`` seeds the ``path`` way in this process; return its figures."""
    torch.set_num_threads(2)
    if path == "one process, tuned allocator":
        tune_cpu_allocator()
    base, splits = book_world()
    runs = [{"seed": s} for s in range(num_runs)]
    workers = 2 if path == "parallel" else 1
    started = time.perf_counter()
    results = finetune_many(
        base, splits["train"], splits["validation"], runs, workers=workers, **BOOK_RECIPE
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "per_run_s": seconds / num_runs,
        "best_val_srcc": [r.best_val_srcc for r in results],
        "best_epoch": [r.best_epoch for r in results],
        "train_pairs": len(splits["train"]),
        "validation_pairs": len(splits["validation"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--out", default="bench/results/finetune-parallel-cpu.json")
    parser.add_argument("--path", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path:  # a child: one way, figures on stdout
        print(json.dumps(measure(args.path, args.runs)))
        return
    figures = {}
    for path in PATHS:
        child = subprocess.run(
            [sys.executable, __file__, "--runs", str(args.runs), "--path", path],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        figures[path] = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{path}: {figures[path]['seconds']:.1f} s ({figures[path]['per_run_s']:.1f} s/run)")
    one = figures["one process"]["seconds"]
    report = {
        "what": "wall seconds of a study's fine-tuning runs (tiny CLAP, embedded world, book "
        "recipe), each way in a fresh process",
        "runs": args.runs,
        "cores": available_cpus(),
        "machine": platform.processor() or platform.machine(),
        "figures": figures,
        "ratio_allocator": one / figures["one process, tuned allocator"]["seconds"],
        "ratio_parallel": one / figures["parallel"]["seconds"],
        "same_best_epochs": all(
            figures[p]["best_epoch"] == figures["one process"]["best_epoch"] for p in PATHS
        ),
        "max_best_val_srcc_difference": max(
            abs(a - b)
            for p in PATHS
            for a, b in zip(
                figures[p]["best_val_srcc"], figures["one process"]["best_val_srcc"], strict=True
            )
        ),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    keys = ("ratio_allocator", "ratio_parallel", "same_best_epochs", "max_best_val_srcc_difference")
    print(json.dumps({k: report[k] for k in keys}))


if __name__ == "__main__":
    main()
