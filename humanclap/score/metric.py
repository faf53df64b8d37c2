"""CLAPScore as a ``torchmetrics.Metric``, for evaluation loops (plain, DDP or Lightning).

:class:`CLAPScore` accumulates the CLAPScore of (clip, prompt) pairs batch by batch: each batch
is scored by :func:`humanclap.score.functional.clap_score_update` (resampled to the model's
rate, then :func:`humanclap.score.clapscore`: the numbers of :func:`humanclap.score.score_pairs`).
Its state is the sum of the scores (float64) and their number, reduced across processes by
summing (``dist_reduce_fx="sum"``), and with ``per_pair=True`` the scores themselves (and the
pair ids given as ``index``), gathered (``dist_reduce_fx="cat"``): in DDP each process updates
on its shard and :meth:`~CLAPScore.compute` gives every process the value of all pairs.

The CLAP model is not a submodule of the metric: a LightningModule holding a ``CLAPScore`` does
not train, checkpoint or wrap (DDP) the CLAP model's weights; the metric's ``state_dict`` holds
its states only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat, rank_zero_warn

from humanclap import models
from humanclap.runtime import check_precision
from humanclap.score.functional import (
    DEFAULT_MODEL,
    clap_score_compute,
    clap_score_update,
    load_model,
)

__all__ = ["CLAPScore"]


class CLAPScore(Metric):
    """The mean CLAPScore (cosine of CLAP's clip and prompt embeddings) of all pairs updated.

    Parameters
    ----------
    model : str, path-like or humanclap.models.ClapModel
        A spec loaded by :func:`humanclap.models.load` (default: the released Human-CLAP
        ``"hf:sarulab-speech/human-clap-wsce-mae"``, from the Hugging Face cache or downloaded;
        offline and not cached, a FileNotFoundError says how to get it; ``"laion:<name>"`` for
        the CLAPScore of LAION-CLAP; ``"tiny"``), or a model, used as it is (not copied).
    device : str, torch.device or None
        Where the model runs: ``"cpu"``, ``"cuda:1"``, ``"auto"``
        (:func:`humanclap.runtime.resolve_device`), fixed whatever device the metric's states
        are on. None (default): the model follows the metric: a spec loads on the metric's
        device, and ``metric.to(device)`` / ``.cuda()`` (or Lightning moving the module that
        holds the metric) moves the model too; a model given as an object stays where it is
        until then.
    precision : {"auto", "fp32", "bf16", "fp16"}
        As in ``humanclap score`` (:mod:`humanclap.runtime`): ``"auto"`` is fp32 on a CPU and
        bf16 (or fp16) autocast on CUDA; ``"fp32"`` everywhere for full precision.
    sample_rate : int, optional
        Rate (Hz) of the waveforms :meth:`update` gets when it is not told.
    per_pair : bool
        Keep each pair's score: :meth:`compute` then returns a dict (see there).
    batch_size : int
        Clips per model call within one :meth:`update`.
    **kwargs
        ``torchmetrics.Metric``'s options (``sync_on_compute``, ``process_group``,
        ``compute_on_cpu`` ...).

    Examples
    --------
    >>> metric = CLAPScore("tiny", sample_rate=16000)  # doctest: +SKIP
    >>> for waves, prompts in loader:  # waves: (batch, samples) or a list of clips
    ...     metric.update(waves, prompts)
    >>> metric.compute()  # doctest: +SKIP
    ... # a 0-d float64 tensor: the mean over all pairs (and all processes under DDP)
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    plot_lower_bound = -1.0
    plot_upper_bound = 1.0

    score_sum: Tensor
    num_pairs: Tensor
    scores: list[Tensor] | Tensor
    index: list[Tensor] | Tensor

    def __init__(
        self,
        model: str | os.PathLike | models.ClapModel = DEFAULT_MODEL,
        *,
        device: str | torch.device | None = None,
        precision: str = "auto",
        sample_rate: int | None = None,
        per_pair: bool = False,
        batch_size: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.precision = check_precision(precision)
        self.sample_rate = sample_rate
        self.per_pair = bool(per_pair)
        self.batch_size = batch_size
        self.follows_metric = device is None
        where = device
        if device is None and not isinstance(model, models.ClapModel):
            where = self.device  # a spec loads where the metric's states are
        clap = load_model(model, where, precision)
        # Not a submodule (nn.Module.__setattr__ would register it): see the module's docstring.
        object.__setattr__(self, "_clap", clap)
        self.add_state("score_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("num_pairs", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")
        if self.per_pair:
            self.add_state("scores", [], dist_reduce_fx="cat")
            self.add_state("index", [], dist_reduce_fx="cat")

    @property
    def model(self) -> models.ClapModel:
        """The CLAP model the metric scores with."""
        return self._clap

    def extra_repr(self) -> str:
        return f"model={self._clap.spec!r}, per_pair={self.per_pair}"

    def _apply(self, fn: Callable, exclude_state: Sequence[str] = "") -> nn.Module:
        """Move the states as torchmetrics does, and the model with them when it follows the
        metric (``device=None``); dtype casts never touch the model."""
        this = super()._apply(fn, exclude_state)
        if self.follows_metric:
            self._clap.to(self.device)
        return this

    def update(
        self,
        audio: Any,
        texts: Sequence[str],
        sample_rate: int | None = None,
        index: Any = None,
    ) -> None:
        """Score a batch of pairs and add them to the state.

        Parameters
        ----------
        audio : Tensor, np.ndarray or sequence
            B clips: shape (B, T) or (B, C, T) (channels averaged to mono), or a list of B
            tensors/arrays of shape (T_i,); floating point, any device, any rate.
        texts : sequence of B str
            Their prompts (none empty).
        sample_rate : int, optional
            Rate (Hz) of ``audio`` (default: the metric's ``sample_rate``); resampled to the
            model's rate as files are (:func:`humanclap.audio.resample`).
        index : Tensor or sequence of B int, optional
            With ``per_pair=True``: each pair's id (e.g. its row in the dataset), returned by
            :meth:`compute` beside the scores, so that pairs can be told apart after the
            processes' scores are gathered.

        Raises
        ------
        ValueError
            No sample rate; misaligned ``audio`` / ``texts`` / ``index``; an empty prompt, a
            wrong shape, an integer dtype, an empty clip or NaN/inf samples (the message names
            ``texts[i]`` or ``audio[i]``); ``index`` without ``per_pair``.
        """
        rate = self.sample_rate if sample_rate is None else sample_rate
        if rate is None:
            raise ValueError(
                "sample_rate: the rate of the waveforms is not known; pass "
                f"update(..., sample_rate=16000) or CLAPScore(..., sample_rate=16000) (the "
                f"model takes {self._clap.sample_rate} Hz; clips are resampled to it)"
            )
        ids = self._check_index(index)
        scores = clap_score_update(audio, texts, self._clap, rate, batch_size=self.batch_size,
                                   precision=self.precision)  # fmt: skip
        if ids is not None and ids.numel() != scores.numel():
            raise ValueError(f"index: {ids.numel()} ids for {scores.numel()} pairs")
        scores = scores.to(self.device)
        self.score_sum += scores.sum()
        self.num_pairs += scores.numel()
        if self.per_pair:
            self.scores.append(scores)
            if ids is not None:
                self.index.append(ids.to(self.device))

    def _check_index(self, index: Any) -> Tensor | None:
        """``index`` as an int64 tensor (B,), or None; ValueError naming it."""
        if index is None:
            return None
        if not self.per_pair:
            raise ValueError("index: pair ids are kept only with CLAPScore(..., per_pair=True)")
        ids = (
            index.detach().cpu()
            if isinstance(index, Tensor)
            else torch.as_tensor(np.asarray(index))
        )
        if ids.ndim != 1 or (ids.numel() and (ids.is_floating_point() or ids.dtype == torch.bool)):
            raise ValueError(f"index: expected a 1-D sequence of integer ids, got {index!r}")
        return ids.to(torch.int64)

    def compute(self) -> Tensor | dict[str, Tensor]:
        """The mean CLAPScore of every pair updated (in every process under DDP).

        Returns
        -------
        Tensor, 0-d, float64
            The mean cosine (NaN, with a warning, when no pair was updated).
        dict of str to Tensor, with ``per_pair=True``
            ``"clap_score"``: the mean; ``"scores"``: shape (N,), float64, each pair's score,
            in update order (under DDP: process 0's pairs, then process 1's ...); ``"index"``:
            shape (N,), int64, the ids given to :meth:`update`, only when they were.

        Raises
        ------
        ValueError
            ``index`` was given in some updates and not in others.
        """
        if int(self.num_pairs) == 0:
            rank_zero_warn("CLAPScore.compute: no pairs were updated; the mean is NaN")
        mean = clap_score_compute(self.score_sum, self.num_pairs)
        if not self.per_pair:
            return mean
        scores = _cat(self.scores, torch.float64, self.device)
        out = {"clap_score": mean, "scores": scores}
        ids = _cat(self.index, torch.int64, self.device)
        if ids.numel():
            if ids.numel() != scores.numel():
                raise ValueError(
                    f"index: given for {ids.numel()} of {scores.numel()} pairs; pass index= "
                    "in every update or in none"
                )
            out["index"] = ids
        return out


def _cat(state: list[Tensor] | Tensor, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A list state (or its gathered tensor) as one tensor; torchmetrics gives a process
    without data an empty float32 tensor to gather, hence the cast."""
    if isinstance(state, list) and not state:
        return torch.zeros(0, dtype=dtype, device=device)
    return dim_zero_cat(state).to(dtype)
