"""Validation of a CLAP model on human-rated pairs: the loss and the agreement of its cosine
with the human scores (SRCC, LCC, KTAU, MSE), as :func:`humanclap.train.finetune` reports them
after every epoch.

These embed without the disk cache (a model under training changes every epoch); the project's
cached scorer is :func:`humanclap.score.clapscore`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from humanclap import losses
from humanclap.models import ClapModel
from humanclap.runtime import (
    autocast,
    check_precision,
    eval_mode,
    resolve_precision,
)
from humanclap.similarity import pair_cosine
from humanclap.stats import correlation_report
from humanclap.train.clips import ClipStore
from humanclap.train.loop import make_batches
from humanclap.train.pairs import PairData, prepare_pairs
from humanclap.utils import progress_bar

__all__ = ["batch_mask", "cosine_scores", "embed_pairs", "evaluate", "evaluate_embedded"]

log = logging.getLogger("humanclap.train")


@torch.no_grad()
def embed_pairs(
    model: ClapModel,
    data: PairData,
    store: ClipStore,
    batch_size: int,
    precision: str,
    progress: bool | None = False,
) -> tuple[Tensor, Tensor]:
    """Embeddings of each pair in eval mode, each unique audio file and caption once.

    Returns
    -------
    audio_emb, text_emb : Tensor, shape (N, D), float32 on the model's device
    """
    device = model.device
    with eval_mode(model):
        uniq_paths = list(dict.fromkeys(data.paths))
        uniq_texts = list(dict.fromkeys(data.texts))
        path_batches = [
            uniq_paths[i : i + batch_size] for i in range(0, len(uniq_paths), batch_size)
        ]
        bar = progress_bar(
            store.batches(path_batches), total=len(path_batches), progress=progress,
            desc=f"embedding {data.name}", leave=False,
        )  # fmt: skip
        audio_parts = []
        for clips in bar:
            with autocast(device, precision):
                audio_parts.append(store.embed(model, clips).float())
        text_parts = []
        for i in range(0, len(uniq_texts), batch_size):
            with autocast(device, precision):
                text_parts.append(model.embed_text(uniq_texts[i : i + batch_size]).float())
        audio_u, text_u = torch.cat(audio_parts), torch.cat(text_parts)
    path_pos = {p: i for i, p in enumerate(uniq_paths)}
    text_pos = {t: i for i, t in enumerate(uniq_texts)}
    a_idx = torch.tensor([path_pos[p] for p in data.paths], device=audio_u.device)
    t_idx = torch.tensor([text_pos[t] for t in data.texts], device=text_u.device)
    return audio_u[a_idx], text_u[t_idx]


def batch_mask(
    data: PairData, idx: Sequence[int], enabled: bool, device: torch.device
) -> Tensor | None:
    """The false-negative mask of one batch (same audio or same caption), or None."""
    if not enabled:
        return None
    return losses.false_negative_mask(
        [data.audio_keys[i] for i in idx], [data.texts[i] for i in idx]
    ).to(device)


def _agreement(scores: np.ndarray, data: PairData) -> dict[str, float]:
    try:
        return correlation_report(scores, data.targets.astype(float))
    except ValueError as err:  # e.g. constant predictions: correlations undefined
        log.warning("%s: correlations undefined (%s)", data.name, err)
        mse = float(np.mean((scores - data.targets) ** 2))
        return {"srcc": math.nan, "lcc": math.nan, "ktau": math.nan, "mse": mse}


@torch.no_grad()
def evaluate_embedded(
    model: ClapModel,
    data: PairData,
    audio_emb: Tensor,
    text_emb: Tensor,
    loss: str,
    lambdas: Mapping[str, float] | Sequence[float] | None,
    batch_size: int,
    mask_false_negatives: bool,
    term_kwargs: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, float]:
    """Loss and agreement of already embedded pairs (see :func:`evaluate`)."""
    scores = pair_cosine(audio_emb.double(), text_emb.double()).cpu().numpy()
    report = _agreement(scores, data)
    targets = torch.as_tensor(data.targets, device=audio_emb.device)
    scale = model.logit_scale.detach().float()
    total, count = 0.0, 0
    for idx in make_batches(len(data), batch_size):
        value = losses.combined(
            loss,
            audio_emb[idx],
            text_emb[idx],
            targets[idx],
            scale,
            lambdas=lambdas,
            mask=batch_mask(data, idx, mask_false_negatives, audio_emb.device),
            term_kwargs=term_kwargs,
        )
        total += float(value) * len(idx)
        count += len(idx)
    metrics = {k: float(report[k]) for k in ("srcc", "lcc", "ktau", "mse")}
    return {"loss": total / count, **metrics, "n": len(data)}


def _embed_frame(
    model: ClapModel,
    data: PairData,
    batch_size: int,
    device: str | torch.device | None,
    precision: str,
    num_workers: int,
    progress: bool | None,
) -> tuple[Tensor, Tensor]:
    """Embed every pair of ``data`` once, in order (eval mode, no embedding cache): (N, D) and
    (N, D). Clips that fit in memory are decoded up front, so a model with a fixed audio front
    end gets its features from the process's cache (computed once for all the models a study
    scores on the same pairs)."""
    device = torch.device(device) if device is not None else model.device
    model = model.to(device)
    store = ClipStore(
        model.sample_rate, [data], preload="auto", num_workers=num_workers, model=model
    )
    try:
        precision = resolve_precision(check_precision(precision), device)
        return embed_pairs(model, data, store, batch_size, precision, progress)
    finally:
        store.close()


def cosine_scores(
    model: ClapModel,
    pairs: pd.DataFrame,
    *,
    audio_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    precision: str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
) -> np.ndarray:
    """Cosine of each pair's audio and text embeddings (no disk cache; the model in eval mode;
    a fixed audio front end's features come from the process's :mod:`humanclap.train.features`).

    ``pairs`` as for :func:`humanclap.train.finetune` except that ``target`` is not needed.
    With ``device`` given, ``model`` is moved there (``nn.Module.to``). ``precision`` as in
    :mod:`humanclap.runtime`.

    Returns
    -------
    np.ndarray, shape (N,), float64
    """
    if isinstance(pairs, pd.DataFrame) and "target" not in pairs.columns:
        pairs = pairs.assign(target=0.0)
    data = prepare_pairs(pairs, "pairs", audio_dir)
    audio_emb, text_emb = _embed_frame(
        model, data, batch_size, device, precision, num_workers, progress
    )
    return pair_cosine(audio_emb.double(), text_emb.double()).cpu().numpy()


def evaluate(
    model: ClapModel,
    pairs: pd.DataFrame,
    *,
    loss: str = "wsce+mae",
    lambdas: Mapping[str, float] | Sequence[float] | None = None,
    term_kwargs: Mapping[str, Mapping[str, float]] | None = None,
    mask_false_negatives: bool = True,
    audio_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    precision: str = "auto",
    num_workers: int = 2,
    progress: bool | None = None,
) -> dict[str, float]:
    """What :func:`humanclap.train.finetune` reports for its validation pairs, for any pairs.

    Arguments as for :func:`cosine_scores`, plus the loss (``loss``, ``lambdas``,
    ``term_kwargs``, ``mask_false_negatives``) as for :func:`humanclap.train.finetune`.

    Returns
    -------
    dict
        ``loss`` (the named loss, pairs in the given order in chunks of ``batch_size``, eval
        mode), ``srcc``, ``lcc``, ``ktau``, ``mse`` of the cosine against ``target``, and ``n``.
    """
    losses.resolve_term_kwargs(losses.parse_loss_name(loss), term_kwargs)
    data = prepare_pairs(pairs, "pairs", audio_dir, min_rows=3)
    audio_emb, text_emb = _embed_frame(
        model, data, batch_size, device, precision, num_workers, progress
    )
    return evaluate_embedded(
        model, data, audio_emb, text_emb, loss, lambdas, batch_size, mask_false_negatives,
        term_kwargs,
    )  # fmt: skip
