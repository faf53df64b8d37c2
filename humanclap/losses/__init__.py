"""Training objectives for CLAP and Human-CLAP.

Notation (all functions): a batch of ``N`` audio--text pairs with embeddings ``audio_emb`` and
``text_emb`` of shape ``(N, D)``. Every loss first L2-normalises both (a no-op for the output of
:meth:`humanclap.models.ClapModel.embed_audio` / ``embed_text``), giving ``a`` and ``t``; ``s`` is
the logit scale (the exp'd temperature), ``L = s * a @ t.T`` the ``(N, N)`` logits with the
matching pairs on the diagonal, and ``y`` of shape ``(N,)`` the human score of each pair in
``[0, 1]``. ``CE(z, i) = -log softmax(z)_i``.

- :func:`sce`: symmetric InfoNCE, ``(1/N) sum_i 1/2 (CE(L[i, :], i) + CE(L[:, i], i))``;
- :func:`wsce`: the same with pair weights, ``(1/N) sum_i w_i 1/2 (CE(L[i, :], i) + CE(L[:, i], i))``
  (divided by ``N``, not by ``sum_i w_i``: ``w = 0`` gives 0, ``w = 1`` gives :func:`sce`);
- :func:`mae` / :func:`mse`: ``(1/N) sum_i |cos(a_i, t_i) - y_i|`` and its squared version;
- :func:`margin`: with ``p_i = cos(a_i, t_i)``, the pairwise hinge
  ``(1/K) sum_{i<j, y_i != y_j} max(0, m - sign(y_i - y_j) (p_i - p_j))`` over the ``K`` untied
  pairs of the batch (0 when there are none);
- :func:`listnet`: ``-sum_i softmax(y / tau)_i log softmax(p / tau)_i`` over the batch;
- :func:`combined`: a weighted sum of these terms chosen by name (``"wsce+mae"``,
  ``"wsce+margin"``, ...), the hyper-parameters of :func:`margin` (``margin``) and
  :func:`listnet` (``temperature``) passed as ``term_kwargs={"margin": {"margin": 0.2}}``.

One concern a module: :mod:`~humanclap.losses.contrastive` (``sce``, ``wsce``, the mask),
:mod:`~humanclap.losses.regression` (``mae``, ``mse``), :mod:`~humanclap.losses.ranking`
(``margin``, ``listnet``), :mod:`~humanclap.losses.combination` (names, weights,
hyper-parameters, ``combined``); every public name is importable from ``humanclap.losses``.

False negatives
---------------
RELATE rates each caption against about three audios (the natural clip and two synthesized ones),
and a few audios against two captions. In a batch that holds two pairs with the same caption (or
the same audio), the off-diagonal logit between them is *not* a true negative. The choice made
here: such entries are **removed from the softmax denominator** (their logits are set to
``-inf`` before the cross-entropy), in both the row (audio -> texts) and the column
(text -> audios) that contain them. They are neither pushed apart (as plain InfoNCE would do) nor
pulled together (as a multi-positive loss would): whether a synthesized clip matches its caption
is exactly what the human score says, so the contrastive term takes no side. The diagonal is
never removed, so every row and column keeps its positive. :func:`false_negative_mask` builds the
mask from pair ids; ``mask[i, j] = True`` removes logit ``L[i, j]`` from row ``i`` and column
``j``.

Validation: shapes, finiteness, ``target`` in ``[0, 1]``, non-negative weights, a positive
logit scale, margin and temperature are checked; violations raise :class:`ValueError` naming
the parameter.
"""

from __future__ import annotations

from humanclap.losses.combination import (
    TERM_PARAMS,
    TERMS,
    combined,
    parse_loss_name,
    resolve_lambdas,
    resolve_term_kwargs,
)
from humanclap.losses.contrastive import (
    _per_pair_contrastive,  # noqa: F401 (the per-pair values, checked by tests/test_losses.py)
    false_negative_mask,
    sce,
    wsce,
)
from humanclap.losses.ranking import listnet, margin
from humanclap.losses.regression import mae, mse

__all__ = [
    "TERMS",
    "TERM_PARAMS",
    "combined",
    "false_negative_mask",
    "listnet",
    "mae",
    "margin",
    "mse",
    "parse_loss_name",
    "resolve_lambdas",
    "resolve_term_kwargs",
    "sce",
    "wsce",
]
