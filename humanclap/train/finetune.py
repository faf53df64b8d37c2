"""Human-CLAP: fine-tune a CLAP model so that its cosine agrees with human relevance ratings.

:func:`finetune` trains any :class:`humanclap.models.ClapModel` on (audio, caption, human score)
pairs with a loss from :mod:`humanclap.losses` (default ``"wsce+mae"``: the symmetric InfoNCE
weighted by the human score, plus the mean absolute error between the pair cosine and the score),
validating the Spearman correlation (SRCC) of the cosine with the human scores after every
epoch and keeping the best model.

Pairs
-----
A pandas DataFrame, one row per audio--text pair, with ``text``, ``target`` (the human score
in [0, 1]) and ``audio`` (paths) or ``wavname`` (under ``audio_dir``): see
:mod:`humanclap.train.pairs`. Audio is decoded at the model's rate, all of it up front when it
fits in about 2 GB, else batch by batch one batch ahead (:mod:`humanclap.train.clips`). A
model with a fixed audio front end (the tiny CLAP's log-mel) has each clip's features computed
once per process and shared by every epoch and run (:mod:`humanclap.train.features`).

The model is trained against whatever ``target`` holds, so which target it is gets chosen
when the pairs are made: ``humanclap.data.pair_table(ratings)`` gives the plain mean rating
/ 10, ``pair_table(ratings, target="listener_z")`` the listener-normalised one (each
listener's ratings z-scored, averaged per pair, mapped to [0, 1]; see
:func:`humanclap.data.pair_table`). The targets are part of the run's identity, so the two
never share an ``out_dir="auto"`` folder.

Training recipe
---------------
- Parameters: ``model.trainable_parameters(trainable)`` (``"all"``, ``"projections"``,
  ``"last:<n>"``, ``"freeze-audio:<k>"``); modules whose parameters are all frozen stay in eval
  mode (no dropout, frozen BatchNorm statistics), so a frozen encoder is a fixed feature
  extractor. When the frozen part includes the first audio blocks of a model that can run them
  ahead (the tiny CLAP's conv blocks), their output is computed once per clip and process
  (:mod:`humanclap.train.clips`): neither their forward nor their backward pass runs again.
- The loop is :mod:`humanclap.train.loop`'s: AdamW (weight decay on matrices only, not on
  biases, norms or the logit scale), linear
  warm-up over ``warmup_epochs`` (an int or a fraction of an epoch) then cosine decay to 0,
  updated every optimiser step; gradient-norm clipping (``clip_grad_norm``); gradient
  accumulation over ``grad_accum`` batches (the contrastive negatives stay within one batch).
- Precision (:mod:`humanclap.runtime`): ``precision="auto"`` is fp32 on the CPU and bf16
  autocast on CUDA where supported, else fp16 with a gradient scaler; ``"bf16"`` also runs on a
  CPU with native bf16 (1.3-1.5x faster than fp32 for the tiny CLAP); losses are computed in
  float32. The precision asked for is part of the run's identity.
- Ranking terms: ``"margin"`` and ``"listnet"`` (:mod:`humanclap.losses.ranking`) only ask
  the cosines of a batch to be ordered like its targets; their hyper-parameters (``margin``,
  ``temperature``) are set with ``term_kwargs={"margin": {"margin": 0.2}}`` and are part of
  the run's identity.
- False negatives: with ``mask_false_negatives=True`` the off-diagonal pairs of a batch that
  share the same audio (same file) or the same caption (same text) are removed from the
  contrastive softmax denominators (:func:`humanclap.losses.false_negative_mask`). In RELATE a
  caption is rated against three clips; pushing those apart as negatives would contradict the
  human score of each, which is what the weighted term already uses.
- Epoch 0 is the model before training, evaluated like every epoch, so the gain is visible.
  Its validation embeddings are computed once per process for all the runs that start from
  the same weights (:mod:`humanclap.train.start`); its loss is each run's own.
  Validation = SRCC / LCC / KTAU / MSE of the cosine against the validation targets and the
  validation loss (pairs in their given order, in chunks of ``batch_size``). The best epoch by
  validation SRCC (epoch 0 included: if training never helps, the result is the input model)
  is kept; training stops after ``patience`` epochs without improvement.

Outputs and resuming
--------------------
With ``out_dir``, after every epoch (atomically, :mod:`humanclap.train.state`):
``history.csv`` (one row per epoch), ``best.pt`` (when the best changes; a
:meth:`ClapModel.save` file, loadable with :func:`humanclap.models.load`) and ``state.pt``
(model, optimiser, step, gradient scaler, all random-number-generator states, history, best
weights and the hash of the run's arguments; readable with ``torch.load(weights_only=True)``).
Calling :func:`finetune` again with the same arguments and ``out_dir`` continues after the
last finished epoch (or returns at once if the run had finished) and gives the same weights as
an uninterrupted run on CPU; different arguments are refused (``resume=False`` starts afresh).
One process per ``out_dir``.

The input model is never modified: a copy is trained and returned in :class:`FinetuneResult`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from humanclap import losses
from humanclap.models import ClapModel
from humanclap.runtime import autocast
from humanclap.train.clips import ClipStore
from humanclap.train.evaluate import batch_mask, embed_pairs, evaluate_embedded
from humanclap.train.loop import make_batches, train_epoch
from humanclap.train.pairs import PairData, prepare_pairs
from humanclap.train.recipe import (
    EpochSettings,
    Recipe,
    out_path,
    resolve_recipe,
    run_identity,
    schedule,
)
from humanclap.train.run import FinetuneResult, FinetuneRun
from humanclap.train.start import START_EMBEDDINGS
from humanclap.train.state import (
    isolated_rngs,
    read_state,
    set_rng_states,
    write_history,
)

__all__ = ["FinetuneResult", "Recipe", "finetune", "prepare_run_pairs"]

log = logging.getLogger("humanclap.train")


# ----------------------------------------------------------------------------- arguments
def prepare_run_pairs(
    train_pairs: pd.DataFrame, val_pairs: pd.DataFrame, audio_dir: Any
) -> tuple[PairData, PairData]:
    """A run's training and validation pairs, checked (a validation split whose targets are all
    equal has no SRCC, and is refused)."""
    train = prepare_pairs(train_pairs, "train_pairs", audio_dir, min_rows=2)
    val = prepare_pairs(val_pairs, "val_pairs", audio_dir, min_rows=3)
    if np.all(val.targets == val.targets[0]):
        raise ValueError(
            f"val_pairs: all {len(val)} targets equal {float(val.targets[0])!r}; validation SRCC "
            "is undefined"
        )
    return train, val


# ----------------------------------------------------------------------------- epochs
def _train(
    run: FinetuneRun,
    train: PairData,
    store: ClipStore,
    recipe: EpochSettings,
    epoch: int,
    lr_at: Callable[[int], float],
) -> tuple[float, float]:
    """One epoch over the shuffled training pairs; returns (mean loss, last lr)."""
    model, device = run.work, run.work.device
    targets = torch.as_tensor(train.targets, device=device)
    order = torch.randperm(len(train), generator=run.gen).tolist()
    batches = make_batches(len(train), recipe.batch_size, order)

    def batch_loss(idx: Sequence[int], clips: list) -> torch.Tensor:
        with autocast(device, recipe.precision):
            audio_emb = store.embed(model, clips)
            text_emb = model.embed_text([train.texts[i] for i in idx])
        return losses.combined(
            recipe.loss,
            audio_emb.float(),
            text_emb.float(),
            targets[idx],
            model.logit_scale.float(),
            lambdas=recipe.lambdas,
            mask=batch_mask(train, idx, recipe.mask_false_negatives, device),
            term_kwargs=recipe.term_kwargs,
        )

    loss, run.step, last_lr = train_epoch(
        model, batches, batch_loss, run.optimizer, run.params,
        lr_at=lr_at, step=run.step,
        inputs=store.batches([[train.paths[i] for i in idx] for idx in batches]),
        grad_accum=recipe.grad_accum, clip_grad_norm=recipe.clip_grad_norm,
        scaler=run.scaler, progress=recipe.progress,
        desc=f"epoch {epoch}/{recipe.num_epochs}",
    )  # fmt: skip
    return loss, last_lr


def _epoch_row(
    run: FinetuneRun,
    train: PairData,
    val: PairData,
    store: ClipStore,
    recipe: EpochSettings,
    epoch: int,
    lr_at: Callable[[int], float],
    start_weights: str,
) -> dict[str, Any]:
    """Train one epoch (none for epoch 0), validate, and return the history row.
    ``start_weights``: the fingerprint of the weights the run started from."""
    started = time.perf_counter()
    train_loss, last_lr = math.nan, 0.0
    if epoch > 0:
        train_loss, last_lr = _train(run, train, store, recipe, epoch, lr_at)

    def embed() -> tuple[torch.Tensor, torch.Tensor]:
        return embed_pairs(run.work, val, store, recipe.batch_size, recipe.precision)

    if epoch == 0:  # the starting weights: shared by every run of this process that has them
        audio_emb, text_emb = START_EMBEDDINGS.get(
            start_weights, str(run.work.device), val, recipe.precision, recipe.batch_size, embed
        )
    else:
        audio_emb, text_emb = embed()
    report = evaluate_embedded(
        run.work, val, audio_emb, text_emb, recipe.loss, recipe.lambdas, recipe.batch_size,
        recipe.mask_false_negatives, recipe.term_kwargs,
    )  # fmt: skip
    return {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_loss": report["loss"],
        "val_srcc": report["srcc"],
        "val_lcc": report["lcc"],
        "val_ktau": report["ktau"],
        "val_mse": report["mse"],
        "lr": last_lr,
        "seconds": time.perf_counter() - started,
    }


# ----------------------------------------------------------------------------- finetune
def finetune(
    model: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    recipe: Recipe | None = None,
    *,
    device: str | torch.device | None = None,
    audio_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = True,
    preload: bool | str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
    callback: Callable[[int, dict[str, Any]], Any] | None = None,
    **recipe_fields: Any,
) -> FinetuneResult:
    """Fine-tune a copy of ``model`` on human-rated pairs (Human-CLAP); see the module doc.

    Parameters
    ----------
    model : ClapModel
        Not modified.
    train_pairs, val_pairs : pd.DataFrame
        Columns ``text``, ``target`` in [0, 1], and ``audio`` (paths) or ``wavname`` (under
        ``audio_dir``). At least 2 training and 3 validation pairs; the validation targets must
        vary (SRCC). Listener-normalised targets: make the pairs with
        ``humanclap.data.pair_table(ratings, target="listener_z")``.
    recipe : Recipe, optional
        How it trains (loss, learning rate, epochs, batches, seed, precision...): see
        :class:`humanclap.train.Recipe` for every field and its default.
    device : str or torch.device, optional
        Default: the model's device.
    audio_dir : path-like, optional
        Folder of ``wavname`` paths.
    out_dir : path-like or "auto", optional
        Where ``history.csv``, ``best.pt`` and ``state.pt`` go; enables resuming. ``"auto"``:
        ``<cache>/finetunes/<hash of the run's arguments>`` (:func:`humanclap.utils.cache_dir`),
        so that the same run, asked for again (e.g. by another chapter), is read back instead
        of trained again.
    resume : bool
        Continue a run found in ``out_dir`` (same arguments required); False starts afresh.
    preload : {"auto", True, False}
        Decode all audio up front ("auto": when it is estimated under 2 GB).
    num_workers : int
        Decoding threads.
    progress : bool or None
        Progress bars; None: when stderr is a terminal.
    callback : callable ``(epoch, row) -> None``, optional
        Called after each epoch (0 included) once its outputs are written; ``row`` is the
        history row (a dict). An exception raised here stops the run, which can be resumed.
    **recipe_fields :
        Fields of :class:`Recipe` as keywords (``lr=3e-4, num_epochs=5``): they replace the
        recipe's (or the defaults'); an unknown name is a TypeError naming the closest field.

    Returns
    -------
    FinetuneResult

    Raises
    ------
    ValueError
        Bad arguments or pairs (naming them), or ``out_dir`` holds a run with other arguments.
    FloatingPointError
        The training loss became NaN or infinite.
    """
    started = time.perf_counter()
    if not isinstance(model, ClapModel):
        raise TypeError(f"model: expected a humanclap.models.ClapModel, got {type(model).__name__}")
    recipe = resolve_recipe(recipe, recipe_fields)
    device = torch.device(device) if device is not None else model.device
    train, val = prepare_run_pairs(train_pairs, val_pairs, audio_dir)
    settings, args, args_hash = run_identity(model, train, val, recipe, device, progress)
    run_dir = out_path(out_dir, args_hash)
    state = read_state(run_dir, args, args_hash) if run_dir is not None and resume else None
    run = FinetuneRun.start(
        model, recipe.trainable, recipe.lr, recipe.weight_decay, device, settings.precision,
        recipe.seed,
    )  # fmt: skip
    if state is not None:
        run.restore(state)
        if not (run_dir / "best.pt").is_file():
            run.save_best(run_dir, args, args_hash)
        if run.done:
            write_history(run.history, run_dir / "history.csv")
            return run.result(run_dir, args, args_hash, time.perf_counter() - started)
    lr_at = schedule(len(train), settings, recipe.lr, recipe.warmup_epochs)
    store = ClipStore(
        run.work.sample_rate, [train, val], preload=preload, num_workers=num_workers,
        progress=settings.progress, model=run.work,
    )  # fmt: skip
    try:
        with isolated_rngs(device, recipe.seed):
            if state is not None:
                set_rng_states(state["rng"], run.gen, device)
            for epoch in range(run.start_epoch, settings.num_epochs + 1):
                row = _epoch_row(run, train, val, store, settings, epoch, lr_at, args["base_model"])
                improved = run.record(epoch, row, settings.patience, settings.num_epochs)
                log.info(
                    "epoch %d: train loss %.4f, val SRCC %.4f (best %.4f at %d)", epoch,
                    row["train_loss"], row["val_srcc"], run.best["val_srcc"], run.best["epoch"],
                )  # fmt: skip
                if run_dir is not None:
                    run.save(run_dir, epoch, improved, args, args_hash)
                if callback is not None:
                    callback(epoch, dict(row))
                if run.done:
                    break
    finally:
        store.close()
    return run.result(run_dir, args, args_hash, time.perf_counter() - started)
