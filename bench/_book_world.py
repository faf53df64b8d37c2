"""What the fine-tuning benchmarks share: the book's recipe, the embedded world they run it on,
the one-thread set-up of a worker process, the untimed warm-up run that fills a process's
feature cache, and writing the JSON report."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pandas as pd
import torch

import humanclap.book as hb
from humanclap import models, train
from humanclap.data import resolve_dataset
from humanclap.runtime import tune_cpu_allocator
from humanclap.utils import atomic_write_text

#: The book's fine-tuning recipe (``params/book.yaml``) with every weight trainable, without
#: progress bars: what the benchmarks' results were measured with. The book itself now freezes
#: the tiny CLAP's conv blocks (``trainable: freeze-audio:4``; ``bench/frozen_audio.py``).
BOOK_RECIPE = dict(loss="wsce+mae", lr=1e-3, num_epochs=8, batch_size=32, weight_decay=0.1,
                   patience=3, trainable="all", progress=False)  # fmt: skip


def book_world() -> tuple[models.ClapModel, dict[str, pd.DataFrame]]:
    """The embedded world's pre-trained tiny CLAP and its pair splits (``"train"``,
    ``"validation"``, ``"test"``), as the book's chapters get them."""
    data = resolve_dataset("synthetic", needs_audio=True)
    spec, options = data.model_spec("auto")
    return models.load(spec, **options), hb.split_pairs(data.pairs())


def warm_up(base: models.ClapModel, splits: dict[str, pd.DataFrame]) -> None:
    """One epoch of the book's recipe, not timed: the first run of a process fills the feature
    cache that every later run reads."""
    train.finetune(base, splits["train"], splits["validation"], seed=0,
                   **{**BOOK_RECIPE, "num_epochs": 1})  # fmt: skip


def worker_world() -> tuple[models.ClapModel, dict[str, pd.DataFrame]]:
    """:func:`book_world` in a process set up as a worker of
    :func:`humanclap.train.finetune_many` runs: one torch thread, the tuned allocator."""
    torch.set_num_threads(1)
    tune_cpu_allocator()
    return book_world()


def write_report(out: str, what: str, **results: Any) -> None:
    """Write ``{"what", "machine", **results}`` as JSON to ``out`` (atomically) and print it."""
    report = {"what": what, "machine": platform.processor() or platform.machine(), **results}
    text = json.dumps(report, indent=2)
    atomic_write_text(Path(out), text + "\n")
    print(text)
