"""Vectorised resampling machinery: bootstrap distributions, percentile intervals, p-values.

Resampling unit. RELATE rates each caption with about three clips (the natural one and two
synthesized), so the pairs that share a caption are not independent. Every bootstrap resamples
**captions** by default (``unit="caption"``): a resample draws as many captions as there are,
with replacement, and takes all the pairs of each drawn caption (a caption drawn twice brings
its pairs twice); ``clusters=`` gives the caption of each pair, shape (n,). ``unit="pair"``
resamples the ``n`` pairs as if independent (what every bootstrap did before). Captions of one
pair each give exactly the pair bootstrap: the same draws of the same random numbers
(:func:`_unit_codes` numbers the captions in order of first appearance). Without ``clusters``
the caption unit raises a ValueError naming ``clusters``. The results say which unit they used
(``resampled``: ``"captions"`` or ``"pairs"``, :data:`UNITS`).

Either way a resample is a vector ``w`` (n,) of copy counts, one per pair (for captions: the
times its caption was drawn), and every statistic is computed from ``(pred, target, w)`` as on
the expanded resample. Speed: SRCC, LCC and MSE are computed for all resamples at once in
numpy. The ranks of a resample come from the multiplicities of the original (unique) values:
for a value with ``c`` copies in the resample and ``b`` resampled values below it, its average
rank is ``b + (c + 1) / 2``, exactly what ``scipy.stats.rankdata`` returns on the expanded
resample (checked in the tests) but in O(n) per resample; SRCC and LCC are then Pearson
correlations weighted by ``w``. KTAU uses the same counts: a resample's concordant minus
discordant pairs is ``w @ S @ w / 2``, where ``S[a, b] = sign(p_a - p_b) * sign(h_a - h_b)`` is
computed once (a pair and its own copies are tied in both, ``S[a, a] = 0``); the tie
corrections of tau-b are the same forms with ``|sign(p_a - p_b)|`` and ``|sign(h_a - h_b)|``.
All resamples then take three matrix products; the counts are integers, so this is
:func:`scipy.stats.kendalltau` (variant "b") to rounding. Above :data:`_KTAU_MATRIX_MAX_N` pairs
(the matrices would take too much memory) it loops over resamples with
:func:`scipy.stats.kendalltau` instead (O(n log n) each: about 1 s for ``n=5000, n_boot=1000``
on one core); pass ``metrics=("srcc", "lcc", "mse")`` to skip it. A resample in which ``pred``
or ``target`` is constant (one distinct value) has no correlation; such resamples are left out
of the percentiles and counted in ``n_boot_valid``.

Row-wise correlations: :func:`_rowwise_pearson` (index resamples, used by
:mod:`humanclap.stats.power`; NaN for a constant row, clipped to [-1, 1]) and
:func:`_rowwise_corr` (split-half reliability; no clipping, constant rows give NaN/inf with
warnings silenced) compute the same statistic but sum in a different order (``einsum`` vs
``np.sum``) and treat degenerate rows differently, so their results can differ in the last
bits; both are kept to leave every published number unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

# Resamples are processed in chunks of about this many elements (bounds memory for large n).
_CHUNK_ELEMENTS = 2_000_000
#: Largest n for which KTAU's resamples go through n x n sign matrices (3 of n^2 float64).
_KTAU_MATRIX_MAX_N = 2_000
#: ``unit=`` -> what a result's ``resampled`` column says.
UNITS: dict[str, str] = {"caption": "captions", "pair": "pairs"}


# ----------------------------------------------------------------------------- units
def _check_unit(unit: str) -> str:
    """``unit`` checked; returns the word results give in ``resampled`` (see :data:`UNITS`)."""
    if unit not in UNITS:
        raise ValueError(f"unit: expected one of {list(UNITS)}, got {unit!r}")
    return UNITS[unit]


def _unit_codes(n: int, clusters, unit: str) -> tuple[np.ndarray, int]:
    """The resampling unit of each of ``n`` pairs and the number of units.

    Parameters
    ----------
    n : int
        Pairs.
    clusters : array-like, shape (n,), or None
        The caption (any hashable label) of each pair; needed when ``unit="caption"``, ignored
        when ``unit="pair"``.
    unit : {"caption", "pair"}

    Returns
    -------
    codes : np.ndarray of int, shape (n,)
        Unit of each pair, ``0 .. k - 1`` in order of first appearance (``arange(n)`` for
        pairs, and for captions of one pair each).
    k : int
        Units (captions or pairs).

    Raises
    ------
    ValueError
        Naming ``unit`` or ``clusters``: an unknown unit; no clusters for the caption unit; a
        wrong shape or missing labels (with their positions).
    """
    _check_unit(unit)
    if unit == "pair":
        return np.arange(n), n
    if clusters is None:
        raise ValueError(
            "clusters: unit='caption' (the default) resamples captions, all the pairs of a caption "
            "together, and needs the caption of each pair: pass clusters= (shape (n,), e.g. "
            "pairs['text']), or unit='pair' to resample pairs as if they were independent"
        )
    labels = np.asarray(clusters, dtype=object)
    if labels.shape != (n,):
        raise ValueError(f"clusters: expected shape ({n},) like target, got {labels.shape}")
    missing = np.flatnonzero(pd.isna(labels))
    if len(missing):
        shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise ValueError(f"clusters: {len(missing)} missing label(s) (positions {shown})")
    codes, uniques = pd.factorize(labels, sort=False)
    return codes.astype(np.intp), len(uniques)


def _unit_weights(rng: np.random.Generator, codes: np.ndarray, k: int, b: int) -> np.ndarray:
    """Copies of each pair in ``b`` resamples of the ``k`` units, shape (b, n).

    Each resample draws ``k`` units with replacement (``rng.integers(0, k, size=(b, k))``: for
    pairs the draws of a pair bootstrap); a pair gets the copies of its unit.
    """
    counts = _resample_counts(rng.integers(0, k, size=(b, k)), k)  # (b, k)
    return counts[:, codes]


def _unit_index_sampler(codes: np.ndarray, k: int) -> Callable[[np.random.Generator], np.ndarray]:
    """A function that draws one resample as pair indices, for statistics not vectorised.

    Each call draws ``k`` units with replacement (``rng.integers(0, k, size=k)``: for pairs the
    indices of a pair bootstrap) and returns the indices of their pairs, shape (m,): for
    captions, ``m`` is the drawn captions' pairs (a caption drawn twice brings its pairs twice).
    """
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=k)
    starts = np.cumsum(sizes) - sizes

    def draw(rng: np.random.Generator) -> np.ndarray:
        drawn = rng.integers(0, k, size=k)
        size = sizes[drawn]
        offset = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        return order[np.repeat(starts[drawn], size) + offset]

    return draw


# ----------------------------------------------------------------------------- ranks
def _unique_codes(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes of ``x`` in the sorted unique values, shape (n,), and the number of unique values."""
    uniq, inv = np.unique(x, return_inverse=True)
    return inv.reshape(-1), len(uniq)


