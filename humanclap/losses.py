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
- :func:`combined`: a weighted sum of these terms chosen by name (``"wsce+mae"``, ...).

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

Validation: shapes, finiteness, ``target`` in ``[0, 1]``, non-negative weights and a positive
logit scale are checked; violations raise :class:`ValueError` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from humanclap.similarity import check_pairs, cosine_matrix, pair_cosine

__all__ = [
    "TERMS",
    "combined",
    "false_negative_mask",
    "mae",
    "mse",
    "parse_loss_name",
    "resolve_lambdas",
    "sce",
    "wsce",
]

TERMS: tuple[str, ...] = ("sce", "wsce", "mae", "mse")


# ----------------------------------------------------------------------------- validation
def _check_vector(
    x: Tensor | Sequence[float], name: str, n: int, like: Tensor, *, unit_interval: bool
) -> Tensor:
    """Return ``x`` as a tensor of shape ``(n,)`` (dtype/device of ``like``) after checks."""
    x = torch.as_tensor(x, dtype=like.dtype, device=like.device)
    if x.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},) to match the batch, got {tuple(x.shape)}")
    bad = ~torch.isfinite(x)
    if bad.any():
        where = torch.nonzero(bad).flatten().tolist()
        raise ValueError(
            f"{name}: {len(where)} of {n} values are NaN or infinite (positions {where[:10]})"
        )
    if unit_interval:
        out = (x < 0) | (x > 1)
        if out.any():
            where = torch.nonzero(out).flatten().tolist()
            raise ValueError(
                f"{name}: {len(where)} of {n} values lie outside [0, 1] (positions {where[:10]}, "
                f"min {x.min().item():.4g}, max {x.max().item():.4g})"
            )
    elif (x < 0).any():
        raise ValueError(f"{name}: weights must be >= 0, got min {x.min().item():.4g}")
    return x


def _check_scale(logit_scale: Tensor | float, like: Tensor) -> Tensor:
    scale = torch.as_tensor(logit_scale, dtype=like.dtype, device=like.device)
    if scale.numel() != 1:
        raise ValueError(f"logit_scale: expected a scalar, got shape {tuple(scale.shape)}")
    scale = scale.reshape(())
    if not torch.isfinite(scale) or scale <= 0:
        raise ValueError(f"logit_scale: expected a finite positive scalar, got {scale.item()!r}")
    return scale


def _check_mask(mask: Tensor | None, n: int, device: torch.device) -> Tensor | None:
    if mask is None:
        return None
    mask = torch.as_tensor(mask, device=device)
    if mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor (True = exclude), got {mask.dtype}")
    if mask.shape != (n, n):
        raise ValueError(f"mask: expected shape ({n}, {n}), got {tuple(mask.shape)}")
    if mask.diagonal().any():
        where = torch.nonzero(mask.diagonal()).flatten().tolist()
        raise ValueError(
            f"mask: the diagonal (the positive pairs) must not be masked; "
            f"True at positions {where[:10]}"
        )
    return mask


# ----------------------------------------------------------------------------- building blocks
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
    scale = _check_scale(logit_scale, audio_emb)
    mask = _check_mask(mask, n, audio_emb.device)
    logits = scale * cosine_matrix(audio_emb, text_emb)  # (N, N): row i = audio i, all texts
    if mask is not None:
        logits = logits.masked_fill(mask, float("-inf"))
    labels = torch.arange(n, device=logits.device)
    audio_to_text = F.cross_entropy(logits, labels, reduction="none")  # CE(L[i, :], i)
    text_to_audio = F.cross_entropy(logits.T, labels, reduction="none")  # CE(L[:, i], i)
    return 0.5 * (audio_to_text + text_to_audio)


# ----------------------------------------------------------------------------- losses
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
    w = _check_vector(weights, "weights", per_pair.shape[0], per_pair, unit_interval=False)
    return (w * per_pair).mean()


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
    y = _check_vector(target, "target", n, audio_emb, unit_interval=True)
    return (pair_cosine(audio_emb, text_emb) - y).abs().mean()


def mse(audio_emb: Tensor, text_emb: Tensor, target: Tensor | Sequence[float]) -> Tensor:
    """Mean squared error ``(1/N) sum_i (cos(a_i, t_i) - y_i)^2``; see :func:`mae`."""
    n = check_pairs(audio_emb, text_emb)
    y = _check_vector(target, "target", n, audio_emb, unit_interval=True)
    return (pair_cosine(audio_emb, text_emb) - y).square().mean()


