"""Benchmark: fine-tuning runs with the front end's features computed once, against decoding
and transforming every clip in every epoch.

What is measured
----------------
The book's study (chapters 3 and 4) trains many runs of the tiny CLAP on the embedded world.
Each run is :func:`humanclap.train.finetune` with the book's recipe (``wsce+mae``, lr 1e-3,
weight decay 0.1, 8 epochs, batch 32, patience 3, every weight trainable) on the world's train
and validation pairs. Two paths, alternating, ``--repeats`` times each:

* **waveforms**: the model's front end (log-mel) runs on every batch of every epoch, as before
  (``ClipStore`` keeps decoded waveforms; the front end is hidden from the store);
* **features**: each clip's log-mel is computed once per process and shared by every epoch and
  run (:mod:`humanclap.train.features`); the cache is emptied before each timed run, so every
  run pays for computing it once, as the first run of a study does (later runs of a study pay
  nothing: reported as ``features, warm``).

Each run gets a fresh seed-identical model; the weights of the two paths are compared (they
must be identical). Reported: the median seconds per run of each path and their ratio.

Usage::

    .venv/bin/python bench/finetune_features.py              # 3 repeats, about 3 minutes
    .venv/bin/python bench/finetune_features.py --repeats 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from _book_world import BOOK_RECIPE, book_world

from humanclap.models import tiny
from humanclap.train import finetune
from humanclap.train.features import FEATURE_CACHE


def _run(base, splits, seed: int) -> tuple[float, dict]:
    started = time.perf_counter()
    result = finetune(base, splits["train"], splits["validation"], seed=seed, **BOOK_RECIPE)
    return time.perf_counter() - started, result.model.state_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="bench/results/finetune-features-cpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base, splits = book_world()
    key = tiny.TinyClap.audio_features_key
    times: dict[str, list[float]] = {"waveforms": [], "features": [], "features, warm": []}
    identical = True
    for i in range(args.repeats):
        tiny.TinyClap.audio_features_key = property(lambda self: None)
        try:
            seconds, weights_a = _run(base, splits, seed=i)
        finally:
            tiny.TinyClap.audio_features_key = key
        times["waveforms"].append(seconds)
        FEATURE_CACHE.clear()
        seconds, weights_b = _run(base, splits, seed=i)
        times["features"].append(seconds)
        times["features, warm"].append(_run(base, splits, seed=i)[0])
        identical &= all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
        print(f"repeat {i}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()))
    medians = {k: statistics.median(v) for k, v in times.items()}
    report = {
        "what": "seconds per fine-tuning run of the tiny CLAP on the embedded world (book recipe)",
        "train_pairs": len(splits["train"]),
        "validation_pairs": len(splits["validation"]),
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
        "runs": times,
        "median_s": medians,
        "ratio_cold": medians["waveforms"] / medians["features"],
        "ratio_warm": medians["waveforms"] / medians["features, warm"],
        "identical_weights": identical,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("median_s", "ratio_cold", "ratio_warm",
                                             "identical_weights")}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
