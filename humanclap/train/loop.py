"""The training loop every humanclap trainer shares: batches, AdamW parameter groups, the
warm-up + cosine learning-rate schedule, and one epoch of optimiser steps.

Both :func:`humanclap.train.finetune` (Human-CLAP) and the tiny CLAP's pre-training
(:func:`humanclap.train.pretrain.fit_contrastive`) run :func:`train_epoch`; they differ only in
the loss of a batch (a callback) and in what they do between epochs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from humanclap.utils import progress_bar

__all__ = [
    "adamw",
    "make_batches",
    "set_train_mode",
    "train_epoch",
    "warmup_cosine",
]


def make_batches(n: int, batch_size: int, order: Sequence[int] | None = None) -> list[list[int]]:
    """Split ``order`` (default ``range(n)``) into batches of ``batch_size``.

    A last batch of one pair joins the previous batch (a contrastive loss needs two pairs).

    Returns
    -------
    list of lists of int
        Indices into the ``n`` pairs.
    """
    order = list(range(n)) if order is None else list(order)
    out = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(out) > 1 and len(out[-1]) < 2:
        out[-2].extend(out.pop())
    return out


def adamw(params: Sequence[nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on matrices only (not on biases, norms, scales)."""
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": float(weight_decay)}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    # foreach: one multi-tensor update per group instead of a Python loop over the parameters
    # (torch picks it by default on CUDA only; on a CPU it is the faster path too).
    return torch.optim.AdamW(groups, lr=float(lr), foreach=True)


def warmup_cosine(lr: float, warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """The learning rate of optimiser step ``step`` (0-based): linear warm-up over
    ``warmup_steps`` steps to ``lr``, then cosine decay to 0 at ``total_steps``."""

    def lr_at(step: int) -> float:
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        frac = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return lr * 0.5 * (1.0 + math.cos(math.pi * frac))

    return lr_at


def set_train_mode(model: nn.Module) -> None:
    """``model.train()``, then eval mode for every module whose parameters are all frozen (no
    dropout, frozen normalisation statistics: a frozen encoder is a fixed feature extractor)."""
    model.train()
    for module in model.modules():
        if module is model or not module.training:
            continue
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            module.eval()


def _step(
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    params: Sequence[nn.Parameter],
    lr: float,
    clip_grad_norm: float | None,
) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
    if clip_grad_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)


def train_epoch(
    model: nn.Module,
    batches: Sequence[Sequence[int]],
    batch_loss: Callable[[Sequence[int], Any], Tensor],
    optimizer: torch.optim.Optimizer,
    params: Sequence[nn.Parameter],
    *,
    lr_at: Callable[[int], float],
    step: int,
    inputs: Iterable[Any] | None = None,
    grad_accum: int = 1,
    clip_grad_norm: float | None = 1.0,
    scaler: torch.amp.GradScaler | None = None,
    progress: bool | None = False,
    desc: str = "training",
) -> tuple[float, int, float]:
    """One pass over ``batches``: loss, backward, and an optimiser step every ``grad_accum``
    batches (learning rate ``lr_at(step)``, gradient-norm clipping, optional loss scaling).

    Parameters
    ----------
    model : nn.Module
        Put in train mode (:func:`set_train_mode`) for the epoch, in eval mode after it.
    batches : sequence of index lists
        The pairs of each batch, in order.
    batch_loss : callable ``(indices, batch_input) -> Tensor``
        The scalar loss of one batch (float32); ``batch_input`` is the batch's item of
        ``inputs`` (None without ``inputs``).
    optimizer, params
        The optimiser and the parameters it updates (clipped together).
    lr_at : callable ``(step) -> float``
        Learning rate of each optimiser step.
    step : int
        Optimiser steps taken before this epoch.
    inputs : iterable, optional
        One item per batch (e.g. its decoded clips), consumed in step with ``batches``.
    grad_accum : int
        Batches per optimiser step (the last group of an epoch may be smaller).
    clip_grad_norm : float or None
        Gradient-norm clip; None = off.
    scaler : torch.amp.GradScaler, optional
        Loss scaling for fp16; None = off.
    progress : bool or None
        A progress bar (None: when stderr is a terminal).
    desc : str
        The bar's label.

    Returns
    -------
    mean_loss : float
        Mean of the batch losses, weighted by batch size.
    step : int
        Optimiser steps taken so far.
    last_lr : float
        Learning rate of the epoch's last step.

    Raises
    ------
    FloatingPointError
        A batch's loss is NaN or infinite.
    """
    scaler = scaler or torch.amp.GradScaler("cpu", enabled=False)
    set_train_mode(model)
    optimizer.zero_grad(set_to_none=True)
    total, count, last_lr = 0.0, 0, 0.0
    inputs = inputs if inputs is not None else (None for _ in batches)
    bar = progress_bar(
        zip(batches, inputs, strict=False), total=len(batches), progress=progress, desc=desc,
        leave=False,
    )  # fmt: skip
    try:
        for b, (idx, batch_input) in enumerate(bar):
            group_start = b - b % grad_accum
            group_size = min(grad_accum, len(batches) - group_start)
            value = batch_loss(idx, batch_input)
            if not torch.isfinite(value):
                raise FloatingPointError(
                    f"{desc}, batch {b}: training loss is {float(value)}; try a lower lr "
                    "(or precision='fp32')"
                )
            scaler.scale(value / group_size).backward()
            total += float(value.detach()) * len(idx)
            count += len(idx)
            if b - group_start + 1 == group_size:
                last_lr = lr_at(step)
                _step(optimizer, scaler, params, last_lr, clip_grad_norm)
                step += 1
            bar.set_postfix(loss=f"{total / count:.4f}", lr=f"{last_lr:.2e}")
    finally:
        bar.close()
    model.eval()
    return total / count, step, last_lr
