"""Benchmark: two costs of a study's runs that are no longer paid, each against the way it was
done before, and one alternative that was measured and not taken; in one process on one thread
(as a worker of :func:`humanclap.train.finetune_many` runs).

What is measured
----------------
On the embedded world with the book's recipe (``wsce+mae``, lr 1e-3, weight decay 0.1, batch
32, every weight trainable; 633 training and 282 validation pairs):

* **optimiser update** (measured, not taken): a whole run (8 epochs, no early stopping, so
  both ways train the same number of steps) with torch's fused AdamW kernel against the
  multi-tensor ``foreach`` update that fine-tuning uses, alternating, ``--repeats`` times each,
  after an untimed warm-up run; the runs' best validation SRCC are compared (the two updates
  are equal up to rounding, not bit for bit);
* **epoch 0**: the starting model's validation embeddings read from
  :data:`humanclap.train.start.START_EMBEDDINGS` against embedding the 282 validation pairs
  again (what every run after the first did);
* **test scores**: :func:`humanclap.train.cosine_scores` of ``--models`` fine-tuned models on
  the 282 test pairs with the front end's features from the process's cache (now) against
  decoding each clip and computing its log-mel for every model (before); the scores must be
  identical.

Reported: seconds of each way, their ratio, and the checks. The JSON goes to ``--out``.

Usage::

    .venv/bin/python bench/study_runs.py               # about 3 minutes (3 repeats)
    .venv/bin/python bench/study_runs.py --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from _book_world import BOOK_RECIPE, warm_up, worker_world, write_report

from humanclap import train
from humanclap.similarity import pair_cosine
from humanclap.train import loop
from humanclap.train import run as run_module
from humanclap.train.clips import ClipStore
from humanclap.train.evaluate import embed_pairs
from humanclap.train.pairs import prepare_pairs
from humanclap.train.start import START_EMBEDDINGS

RECIPE = {**BOOK_RECIPE, "patience": None}  # no early stopping: both ways train as long


def _fused_adamw(params, lr, weight_decay):
    """:func:`humanclap.train.loop.adamw`'s parameter groups, updated by torch's fused kernel."""
    groups = [{"params": g["params"], "weight_decay": g["weight_decay"]}
              for g in loop.adamw(params, lr, weight_decay).param_groups]  # fmt: skip
    return torch.optim.AdamW(groups, lr=float(lr), fused=True)


def _run(base, splits, fused: bool) -> tuple[float, float]:
    """One whole run with the fused or the foreach update: (seconds, best validation SRCC)."""
    original = run_module.adamw
    if fused:
        run_module.adamw = _fused_adamw
    try:
        started = time.perf_counter()
        result = train.finetune(base, splits["train"], splits["validation"], seed=0, **RECIPE)
        return time.perf_counter() - started, result.best_val_srcc
    finally:
        run_module.adamw = original


def optimiser(base, splits, repeats: int) -> dict:
    times: dict[str, list[float]] = {"fused": [], "foreach": []}
    srcc: dict[str, float] = {}
    warm_up(base, splits)
    for _ in range(repeats):
        for way in ("fused", "foreach"):
            seconds, srcc[way] = _run(base, splits, fused=way == "fused")
            times[way].append(seconds)
    median = {way: statistics.median(t) for way, t in times.items()}
    return {"seconds": times, "median_s": median, "ratio": median["foreach"] / median["fused"],
            "best_val_srcc": srcc,
            "best_val_srcc_difference": abs(srcc["fused"] - srcc["foreach"])}  # fmt: skip


def epoch_zero(base, splits, repeats: int) -> dict:
    val = prepare_pairs(splits["validation"], "val_pairs", None, min_rows=3)
    store = ClipStore(base.sample_rate, [val], model=base)

    def embed():
        return embed_pairs(base, val, store, 32, "fp32")

    again, shared = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        embed()
        again.append(time.perf_counter() - started)
        START_EMBEDDINGS.get(
            base.fingerprint, "cpu", val, "fp32", 32, embed
        )  # the first run computes them
        started = time.perf_counter()
        START_EMBEDDINGS.get(base.fingerprint, "cpu", val, "fp32", 32, embed)
        shared.append(time.perf_counter() - started)
    a, s = statistics.median(again), statistics.median(shared)
    return {"embed_again_s": a, "shared_s": s, "saved_per_run_s": a - s}


def test_scores(base, splits, test_pairs, num_models: int) -> dict:
    tuned = [
        train.finetune(base, splits["train"], splits["validation"], seed=s,
                       **{**RECIPE, "num_epochs": 1}).model
        for s in range(num_models)
    ]  # fmt: skip
    pairs = test_pairs[["text", "audio"]]
    train.cosine_scores(tuned[0], pairs, progress=False)  # fills the feature cache once
    started = time.perf_counter()
    now = [train.cosine_scores(m, pairs, progress=False) for m in tuned]
    features_s = time.perf_counter() - started
    data = prepare_pairs(pairs.assign(target=0.0), "pairs", None)
    started = time.perf_counter()
    before = []
    for m in tuned:
        store = ClipStore(m.sample_rate, [data], preload=False, model=m)
        audio_emb, text_emb = embed_pairs(m, data, store, 32, "fp32")
        store.close()
        before.append(pair_cosine(audio_emb.double(), text_emb.double()).numpy())
    waveforms_s = time.perf_counter() - started
    return {"models": num_models, "features_s": features_s, "waveforms_s": waveforms_s,
            "ratio": waveforms_s / features_s,
            "identical": all(np.array_equal(a, b) for a, b in zip(now, before, strict=True))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--out", default="bench/results/study-runs-cpu.json")
    args = parser.parse_args()
    base, splits = worker_world()
    write_report(
        args.out,
        "one thread, the embedded world, the book's recipe; each cost now and before",
        optimiser_update=optimiser(base, splits, args.repeats),
        epoch_zero=epoch_zero(base, splits, 5),
        test_scores=test_scores(base, splits, splits["test"], args.models),
    )


if __name__ == "__main__":
    main()
