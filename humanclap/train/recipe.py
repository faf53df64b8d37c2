"""A fine-tuning run's arguments: their checks, the per-epoch recipe, the run's identity (the
hash that names ``out_dir="auto"`` and guards resuming) and the learning-rate schedule."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from humanclap.models import ClapModel
from humanclap.train.loop import make_batches, warmup_cosine
from humanclap.train.pairs import PairData
from humanclap.train.state import STATE_VERSION
from humanclap.utils import cache_dir

__all__ = ["Recipe", "check_args", "out_path", "run_args", "schedule"]


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def check_args(
    num_epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    warmup_epochs: float,
    patience: int | None,
    grad_accum: int,
    clip_grad_norm: float | None,
) -> None:
    if not _is_int(num_epochs) or num_epochs < 0:
        raise ValueError(f"num_epochs: expected an integer >= 0, got {num_epochs!r}")
    if not _is_int(batch_size) or batch_size < 2:
        raise ValueError(f"batch_size: expected an integer >= 2 (contrastive), got {batch_size!r}")
    if not _is_int(grad_accum) or grad_accum < 1:
        raise ValueError(f"grad_accum: expected an integer >= 1, got {grad_accum!r}")
    if patience is not None and (not _is_int(patience) or patience < 1):
        raise ValueError(f"patience: expected an integer >= 1 or None, got {patience!r}")
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    if not isinstance(warmup_epochs, (int, float)) or not 0 <= warmup_epochs < math.inf:
        raise ValueError(f"warmup_epochs: expected a number >= 0, got {warmup_epochs!r}")
    if clip_grad_norm is not None and not (
        isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0
    ):
        raise ValueError(f"clip_grad_norm: expected a number > 0 or None, got {clip_grad_norm!r}")


@dataclass(frozen=True)
class Recipe:
    """What every epoch of a run needs besides its state (validated, primitive values).

    ``term_kwargs`` holds the hyper-parameters of the loss terms that have some
    (:func:`humanclap.losses.resolve_term_kwargs`: every one present, defaults filled in), ``{}``
    when no term has any.
    """

    loss: str
    lambdas: dict[str, float]
    num_epochs: int
    batch_size: int
    grad_accum: int
    clip_grad_norm: float | None
    mask_false_negatives: bool
    patience: int | None
    precision: str
    progress: bool
    term_kwargs: dict[str, dict[str, float]] = field(default_factory=dict)


def run_args(
    model: ClapModel, train: PairData, val: PairData, recipe: Recipe, **settings: Any
) -> dict[str, Any]:
    """The run's identity: everything that changes its result (hashed into ``out_dir="auto"``
    and checked on resume).

    The loss terms' hyper-parameters (``recipe.term_kwargs``, e.g. a margin) enter as
    ``"term_kwargs"`` with their defaults filled in, so two margins name two folders and an
    explicit default names the same folder as none; the key is left out when no term has
    hyper-parameters, so the identity (and folder) of such a run is what it was before they
    existed.
    """
    identity = {
        "state_version": STATE_VERSION,
        "base_model": model.fingerprint,
        "backend": model.backend,
        "train_data": train.digest(),
        "val_data": val.digest(),
        "loss": recipe.loss,
        "lambdas": recipe.lambdas,
        "num_epochs": recipe.num_epochs,
        "batch_size": recipe.batch_size,
        "patience": recipe.patience,
        "mask_false_negatives": recipe.mask_false_negatives,
        "grad_accum": recipe.grad_accum,
        "clip_grad_norm": recipe.clip_grad_norm,
        **settings,
    }
    if recipe.term_kwargs:
        identity["term_kwargs"] = recipe.term_kwargs
    return identity


def out_path(out_dir: str | os.PathLike | None, args_hash: str) -> Path | None:
    """The run folder (created): ``out_dir``, ``<cache>/finetunes/<hash>`` for ``"auto"``, or
    None."""
    if isinstance(out_dir, str) and out_dir == "auto":
        path: Path | None = cache_dir("finetunes", args_hash)
    else:
        path = Path(out_dir) if out_dir is not None else None
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
    return path


def schedule(
    n_train: int, recipe: Recipe, lr: float, warmup_epochs: float
) -> Callable[[int], float]:
    """The learning rate of each optimiser step: warm-up over ``warmup_epochs``, then cosine."""
    batches_per_epoch = len(make_batches(n_train, recipe.batch_size))
    steps_per_epoch = math.ceil(batches_per_epoch / recipe.grad_accum)
    total_steps = steps_per_epoch * recipe.num_epochs
    warmup_steps = min(math.ceil(warmup_epochs * steps_per_epoch), total_steps)
    return warmup_cosine(lr, warmup_steps, total_steps)