def _resample_ranks(codes: np.ndarray, n_unique: int, idx: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) of each resample.

    Parameters
    ----------
    codes : shape (n,), codes of the values in their sorted unique values.
    n_unique : number of unique values.
    idx : shape (n_boot, n), resample indices.

    Returns
    -------
    np.ndarray, shape (n_boot, n): equal to ``scipy.stats.rankdata(x[idx], axis=1)``.
    """
    c = codes[idx]  # (n_boot, n)
    return np.take_along_axis(_unique_value_ranks(_resample_counts(c, n_unique)), c, axis=1)


def _unique_value_ranks(counts: np.ndarray) -> np.ndarray:
    """Average rank (1-based, ties averaged) of each unique value from ``counts`` (b, n_unique),
    its copies in each resample; shape (b, n_unique). The vectorised bootstraps' one rank rule:
    O(n) from the copies where ``scipy.stats.rankdata`` would sort every resample."""
    below = np.cumsum(counts, axis=1) - counts
    return below + (counts + 1.0) / 2.0


def _weighted_ranks(
    codes: np.ndarray, n_unique: int, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based, ties averaged) of each pair's value in resamples given by copies.

    Parameters
    ----------
    codes : np.ndarray of int, shape (n,)
        Codes of the values in their sorted unique values.
    n_unique : int
        Number of unique values.
    w : np.ndarray, shape (b, n)
        Copies of each pair in each resample.

    Returns
    -------
    ranks : np.ndarray, shape (b, n)
        The rank each pair's copies have in the expanded resample (``scipy.stats.rankdata`` of
        ``np.repeat(x, w[i])``); a pair with no copies gets the rank its value would have.
    counts : np.ndarray, shape (b, n_unique)
        Copies of each unique value.
    """
    b = w.shape[0]
    offsets = (np.arange(b) * n_unique)[:, None]
    flat = (codes[None, :] + offsets).ravel()
    counts = np.bincount(flat, weights=w.ravel(), minlength=b * n_unique).reshape(b, n_unique)
    return _unique_value_ranks(counts)[:, codes], counts


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Pearson r of ``x`` and ``y`` weighted by copies ``w`` in each resample, shape (b,).

    Parameters
    ----------
    x, y : np.ndarray, shape (n,) or (b, n)
    w : np.ndarray, shape (b, n)
        Copies of each pair (the r of the expanded resample).
    ok : np.ndarray of bool, shape (b,)
        Resamples where neither side is constant; the others are NaN.
    """
    total = w.sum(axis=1, keepdims=True)
    xc = x - (w * x).sum(axis=1, keepdims=True) / total
    yc = y - (w * y).sum(axis=1, keepdims=True) / total
    wx = w * xc
    sxx = np.einsum("ij,ij->i", wx, xc)
    syy = np.einsum("ij,ij->i", w * yc, yc)
    sxy = np.einsum("ij,ij->i", wx, yc)
    denom = np.sqrt(sxx * syy)
    good = ok & (denom > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(good, sxy / np.where(good, denom, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


# ----------------------------------------------------------------------------- correlations
def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row of ``x`` (n_boot, n) with the same row of ``y``; NaN if constant."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    syy = np.einsum("ij,ij->i", yc, yc)
    sxy = np.einsum("ij,ij->i", xc, yc)
    denom = np.sqrt(sxx * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, sxy / np.where(denom > 0, denom, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def _rowwise_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of matching rows of ``x`` and ``y``, shape (s, a) -> (s,)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    denom = np.sqrt(np.sum(xc * xc, axis=1) * np.sum(yc * yc, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(xc * yc, axis=1) / denom


# ----------------------------------------------------------------------------- distributions
def _ktau_rows(p: Sequence[np.ndarray], h: Sequence[np.ndarray]) -> np.ndarray:
    """Kendall's tau-b of each row of ``p`` (b rows, (b, n) or of any lengths) with the same row
    of ``h``, shape (b,)."""
    b = len(p)
    val = np.empty(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resample -> NaN + warning
        for i in range(b):
            val[i] = stats.kendalltau(p[i], h[i], variant="b").statistic
    return val


def _resample_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Copies of each of ``n`` items (codes ``0..n-1``) in each resample, shape (n_boot, n)."""
    offsets = (np.arange(idx.shape[0]) * n)[:, None]
    counts = np.bincount((idx + offsets).ravel(), minlength=idx.shape[0] * n)
    return counts.reshape(idx.shape[0], n).astype(float)


