"""The contrastive terms: symmetric InfoNCE (:func:`sce`), its score-weighted version
(:func:`wsce`) and the false-negative mask (:func:`false_negative_mask`); see
:mod:`humanclap.losses` for the notation and the masking choice."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from humanclap.losses._checks import check_mask, check_scale, check_vector
from humanclap.similarity import check_pairs, cosine_matrix

__all__ = ["false_negative_mask", "sce", "wsce"]


def false_negative_mask(
    audio_ids: Sequence[Hashable] | Tensor, text_ids: Sequence[Hashable] | Tensor
) -> Tensor:
    """Mask of the off-diagonal pairs that share an audio or a caption.

    Parameters
    ----------
    audio_ids, text_ids : sequence of length N
        Identity of each pair's audio (e.g. its ``wavname``) and caption (e.g. its text). Any
        hashable values (strings, ints) or 1-D tensors.

    Returns
    -------
    torch.BoolTensor, shape (N, N)
        ``mask[i, j]`` is True when ``i != j`` and pairs ``i`` and ``j`` have the same audio or
        the same caption (then ``L[i, j]`` is a false negative and is excluded from the
        denominators). The diagonal is always False.
    """
    codes = []
    for name, ids in (("audio_ids", audio_ids), ("text_ids", text_ids)):
        if isinstance(ids, Tensor):
            if ids.ndim != 1:
                raise ValueError(f"{name}: expected a 1-D sequence, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        ids = list(ids)
        lookup: dict[Hashable, int] = {}
        codes.append(
            torch.tensor([lookup.setdefault(x, len(lookup)) for x in ids], dtype=torch.long)
        )
    audio_codes, text_codes = codes
    if len(audio_codes) != len(text_codes):
        raise ValueError(
            f"audio_ids has {len(audio_codes)} entries but text_ids has {len(text_codes)}"
        )
    same = (audio_codes[:, None] == audio_codes[None, :]) | (
        text_codes[:, None] == text_codes[None, :]
    )
    same.fill_diagonal_(False)
    return same


def _per_pair_contrastive(
    audio_emb: Tensor, text_emb: Tensor, logit_scale: Tensor | float, mask: Tensor | None
) -> Tensor:
    """Per-pair symmetric cross-entropy ``1/2 (CE(L[i, :], i) + CE(L[:, i], i))``, shape (N,)."""
    n = check_pairs(audio_emb, text_emb)
    scale = check_scale(logit_scale, audio_emb)
    mask = check_mask(mask, n, audio_emb.device)
    logits = scale * cosine_matrix(audio_emb, text_emb)  # (N, N): row i = audio i, all texts
    if mask is not None:
        logits = logits.masked_fill(mask, float("-inf"))
    labels = torch.arange(n, device=logits.device)
    audio_to_text = F.cross_entropy(logits, labels, reduction="none")  # CE(L[i, :], i)
    text_to_audio = F.cross_entropy(logits.T, labels, reduction="none")  # CE(L[:, i], i)
    return 0.5 * (audio_to_text + text_to_audio)


def sce(
    audio_emb: Tensor,
    text_emb: Tensor,
    logit_scale: Tensor | float,
    mask: Tensor | None = None,
) -> Tensor:
    """Symmetric InfoNCE (the CLIP/CLAP objective), a scalar tensor.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
        Embeddings of N matching pairs (row i of each is pair i).
    logit_scale : Tensor or float, scalar
        The exp'd temperature ``s`` (e.g. ``model.logit_scale``), > 0.
    mask : BoolTensor, shape (N, N), optional
        True = drop that logit from the softmax denominators (see :func:`false_negative_mask`).

    Returns
    -------
    Tensor, shape ()
        ``(1/N) sum_i 1/2 (CE(L[i, :], i) + CE(L[:, i], i))`` with ``L = s * a @ t.T``.
    """
    return _per_pair_contrastive(audio_emb, text_emb, logit_scale, mask).mean()


def wsce(
    audio_emb: Tensor,
    text_emb: Tensor,
    weights: Tensor | Sequence[float],
    logit_scale: Tensor | float,
    mask: Tensor | None = None,
) -> Tensor:
    """Weighted symmetric InfoNCE, a scalar tensor.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
    weights : Tensor, shape (N,)
        Non-negative, finite weight of each pair (Human-CLAP uses the human score in [0, 1]).
    logit_scale : Tensor or float, scalar
    mask : BoolTensor, shape (N, N), optional

    Returns
    -------
    Tensor, shape ()
        ``(1/N) sum_i w_i 1/2 (CE(L[i, :], i) + CE(L[:, i], i))``. The sum is divided by ``N``
        (not by ``sum w``): all-ones weights give :func:`sce`, all-zero weights give 0.
    """
    per_pair = _per_pair_contrastive(audio_emb, text_emb, logit_scale, mask)
    w = check_vector(weights, "weights", per_pair.shape[0], per_pair, unit_interval=False)
    return (w * per_pair).mean()
