"""Vectorised resampling machinery: bootstrap distributions, percentile intervals, p-values.

Bootstrap intervals are percentile intervals from resampling *pairs*: each resample draws ``n``
indices with replacement and uses the same indices for ``pred`` and ``target`` (and for every
predictor compared, a paired bootstrap).

Speed: SRCC, LCC and MSE are computed for all resamples at once in numpy. The ranks of a
resample are obtained from the multiplicities of the original (unique) values: for a value with
``c`` copies in the resample and ``b`` resampled values below it, its average rank is
``b + (c + 1) / 2``, exactly what ``scipy.stats.rankdata(..., axis=1)`` returns (checked in the
tests) but in O(n) per resample. KTAU uses the same multiplicities: a resample's concordant
minus discordant pairs is ``w @ S @ w / 2``, where ``w`` (n,) counts the copies of each original
pair in the resample and ``S[a, b] = sign(p_a - p_b) * sign(h_a - h_b)`` is computed once (a
pair and its own copies are tied in both, ``S[a, a] = 0``); the tie corrections of tau-b are the
same forms with ``|sign(p_a - p_b)|`` and ``|sign(h_a - h_b)|``. All resamples then take three
matrix products; the counts are integers, so this is :func:`scipy.stats.kendalltau` (variant
"b") to rounding. Above :data:`_KTAU_MATRIX_MAX_N` pairs (the matrices would take too much
memory) it loops over resamples with :func:`scipy.stats.kendalltau` instead (O(n log n) each:
about 1 s for ``n=5000, n_boot=1000`` on one core); pass ``metrics=("srcc", "lcc", "mse")`` to
skip it. A resample in which ``pred`` or ``target`` is
constant has no correlation; such resamples are left out of the percentiles and counted in
``n_boot_valid``.

Row-wise correlations: :func:`_rowwise_pearson` (bootstrap resamples; NaN for a constant row,
clipped to [-1, 1]) and :func:`_rowwise_corr` (split-half reliability; no clipping, constant
rows give NaN/inf with warnings silenced) compute the same statistic but sum in a different
order (``einsum`` vs ``np.sum``) and treat degenerate rows differently, so their results can
differ in the last bits; both are kept to leave every published number unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

# Resamples are processed in chunks of about this many elements (bounds memory for large n).
_CHUNK_ELEMENTS = 2_000_000
#: Largest n for which KTAU's resamples go through n x n sign matrices (3 of n^2 float64).
_KTAU_MATRIX_MAX_N = 2_000


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
    counts = _resample_counts(c, n_unique)
    below = np.cumsum(counts, axis=1) - counts
    rank_of_unique = below + (counts + 1.0) / 2.0
    return np.take_along_axis(rank_of_unique, c, axis=1)


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
def _ktau_rows(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row of ``p`` (b, n) with the same row of ``h``, shape (b,)."""
    b = p.shape[0]
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


def _ktau_of_resamples(h: np.ndarray, idx: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Kendall's tau-b against ``h`` on the resamples ``idx`` (n_boot, n), as a function of a
    predictor ``p`` (n,) -> (n_boot,), NaN where either side is constant; see the module doc.
    What depends only on ``h`` and ``idx`` (copy counts, ``h``'s sign matrix and its untied
    pairs) is computed once, for every predictor compared on these resamples."""
    n = len(h)
    if n > _KTAU_MATRIX_MAX_N:
        h_boot = h[idx]
        return lambda p: _ktau_rows(p[idx], h_boot)
    sign_h = np.sign(h[:, None] - h[None, :])
    w = _resample_counts(idx, n)

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


def _ktau_resamples(p: np.ndarray, h: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of ``p[idx[i]]`` with ``h[idx[i]]`` for each resample ``i``, shape
    (n_boot,) (:func:`_ktau_of_resamples` for one predictor)."""
    return _ktau_of_resamples(h, idx)(p)


def _boot_distributions(
    preds: Sequence[np.ndarray],
    target: np.ndarray,
    metrics: tuple[str, ...],
    n_boot: int,
    seed: int | None,
) -> list[dict[str, np.ndarray]]:
    """Bootstrap distributions, shape (n_boot,), of ``metrics`` for each predictor in ``preds``.

    All predictors share the same resample indices (paired bootstrap). Indices come from
    ``np.random.default_rng(seed)`` in chunks whose size depends only on ``n``.
    """
    n = len(target)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    want_ranks = "srcc" in metrics
    h_codes = _unique_codes(target) if want_ranks else None
    p_codes = [_unique_codes(p) for p in preds] if want_ranks else None
    out: list[dict[str, list[np.ndarray]]] = [{m: [] for m in metrics} for _ in preds]
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        h = target[idx]
        h_rank = _resample_ranks(*h_codes, idx) if want_ranks else None
        ktau = _ktau_of_resamples(target, idx) if "ktau" in metrics else None
        for k, p_full in enumerate(preds):
            p = p_full[idx]
            for m in metrics:
                if m == "lcc":
                    val = _rowwise_pearson(p, h)
                elif m == "srcc":
                    val = _rowwise_pearson(_resample_ranks(*p_codes[k], idx), h_rank)
                elif m == "mse":
                    val = np.mean((p - h) ** 2, axis=1)
                else:  # ktau
                    val = ktau(p_full)
                out[k][m].append(val)
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