def _ktau_of_weights(h: np.ndarray, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Kendall's tau-b against ``h`` (n,) on the resamples given by copies ``w`` (b, n), as a
    function of a predictor ``p`` (n,) -> (b,), NaN where either side is constant; see the
    module doc. What depends only on ``h`` and ``w`` (``h``'s sign matrix and its untied pairs)
    is computed once, for every predictor compared on these resamples."""
    n = len(h)
    if n > _KTAU_MATRIX_MAX_N:
        reps = w.astype(np.intp)
        h_rows = [np.repeat(h, r) for r in reps]
        return lambda p: _ktau_rows([np.repeat(p, r) for r in reps], h_rows)
    sign_h = np.sign(h[:, None] - h[None, :])

    def pairs(matrix: np.ndarray) -> np.ndarray:
        return np.einsum("bi,bi->b", w @ matrix, w) / 2.0

    untied_h = pairs(np.abs(sign_h))

    def tau(p: np.ndarray) -> np.ndarray:
        sign_p = np.sign(p[:, None] - p[None, :])
        denom = np.sqrt(pairs(np.abs(sign_p)) * untied_h)
        with np.errstate(invalid="ignore", divide="ignore"):
            num = pairs(sign_p * sign_h)
            out = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), np.nan)
        return np.clip(out, -1.0, 1.0)

    return tau


def _ktau_of_resamples(h: np.ndarray, idx: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`_ktau_of_weights` on index resamples ``idx`` (n_boot, n) of the pairs."""
    n = len(h)
    if n > _KTAU_MATRIX_MAX_N:
        h_boot = h[idx]
        return lambda p: _ktau_rows(p[idx], h_boot)
    return _ktau_of_weights(h, _resample_counts(idx, n))


def _ktau_resamples(p: np.ndarray, h: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of ``p[idx[i]]`` with ``h[idx[i]]`` for each resample ``i``, shape
    (n_boot,) (:func:`_ktau_of_resamples` for one predictor)."""
    return _ktau_of_resamples(h, idx)(p)


def _metric_of_weights(
    metric: str, p: np.ndarray, h: np.ndarray, w: np.ndarray, ranks: dict, ktau
) -> np.ndarray:
    """``metric`` of ``p`` against ``h`` (n,) in each resample given by copies ``w`` (b, n).

    ``ranks`` holds the :func:`_weighted_ranks` of ``p`` and ``h`` (keys ``"p"``, ``"h"``: ranks
    (b, n) and copies of each unique value); ``ktau`` is :func:`_ktau_of_weights`'s function.
    """
    if metric == "mse":
        return np.einsum("ij,j->i", w, (p - h) ** 2) / w.sum(axis=1)
    if metric == "ktau":
        return ktau(p)
    ok = (np.count_nonzero(ranks["p"][1], axis=1) > 1) & (
        np.count_nonzero(ranks["h"][1], axis=1) > 1
    )
    if metric == "srcc":
        return _weighted_pearson(ranks["p"][0], ranks["h"][0], w, ok)
    return _weighted_pearson(p, h, w, ok)  # lcc


def _boot_distributions(
    preds: Sequence[np.ndarray],
    target: np.ndarray,
    metrics: tuple[str, ...],
    n_boot: int,
    seed: int | None,
    units: tuple[np.ndarray, int] | None = None,
) -> list[dict[str, np.ndarray]]:
    """Bootstrap distributions, shape (n_boot,), of ``metrics`` for each predictor in ``preds``.

    Parameters
    ----------
    preds : sequence of np.ndarray, each shape (n,)
    target : np.ndarray, shape (n,)
    units : (codes, k), optional
        :func:`_unit_codes`: the resampling unit of each pair and the number of units; None
        resamples pairs.

    All predictors share the same resamples (paired bootstrap). The draws come from
    ``np.random.default_rng(seed)`` in chunks whose size depends only on ``n``.
    """
    n = len(target)
    codes, k = units if units is not None else (np.arange(n), n)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    need_codes = bool({"srcc", "lcc"} & set(metrics))
    h_codes = _unique_codes(target) if need_codes else None
    p_codes = [_unique_codes(p) for p in preds] if need_codes else None
    out: list[dict[str, list[np.ndarray]]] = [{m: [] for m in metrics} for _ in preds]
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        w = _unit_weights(rng, codes, k, b)
        ranks = {"h": _weighted_ranks(*h_codes, w)} if need_codes else {}
        ktau = _ktau_of_weights(target, w) if "ktau" in metrics else None
        for j, p in enumerate(preds):
            if need_codes:
                ranks["p"] = _weighted_ranks(*p_codes[j], w)
            for m in metrics:
                out[j][m].append(_metric_of_weights(m, p, target, w, ranks, ktau))
        done += b
    return [{m: np.concatenate(v) for m, v in d.items()} for d in out]


# ----------------------------------------------------------------------------- summaries
def _percentile_interval(boot: np.ndarray, ci: float) -> tuple[float, float, int]:
    """Percentile interval of the finite values of ``boot`` and how many were finite."""
    ok = boot[np.isfinite(boot)]
    if len(ok) == 0:
        return np.nan, np.nan, 0
    lo, hi = np.quantile(ok, [(1.0 - ci) / 2.0, 1.0 - (1.0 - ci) / 2.0])
    return float(lo), float(hi), len(ok)


def _bootstrap_p_value(d: np.ndarray) -> float:
    """Two-sided bootstrap p-value of a difference from its finite resamples ``d``, shape (B,).

    ``p = min(1, 2 * min((1 + #{d <= 0}) / (B + 1), (1 + #{d >= 0}) / (B + 1)))``: the inverse
    of the percentile interval; the ``+1`` keeps ``p >= 2 / (B + 1)``.
    """
    n_valid = len(d)
    p_le = (1 + np.count_nonzero(d <= 0)) / (n_valid + 1)
    p_ge = (1 + np.count_nonzero(d >= 0)) / (n_valid + 1)
    return float(min(1.0, 2.0 * min(p_le, p_ge)))