def parse_loss_name(name: str) -> tuple[str, ...]:
    """Split a loss name such as ``"wsce+mae"`` into its terms, checking each.

    Terms are case-insensitive and separated by ``+``; each of :data:`TERMS` may appear once.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name: expected a loss name such as 'wsce+mae', got {name!r}")
    terms = tuple(part.strip().lower() for part in name.split("+"))
    for term in terms:
        if term not in TERMS:
            raise ValueError(
                f"name: unknown loss term {term!r} in {name!r}; valid terms: {', '.join(TERMS)}"
            )
    dupes = sorted({t for t in terms if terms.count(t) > 1})
    if dupes:
        raise ValueError(f"name: term(s) {dupes} repeated in {name!r}")
    return terms


def resolve_lambdas(
    terms: tuple[str, ...], lambdas: Mapping[str, float] | Sequence[float] | None
) -> dict[str, float]:
    """The weight of each term of a combined loss (validated), as :func:`combined` uses them.

    ``lambdas`` is None (1 each), a sequence aligned with ``terms`` or a mapping by term name.
    """
    if lambdas is None:
        return dict.fromkeys(terms, 1.0)
    if isinstance(lambdas, Mapping):
        unknown = [k for k in lambdas if str(k).lower() not in terms]
        if unknown:
            raise ValueError(f"lambdas: term(s) {unknown} are not in the loss {'+'.join(terms)}")
        given = {str(k).lower(): float(v) for k, v in lambdas.items()}
        out = {t: given.get(t, 1.0) for t in terms}
    else:
        values = [float(v) for v in lambdas]
        if len(values) != len(terms):
            raise ValueError(
                f"lambdas: got {len(values)} values for {len(terms)} terms ({'+'.join(terms)})"
            )
        out = dict(zip(terms, values, strict=True))
    for term, lam in out.items():
        if not torch.isfinite(torch.tensor(lam)):
            raise ValueError(f"lambdas: weight of {term!r} is {lam!r}; expected a finite number")
    return out


def combined(
    name: str,
    audio_emb: Tensor,
    text_emb: Tensor,
    target: Tensor | Sequence[float] | None,
    logit_scale: Tensor | float,
    lambdas: Mapping[str, float] | Sequence[float] | None = None,
    mask: Tensor | None = None,
    *,
    return_terms: bool = False,
) -> Tensor | tuple[Tensor, dict[str, float]]:
    """Weighted sum of loss terms chosen by name: ``sum_k lambda_k * term_k``.

    Parameters
    ----------
    name : str
        Terms from :data:`TERMS` joined by ``+``, e.g. ``"wsce+mae"``, ``"mse+mae"``,
        ``"wsce+mse+mae"``, ``"sce"``. ``wsce`` uses ``w = target``.
    audio_emb, text_emb : Tensor, shape (N, D)
    target : Tensor, shape (N,), or None
        Human scores in [0, 1]; may be None only when the name is ``"sce"``.
    logit_scale : Tensor or float, scalar
        Used by the contrastive terms.
    lambdas : dict or sequence, optional
        Weight per term: a dict ``{term: weight}`` (missing terms get 1) or one value per term in
        the order of ``name``. Default: all 1.
    mask : BoolTensor, shape (N, N), optional
        False-negative mask for the contrastive terms (see :func:`false_negative_mask`).
    return_terms : bool
        Also return the (unweighted, detached) value of each term as floats, for logging.

    Returns
    -------
    Tensor, shape () -- or (Tensor, dict[str, float]) when ``return_terms``.
    """
    terms = parse_loss_name(name)
    weights = resolve_lambdas(terms, lambdas)
    needs_target = [t for t in terms if t != "sce"]
    if target is None and needs_target:
        raise ValueError(f"target: required by term(s) {needs_target} of {name!r}, got None")
    total = None
    values: dict[str, float] = {}
    for term in terms:
        if term == "sce":
            value = sce(audio_emb, text_emb, logit_scale, mask=mask)
        elif term == "wsce":
            n = check_pairs(audio_emb, text_emb)
            w = _check_vector(target, "target", n, audio_emb, unit_interval=True)
            value = wsce(audio_emb, text_emb, w, logit_scale, mask=mask)
        elif term == "mae":
            value = mae(audio_emb, text_emb, target)
        else:  # "mse"
            value = mse(audio_emb, text_emb, target)
        values[term] = float(value.detach())
        total = weights[term] * value if total is None else total + weights[term] * value
    assert total is not None  # parse_loss_name returns at least one term
    return (total, values) if return_terms else total
