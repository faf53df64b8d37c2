"""What the fine-tuning benchmarks share: the book's recipe, the embedded world they run it on,
and the untimed warm-up run that fills a process's feature cache."""

from __future__ import annotations

import pandas as pd

import humanclap.book as hb
from humanclap import models, train
from humanclap.data import resolve_dataset

#: The book's fine-tuning recipe (``params/book.yaml``), without progress bars.
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
