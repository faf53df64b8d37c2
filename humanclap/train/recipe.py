"""A fine-tuning run's arguments: the :class:`Recipe` and its checks, the per-epoch settings,
the run's identity (the hash that names ``out_dir="auto"`` and guards resuming) and the
learning-rate schedule."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from humanclap import losses
from humanclap.models import ClapModel
from humanclap.runtime import check_precision, resolve_precision
from humanclap.train.loop import make_batches, warmup_cosine
from humanclap.train.pairs import PairData
from humanclap.train.state import STATE_VERSION
from humanclap.utils import cache_dir, stable_hash, want_progress

__all__ = [
    "EpochSettings",
    "Recipe",
    "out_path",
    "resolve_recipe",
    "run_args",
    "run_identity",
    "schedule",
]


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _check_numbers(recipe: Recipe) -> None:
    """Raise a ValueError naming the first field of ``recipe`` out of its range."""
    if not _is_int(recipe.num_epochs) or recipe.num_epochs < 0:
        raise ValueError(f"num_epochs: expected an integer >= 0, got {recipe.num_epochs!r}")
    if not _is_int(recipe.batch_size) or recipe.batch_size < 2:
        raise ValueError(
            f"batch_size: expected an integer >= 2 (contrastive), got {recipe.batch_size!r}"
        )
    if not _is_int(recipe.grad_accum) or recipe.grad_accum < 1:
        raise ValueError(f"grad_accum: expected an integer >= 1, got {recipe.grad_accum!r}")
    if recipe.patience is not None and (not _is_int(recipe.patience) or recipe.patience < 1):
        raise ValueError(f"patience: expected an integer >= 1 or None, got {recipe.patience!r}")
    if not _is_int(recipe.seed):
        raise ValueError(f"seed: expected an integer, got {recipe.seed!r}")
    for name in ("lr", "weight_decay"):
        value = getattr(recipe, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    warmup = recipe.warmup_epochs
    if not isinstance(warmup, (int, float)) or not 0 <= warmup < math.inf:
        raise ValueError(f"warmup_epochs: expected a number >= 0, got {warmup!r}")
    clip = recipe.clip_grad_norm
    if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
        raise ValueError(f"clip_grad_norm: expected a number > 0 or None, got {clip!r}")


@dataclass(frozen=True)
class Recipe:
    """How a Human-CLAP run trains: the loss, the optimiser and its schedule, the batches.

    The training arguments of :func:`humanclap.train.finetune` as one object, the way
    open_clip passes its training arguments: ``finetune(model, train, val, recipe)``, or the
    same fields as keywords (``finetune(model, train, val, lr=3e-4)``), or both (the keywords
    replace the recipe's fields). Checked when made: a bad value raises a ValueError naming
    its field.

    Parameters
    ----------
    loss : str
        Terms of :mod:`humanclap.losses` joined by ``+`` (``"wsce+mae"``, ``"sce"``,
        ``"mse"``, ``"wsce+margin"``, ``"mae+listnet"``, ...); ``wsce`` is weighted by
        ``target``.
    lambdas : dict or sequence, optional
        Weight per term (default 1 each).
    term_kwargs : dict ``{term: {name: value}}``, optional
        Hyper-parameters of the loss terms that have some (:data:`humanclap.losses.TERM_PARAMS`:
        ``margin`` of ``"margin"``, 0.1; ``temperature`` of ``"listnet"``, 0.1), e.g.
        ``{"margin": {"margin": 0.2}}``, as for :func:`humanclap.losses.combined`. They enter
        the run's identity with their defaults filled in.
    lr, weight_decay : float
        AdamW peak learning rate and decoupled weight decay (matrices only).
    num_epochs : int
        Training epochs (the cosine schedule spans all of them).
    batch_size : int
        Pairs per batch (also the contrastive batch). Each epoch reshuffles the training pairs
        with a ``torch.Generator`` seeded by ``seed``.
    trainable : {"all", "projections", "last:<n>", "freeze-audio:<k>"}
        See :meth:`humanclap.models.ClapModel.trainable_parameters`.
    warmup_epochs : float
        Linear warm-up length in epochs (a fraction allowed), at most the whole run.
    patience : int or None
        Stop after this many epochs without a higher validation SRCC; None = never.
    mask_false_negatives : bool
        Drop same-audio / same-caption pairs from the contrastive denominators.
    seed : int
        Seeds shuffling and the torch / numpy / python RNGs during training (the caller's RNG
        states are restored afterwards).
    grad_accum : int
        Batches per optimiser step.
    precision : {"auto", "fp32", "bf16", "fp16"}
        See :mod:`humanclap.runtime` ("auto": fp32 on CPU, bf16 or fp16 autocast on CUDA;
        "bf16" on a CPU with native bf16).
    clip_grad_norm : float or None
        Gradient-norm clip (None = off).
    """

    loss: str = "wsce+mae"
    lambdas: Mapping[str, float] | Sequence[float] | None = None
    term_kwargs: Mapping[str, Mapping[str, float]] | None = None
    lr: float = 1e-4
    num_epochs: int = 10
    batch_size: int = 32
    trainable: str = "all"
    weight_decay: float = 0.01
    warmup_epochs: float = 1
    patience: int | None = 3
    mask_false_negatives: bool = True
    seed: int = 0
    grad_accum: int = 1
    precision: str = "auto"
    clip_grad_norm: float | None = 1.0

    def __post_init__(self) -> None:
        _check_numbers(self)
        check_precision(self.precision)
        losses.resolve_lambdas(losses.parse_loss_name(self.loss), self.lambdas)
        losses.resolve_term_kwargs(losses.parse_loss_name(self.loss), self.term_kwargs)

    def replace(self, **changes: Any) -> Recipe:
        """This recipe with ``changes`` (field names); an unknown name is a TypeError naming
        it and the closest field."""
        names = [f.name for f in fields(self)]
        for name in changes:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(f"finetune: unknown recipe field {name!r}{hint}")
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class EpochSettings:
    """What every epoch of a run needs besides its state: a :class:`Recipe`'s values resolved
    (loss terms normalised, one weight per term, the precision for the device, progress).

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

    @classmethod
    def resolve(cls, recipe: Recipe, device: torch.device, progress: bool | None) -> EpochSettings:
        """``recipe``'s values for a run on ``device`` (``progress`` as ``want_progress``)."""
        terms = losses.parse_loss_name(recipe.loss)
        return cls(
            loss="+".join(terms),
            lambdas=losses.resolve_lambdas(terms, recipe.lambdas),
            num_epochs=int(recipe.num_epochs),
            batch_size=int(recipe.batch_size),
            grad_accum=int(recipe.grad_accum),
            clip_grad_norm=None if recipe.clip_grad_norm is None else float(recipe.clip_grad_norm),
            mask_false_negatives=bool(recipe.mask_false_negatives),
            patience=None if recipe.patience is None else int(recipe.patience),
            precision=resolve_precision(recipe.precision, device),
            progress=want_progress(progress),
            term_kwargs=losses.resolve_term_kwargs(terms, recipe.term_kwargs),
        )


def run_args(
    model: ClapModel, train: PairData, val: PairData, recipe: EpochSettings, **settings: Any
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


def resolve_recipe(recipe: Recipe | None, fields: Mapping[str, Any]) -> Recipe:
    """``recipe`` (default :class:`Recipe`) with ``fields`` replaced, as
    :func:`humanclap.train.finetune` takes them.

    Raises
    ------
    TypeError
        ``recipe`` is not a Recipe, or a field name is unknown (naming the closest).
    """
    if recipe is not None and not isinstance(recipe, Recipe):
        raise TypeError(f"recipe: expected a humanclap.train.Recipe, got {type(recipe).__name__}")
    recipe = recipe or Recipe()
    return recipe.replace(**fields) if fields else recipe


def run_identity(
    model: ClapModel,
    train: PairData,
    val: PairData,
    recipe: Recipe,
    device: torch.device,
    progress: bool | None = None,
) -> tuple[EpochSettings, dict[str, Any], str]:
    """A run's epoch settings, identity (:func:`run_args`) and its hash, the name of its folder:
    one computation for :func:`humanclap.train.finetune` and for planning a run before it
    trains (:func:`humanclap.train.plan.plan_run`)."""
    settings = EpochSettings.resolve(recipe, device, progress)
    args = run_args(
        model, train, val, settings, lr=float(recipe.lr), trainable=str(recipe.trainable),
        seed=int(recipe.seed), weight_decay=float(recipe.weight_decay),
        warmup_epochs=float(recipe.warmup_epochs), precision=recipe.precision,
    )  # fmt: skip
    return settings, args, stable_hash(args, length=32)


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
    n_train: int, recipe: EpochSettings, lr: float, warmup_epochs: float
) -> Callable[[int], float]:
    """The learning rate of each optimiser step: warm-up over ``warmup_epochs``, then cosine."""
    batches_per_epoch = len(make_batches(n_train, recipe.batch_size))
    steps_per_epoch = math.ceil(batches_per_epoch / recipe.grad_accum)
    total_steps = steps_per_epoch * recipe.num_epochs
    warmup_steps = min(math.ceil(warmup_epochs * steps_per_epoch), total_steps)
    return warmup_cosine(lr, warmup_steps, total_steps)
