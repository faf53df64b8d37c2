"""Cosine similarity of embeddings, the one implementation every layer uses, and the
cross-modal retrieval it gives.

CLAPScore, the Human-CLAP losses, validation and retrieval all compare an audio embedding
``a`` with a text embedding ``t`` by ``cos(a, t) = a . t / (|a| |t|)``, computed here as the dot
product of the L2-normalised vectors (``torch.nn.functional.normalize``), so the same inputs
give the same bits wherever the cosine is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["check_pairs", "cosine_matrix", "cosine_rows", "pair_cosine", "retrieval_at_k"]


def check_pairs(audio_emb: Tensor, text_emb: Tensor) -> int:
    """Check two embedding tensors of N matching pairs; return ``N``.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
        Floating point, finite, ``N >= 1``.

    Raises
    ------
    TypeError, ValueError
        Naming the argument and what is wrong with it.
    """
    for name, emb in (("audio_emb", audio_emb), ("text_emb", text_emb)):
        if not isinstance(emb, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(emb).__name__}")
        if emb.ndim != 2:
            raise ValueError(f"{name}: expected shape (N, D), got shape {tuple(emb.shape)}")
        if not emb.is_floating_point():
            raise ValueError(f"{name}: expected a floating-point tensor, got {emb.dtype}")
    if audio_emb.shape != text_emb.shape:
        raise ValueError(
            f"audio_emb has shape {tuple(audio_emb.shape)} but text_emb has shape "
            f"{tuple(text_emb.shape)}; both must be (N, D)"
        )
    n = audio_emb.shape[0]
    if n == 0:
        raise ValueError("audio_emb/text_emb: empty batch (N = 0)")
    for name, emb in (("audio_emb", audio_emb), ("text_emb", text_emb)):
        if not torch.isfinite(emb).all():
            raise ValueError(f"{name}: contains NaN or infinite values")
    return n


def pair_cosine(audio_emb: Tensor, text_emb: Tensor) -> Tensor:
    """Cosine of each pair: ``cos(audio_emb[i], text_emb[i])``.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)

    Returns
    -------
    Tensor, shape (N,)
        In the inputs' dtype, differentiable.
    """
    return (F.normalize(audio_emb, dim=-1) * F.normalize(text_emb, dim=-1)).sum(-1)


def cosine_matrix(audio_emb: Tensor, text_emb: Tensor) -> Tensor:
    """Cosine of every audio with every text.

    Parameters
    ----------
    audio_emb : Tensor, shape (N, D)
    text_emb : Tensor, shape (M, D)

    Returns
    -------
    Tensor, shape (N, M)
        Row ``i``: audio ``i`` against all texts; differentiable.
    """
    return F.normalize(audio_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T


def cosine_rows(audio_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
    """:func:`pair_cosine` of two arrays, in float64, NaN where a row is NaN or all zero.

    Parameters
    ----------
    audio_emb, text_emb : array-like, shape (N, D)

    Returns
    -------
    np.ndarray, shape (N,), float64
    """
    a = np.asarray(audio_emb, dtype=np.float64)
    t = np.asarray(text_emb, dtype=np.float64)
    if a.ndim != 2 or a.shape != t.shape:
        raise ValueError(f"expected two (N, D) arrays of one shape, got {a.shape} and {t.shape}")
    cos = pair_cosine(torch.from_numpy(a), torch.from_numpy(t)).numpy()
    zero = ~(np.abs(a).sum(axis=1) > 0) | ~(np.abs(t).sum(axis=1) > 0)
    return np.where(zero, np.nan, cos)


def retrieval_at_k(
    audio_emb: Tensor, text_emb: Tensor, ks: Sequence[int] = (1, 5)
) -> dict[str, float]:
    """Cross-modal retrieval recall@k of N matching pairs (row i of each is pair i).

    For text ``i`` the audios are ranked by cosine; the hit counts when fewer than ``k`` audios
    score *strictly* higher than audio ``i`` (so exact ties, e.g. duplicated captions or clips,
    do not count against a pair). Likewise audio -> text.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
    ks : sequence of int
        Cut-offs, each >= 1.

    Returns
    -------
    dict
        ``"n"``: N; for each k: ``"text_to_audio@k"``, ``"audio_to_text@k"`` (fractions in
        [0, 1]) and ``"chance@k"`` = min(k, N) / N, the expected recall of a random ranking.
    """
    n = check_pairs(audio_emb, text_emb)
    bad_ks = [k for k in ks if int(k) != k or k < 1]
    if bad_ks:
        raise ValueError(f"ks: cut-offs must be integers >= 1, got {bad_ks}")
    with torch.no_grad():
        sim = cosine_matrix(audio_emb.detach().double(), text_emb.detach().double())
        diag = sim.diagonal()
        # rank of the true item: how many others score strictly higher
        rank_t2a = (sim > diag[None, :]).sum(dim=0)  # per text, over audios (column)
        rank_a2t = (sim > diag[:, None]).sum(dim=1)  # per audio, over texts (row)
    out: dict[str, float] = {"n": n}
    for k in ks:
        k = int(k)
        out[f"text_to_audio@{k}"] = float((rank_t2a < k).double().mean())
        out[f"audio_to_text@{k}"] = float((rank_a2t < k).double().mean())
        out[f"chance@{k}"] = min(k, n) / n
    return out
