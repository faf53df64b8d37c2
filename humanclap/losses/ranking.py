"""The ranking terms: the pair cosines ``p_i = cos(a_i, t_i)`` should be ordered like the human
scores ``y_i``, whatever their scale. :func:`margin` is a pairwise hinge (RankNet-like, with a
margin), :func:`listnet` the ListNet top-one cross-entropy between the two softmax
distributions over the batch. See :mod:`humanclap.losses` for the notation.

Both only compare pairs *within* a batch, so they say nothing about where the cosines lie (an
order-preserving shift or stretch of ``p`` leaves :func:`margin` unchanged once the margins are
met); combine them with :func:`~humanclap.losses.mae` or a contrastive term for that.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from humanclap.losses._checks import check_positive, check_vector
from humanclap.similarity import check_pairs, pair_cosine

__all__ = ["listnet", "margin", "ranked_pairs"]


def ranked_pairs(target: Tensor) -> tuple[Tensor, Tensor]:
    """The pairs of a batch that :func:`margin` compares, and which way.

    Parameters
    ----------
    target : Tensor, shape (N,)
        Human scores.

    Returns
    -------
    sign : Tensor, shape (N, N)
        ``sign(y_i - y_j)`` (-1, 0 or 1), in ``target``'s dtype.
    valid : BoolTensor, shape (N, N)
        True for ``i < j`` with ``y_i != y_j`` (the strict upper triangle without ties); its
        sum is the denominator of :func:`margin`.
    """
    sign = torch.sign(target[:, None] - target[None, :])
    n = target.shape[0]
    upper = torch.ones(n, n, dtype=torch.bool, device=target.device).triu(diagonal=1)
    return sign, upper & (sign != 0)


def margin(
    audio_emb: Tensor,
    text_emb: Tensor,
    target: Tensor | Sequence[float],
    margin: float = 0.1,
) -> Tensor:
    """Pairwise margin ranking loss between the pair cosine and the human score.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
    target : Tensor, shape (N,)
        Human score of each pair, in [0, 1].
    margin : float
        ``m`` > 0, in cosine units: how far apart two differently rated pairs' cosines should
        be, in the direction of their scores, before the pair stops contributing.

    Returns
    -------
    Tensor, shape ()
        ``(1/K) sum_{i<j, y_i != y_j} max(0, m - sign(y_i - y_j) (p_i - p_j))`` with
        ``p_i = cos(a_i, t_i)`` and ``K`` the number of such pairs. Ties (``y_i == y_j``) are
        left out, of the sum and of ``K``; a batch without any untied pair (all targets equal,
        or ``N = 1``) gives 0 with a zero gradient. Computed on the ``(N, N)`` upper triangle
        at once (:func:`ranked_pairs`).
    """
    n = check_pairs(audio_emb, text_emb)
    y = check_vector(target, "target", n, audio_emb, unit_interval=True)
    m = check_positive(margin, "margin")
    p = pair_cosine(audio_emb, text_emb)
    sign, valid = ranked_pairs(y)
    hinge = (m - sign * (p[:, None] - p[None, :])).clamp(min=0)  # (N, N)
    return hinge.masked_fill(~valid, 0).sum() / valid.sum().clamp(min=1)


def listnet(
    audio_emb: Tensor,
    text_emb: Tensor,
    target: Tensor | Sequence[float],
    temperature: float = 0.1,
) -> Tensor:
    """ListNet (top-one) ranking loss: the batch's cosines as a softmax against the scores'.

    Parameters
    ----------
    audio_emb, text_emb : Tensor, shape (N, D)
    target : Tensor, shape (N,)
        Human score of each pair, in [0, 1].
    temperature : float
        ``tau`` > 0, dividing both the scores and the cosines (both lie in [0, 1] / [-1, 1]).

    Returns
    -------
    Tensor, shape ()
        ``-sum_i softmax(y / tau)_i log softmax(p / tau)_i`` over the batch (a sum, not a mean:
        the cross-entropy of two distributions over the N pairs), with ``p_i = cos(a_i, t_i)``;
        ``log_softmax`` keeps it finite. Its minimum over ``p`` is the entropy of
        ``softmax(y / tau)``, reached when ``p - y`` is constant, so it is not 0; it is 0 for
        ``N = 1``.
    """
    n = check_pairs(audio_emb, text_emb)
    y = check_vector(target, "target", n, audio_emb, unit_interval=True)
    tau = check_positive(temperature, "temperature")
    p = pair_cosine(audio_emb, text_emb)
    return -(torch.softmax(y / tau, dim=0) * torch.log_softmax(p / tau, dim=0)).sum()
