"""The regression terms: the pair cosine against the human score, :func:`mae` and
:func:`mse`; see :mod:`humanclap.losses` for the notation."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from humanclap.losses._checks import check_vector
from humanclap.similarity import check_pairs, pair_cosine

__all__ = ["mae", "mse"]


def mae(audio_emb: Tensor, text_emb: Tensor, target: Tensor | Sequence[float]) -> Tensor:
    """Mean absolute error between the pair cosine and the human score.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
    target : Tensor, shape (N,)
        Human score of each pair, in [0, 1].

    Returns
    -------
    Tensor, shape ()
        ``(1/N) sum_i |cos(a_i, t_i) - y_i|``.
    """
    n = check_pairs(audio_emb, text_emb)
    y = check_vector(target, "target", n, audio_emb, unit_interval=True)
    return (pair_cosine(audio_emb, text_emb) - y).abs().mean()


def mse(audio_emb: Tensor, text_emb: Tensor, target: Tensor | Sequence[float]) -> Tensor:
    """Mean squared error ``(1/N) sum_i (cos(a_i, t_i) - y_i)^2``; see :func:`mae`."""
    n = check_pairs(audio_emb, text_emb)
    y = check_vector(target, "target", n, audio_emb, unit_interval=True)
    return (pair_cosine(audio_emb, text_emb) - y).square().mean()
