"""Combining loss terms by name: ``"wsce+mae"``, ``"wsce+margin"``, ``"mae+listnet"``, ...

:func:`parse_loss_name` splits and checks a name, :func:`resolve_lambdas` gives each term its
weight, :func:`resolve_term_kwargs` each term its hyper-parameters, and :func:`combined` adds the
weighted terms up. Terms and their hyper-parameters are in :data:`TERMS` and
:data:`TERM_PARAMS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import torch
from torch import Tensor

from humanclap.losses._checks import check_positive, check_vector
from humanclap.losses.contrastive import sce, wsce
from humanclap.losses.ranking import listnet, margin
from humanclap.losses.regression import mae, mse
from humanclap.similarity import check_pairs

__all__ = [
    "TERMS",
    "TERM_PARAMS",
    "combined",
    "parse_loss_name",
    "resolve_lambdas",
    "resolve_term_kwargs",
]

TERMS: tuple[str, ...] = ("sce", "wsce", "mae", "mse", "margin", "listnet")

#: The hyper-parameters of the terms that have some, with their defaults: the keyword arguments
#: of :func:`~humanclap.losses.margin` and :func:`~humanclap.losses.listnet`. Set them through
#: ``term_kwargs`` (:func:`combined`, :func:`humanclap.train.finetune`).
TERM_PARAMS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "margin": MappingProxyType({"margin": 0.1}),
        "listnet": MappingProxyType({"temperature": 0.1}),
    }
)


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
    Every weight must be a finite number >= 0: a negative weight would train towards a larger
    value of its term (0 switches a term off).
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
        if not torch.isfinite(torch.tensor(lam)) or lam < 0:
            raise ValueError(
                f"lambdas: weight of {term!r} is {lam!r}; expected a finite number >= 0 (a "
                "negative weight would train towards a larger loss)"
            )
    return out


def resolve_term_kwargs(
    terms: tuple[str, ...], term_kwargs: Mapping[str, Mapping[str, float]] | None
) -> dict[str, dict[str, float]]:
    """The hyper-parameters of each term of a combined loss (validated, defaults filled in).

    Parameters
    ----------
    terms : tuple of str
        Output of :func:`parse_loss_name`.
    term_kwargs : mapping ``{term: {name: value}}`` or None
        Hyper-parameters to change, e.g. ``{"margin": {"margin": 0.2}}``; term names are
        case-insensitive. Every term named must be in ``terms`` and have hyper-parameters
        (:data:`TERM_PARAMS`); every value must be a finite number > 0.

    Returns
    -------
    dict
        ``{term: {name: value}}`` for the terms of ``terms`` that have hyper-parameters (in the
        order of ``terms``), every hyper-parameter present; ``{}`` when none has any (e.g.
        ``"wsce+mae"``).
    """
    given: dict[str, Mapping[str, float]] = {}
    if term_kwargs is not None:
        if not isinstance(term_kwargs, Mapping):
            raise ValueError(
                "term_kwargs: expected a mapping {term: {name: value}}, e.g. "
                f"{{'margin': {{'margin': 0.2}}}}, got {type(term_kwargs).__name__}"
            )
        given = {str(k).lower(): v for k, v in term_kwargs.items()}
    unknown = [k for k in given if k not in terms]
    if unknown:
        raise ValueError(f"term_kwargs: term(s) {unknown} are not in the loss {'+'.join(terms)}")
    plain = [k for k in given if k not in TERM_PARAMS]
    if plain:
        raise ValueError(
            f"term_kwargs: term(s) {plain} have no hyper-parameters; those that do: "
            + ", ".join(f"{t} ({', '.join(p)})" for t, p in TERM_PARAMS.items())
        )
    out: dict[str, dict[str, float]] = {}
    for term in (t for t in terms if t in TERM_PARAMS):
        values = given.get(term, {})
        if not isinstance(values, Mapping):
            raise ValueError(
                f"term_kwargs[{term!r}]: expected a mapping {{name: value}}, got {values!r}"
            )
        bad = [k for k in values if k not in TERM_PARAMS[term]]
        if bad:
            raise ValueError(
                f"term_kwargs[{term!r}]: unknown hyper-parameter(s) {bad}; valid: "
                f"{', '.join(TERM_PARAMS[term])}"
            )
        out[term] = {
            name: check_positive(values.get(name, default), f"term_kwargs[{term!r}][{name!r}]")
            for name, default in TERM_PARAMS[term].items()
        }
    return out


def _term(
    term: str,
    audio_emb: Tensor,
    text_emb: Tensor,
    target: Tensor | Sequence[float] | None,
    logit_scale: Tensor | float,
    mask: Tensor | None,
    kwargs: Mapping[str, float],
) -> Tensor:
    """The value of one term of :func:`combined` (``target`` checked by the caller)."""
    if term == "sce":
        return sce(audio_emb, text_emb, logit_scale, mask=mask)
    if term == "wsce":
        n = check_pairs(audio_emb, text_emb)
        w = check_vector(target, "target", n, audio_emb, unit_interval=True)
        return wsce(audio_emb, text_emb, w, logit_scale, mask=mask)
    if term == "mae":
        return mae(audio_emb, text_emb, target)
    if term == "mse":
        return mse(audio_emb, text_emb, target)
    if term == "margin":
        return margin(audio_emb, text_emb, target, **kwargs)
    return listnet(audio_emb, text_emb, target, **kwargs)  # "listnet"


def combined(
    name: str,
    audio_emb: Tensor,
    text_emb: Tensor,
    target: Tensor | Sequence[float] | None,
    logit_scale: Tensor | float,
    lambdas: Mapping[str, float] | Sequence[float] | None = None,
    mask: Tensor | None = None,
    *,
    term_kwargs: Mapping[str, Mapping[str, float]] | None = None,
    return_terms: bool = False,
) -> Tensor | tuple[Tensor, dict[str, float]]:
    """Weighted sum of loss terms chosen by name: ``sum_k lambda_k * term_k``.

    Parameters
    ----------
    name : str
        Terms from :data:`TERMS` joined by ``+``, e.g. ``"wsce+mae"``, ``"mse+mae"``,
        ``"wsce+mse+mae"``, ``"sce"``, ``"wsce+margin"``, ``"mae+listnet"``. ``wsce`` uses
        ``w = target``.
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
    term_kwargs : dict ``{term: {name: value}}``, optional
        Hyper-parameters of the terms that have some (:data:`TERM_PARAMS`), passed to that
        term's function as keyword arguments, e.g. ``{"margin": {"margin": 0.2}}`` or
        ``{"listnet": {"temperature": 0.05}}``; those not given keep their defaults. Naming a
        term that is not in ``name`` or has no hyper-parameters is an error
        (:func:`resolve_term_kwargs`).
    return_terms : bool
        Also return the (unweighted, detached) value of each term as floats, for logging.

    Returns
    -------
    Tensor, shape () -- or (Tensor, dict[str, float]) when ``return_terms``.
    """
    terms = parse_loss_name(name)
    weights = resolve_lambdas(terms, lambdas)
    kwargs = resolve_term_kwargs(terms, term_kwargs)
    needs_target = [t for t in terms if t != "sce"]
    if target is None and needs_target:
        raise ValueError(f"target: required by term(s) {needs_target} of {name!r}, got None")
    total = None
    values: dict[str, float] = {}
    for term in terms:
        value = _term(term, audio_emb, text_emb, target, logit_scale, mask, kwargs.get(term, {}))
        values[term] = float(value.detach())
        total = weights[term] * value if total is None else total + weights[term] * value
    assert total is not None  # parse_loss_name returns at least one term
    return (total, values) if return_terms else total
