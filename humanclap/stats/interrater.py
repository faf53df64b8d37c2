"""How much do listeners agree? Inter-rater reliability of the pair means.

Inputs are long rating tables, one row per rating, with a score column (``score``) and the pair
key (``wavname``, ``text``). Two estimators: the one-way random-effects ANOVA ICCs
(:func:`reliability`, :func:`reliability_by`) and random split halves (:func:`split_half`).

Reliability model (one-way random effects): rating ``y_ij = mu + a_i + e_ij`` of pair ``i`` by
its ``j``-th rater, ``a_i ~ (0, s2_pair)``, ``e_ij ~ (0, s2_within)``. Raters are nested in pairs
and differ from pair to pair (as in RELATE), so the one-way model is the right one: ICC(1,1) and
ICC(1,k) of Shrout & Fleiss (1979) / McGraw & Wong (1996), with the unbalanced-data ``k0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from humanclap.stats._checks import (
    PAIR,
    _apply_by,
    _check_ci,
    _check_positive_int,
    _check_ratings,
    _pair_codes,
)
from humanclap.stats.bootstrap import _rowwise_corr

# Chunk size (ratings x splits) for the vectorised split-half loop.
_CHUNK_ELEMENTS = 4_000_000


# ----------------------------------------------------------------------------- reliability
def reliability(
    ratings: pd.DataFrame,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    ci: float = 0.95,
    min_ratings: int = 1,
) -> dict[str, float]:
    """Inter-rater reliability of the pair means: one-way random-effects ANOVA ICCs.

    Parameters
    ----------
    ratings : pd.DataFrame
        One row per rating with the ``score`` column and the ``pair`` key columns.
    score : str
        Column of the numeric ratings.
    pair : sequence of str
        Columns that identify a rated item (default ``("wavname", "text")``).
    ci : float
        Level of the F-based confidence intervals.
    min_ratings : int
        Pairs with fewer ratings are left out (counted in ``n_pairs_excluded`` and
        ``n_ratings_excluded``). The default 1 keeps every pair: a pair with a single rating
        has no within-pair information (0 df within) but is a valid draw of the pair effect, so
        it enters the between-pair sum of squares and ``n_pairs`` (standard unbalanced ANOVA).

    Returns
    -------
    dict
        - ``n_ratings`` (N), ``n_pairs`` (a), ``n_single`` (pairs with one rating),
          ``n_pairs_excluded``, ``n_ratings_excluded``;
        - ``msb``, ``msw``, ``df_between = a - 1``, ``df_within = N - a``, ``f`` = msb / msw,
          ``f_p`` (p-value of the F test of no pair effect);
        - ``k0 = (N - sum(n_i**2) / N) / (a - 1)``: the unbalanced-ANOVA "average" k;
        - ``icc1`` = ICC(1,1) = (msb - msw) / (msb + (k0 - 1) msw), the correlation of two
          ratings of the same pair; ``icc1_lo``, ``icc1_hi``;
        - ``icck`` = ICC(1,k0) = k0 icc1 / (1 + (k0 - 1) icc1) = (msb - msw) / msb (the
          identity holds for any k0, balanced or not); ``icck_lo``, ``icck_hi``;
        - ``k_hm``: harmonic mean of n_i; ``icc_mean`` = ICC(1,k_hm): the reliability of the
          pair means as they are (see Notes); ``icc_mean_lo``, ``icc_mean_hi``;
        - ``ceiling_lcc`` = sqrt(icc_mean) (with ``_lo``/``_hi``) and ``ceiling_lcc_k0`` =
          sqrt(icck). Negative reliabilities give a ceiling of 0.

    Notes
    -----
    CIs (McGraw & Wong 1996, case 1, with k0 for k): with ``F = msb / msw``,
    ``FL = F / F_{1-alpha/2}(a-1, N-a)`` and ``FU = F * F_{1-alpha/2}(N-a, a-1)``,
    ``icc1 in [(FL - 1) / (FL + k0 - 1), (FU - 1) / (FU + k0 - 1)]`` and
    ``icck in [1 - 1/FL, 1 - 1/FU]``. With unbalanced data they are approximate.

    Noise ceiling: a perfect predictor (the true pair effect) correlates with the observed
    pair means at ``sqrt(s2_pair / (s2_pair + s2_within * mean(1 / n_i)))``. This is
    ``sqrt(ICC(1,k))`` with ``k`` the HARMONIC mean of the n_i, not the arithmetic-like k0,
    because each pair mean's noise variance is ``s2_within / n_i``. On RELATE (n_i from 1 to
    12) k0 is about 3.25 but k_hm about 2.27, so ``ceiling_lcc_k0`` would overstate the
    ceiling; ``ceiling_lcc`` uses k_hm (checked by simulation in the tests). The ceiling
    holds for correlations computed over the same set of pairs.
    """
    y = _check_ratings(ratings, score, pair)
    if int(min_ratings) != min_ratings or min_ratings < 1:
        raise ValueError(f"min_ratings: expected an integer >= 1, got {min_ratings!r}")
    _check_ci(ci)
    codes = _pair_codes(ratings, pair)
    y, codes, n_pairs_excluded, n_ratings_excluded = _keep_pairs(y, codes, min_ratings)
    n_i = np.bincount(codes).astype(float)
    a, n_total = len(n_i), len(y)
    if a < 2:
        raise ValueError(f"ratings: need at least 2 pairs, got {a}")
    if n_total - a < 1:
        raise ValueError("ratings: every pair has a single rating; no within-pair variance")
    return {
        "n_ratings": int(n_total),
        "n_pairs": int(a),
        "n_single": int(np.sum(n_i == 1)),
        "n_pairs_excluded": n_pairs_excluded,
        "n_ratings_excluded": n_ratings_excluded,
        **_anova_iccs(y, codes, n_i, ci),
    }


def _keep_pairs(
    y: np.ndarray, codes: np.ndarray, min_ratings: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The ratings of the pairs with at least ``min_ratings`` ratings.

    Parameters
    ----------
    y : np.ndarray, shape (n_ratings,)
        Scores.
    codes : np.ndarray, shape (n_ratings,)
        Pair code of each rating, 0..n_pairs-1.

    Returns
    -------
    y, codes : np.ndarray, shape (n_kept,)
        Kept scores and their pair codes, re-coded 0..a-1 (unchanged when nothing is dropped).
    n_pairs_excluded, n_ratings_excluded : int
    """
    counts_all = np.bincount(codes)
    keep_pair = counts_all >= min_ratings
    n_pairs_excluded = int((~keep_pair).sum())
    n_ratings_excluded = int(counts_all[~keep_pair].sum())
    if n_pairs_excluded:
        keep = keep_pair[codes]
        y = y[keep]
        codes = np.cumsum(keep_pair)[codes[keep]] - 1  # re-code 0..a-1
    return y, codes, n_pairs_excluded, n_ratings_excluded


def _anova_iccs(y: np.ndarray, codes: np.ndarray, n_i: np.ndarray, ci: float) -> dict:
    """One-way ANOVA, ICCs, their F-based intervals and the noise ceilings of :func:`reliability`.

    Parameters
    ----------
    y, codes : np.ndarray, shape (N,)
        Scores and pair codes 0..a-1.
    n_i : np.ndarray, shape (a,)
        Ratings per pair (float).

    Returns
    -------
    dict
        The keys of :func:`reliability` from ``msb`` to ``ceiling_lcc_k0``, in that order.
    """
    a, n_total = len(n_i), len(y)
    sums = np.bincount(codes, weights=y)
    means = sums / n_i
    grand = y.mean()
    ssb = float(np.sum(n_i * (means - grand) ** 2))
    ssw = float(np.sum((y - means[codes]) ** 2))
    df_b, df_w = a - 1, n_total - a
    msb, msw = ssb / df_b, ssw / df_w
    if msw == 0.0:
        raise ValueError("ratings: no within-pair variance (all raters of every pair agree)")
    k0 = (n_total - np.sum(n_i**2) / n_total) / (a - 1)
    k_hm = a / np.sum(1.0 / n_i)

    f = msb / msw
    alpha = 1.0 - ci
    f_lo = f / stats.f.ppf(1 - alpha / 2, df_b, df_w)
    f_hi = f * stats.f.ppf(1 - alpha / 2, df_w, df_b)

    icc1 = (msb - msw) / (msb + (k0 - 1.0) * msw)
    icc1_lo, icc1_hi = _icc_single(f_lo, k0), _icc_single(f_hi, k0)
    icc_mean = _step_up(icc1, k_hm)
    icc_mean_lo, icc_mean_hi = _step_up(icc1_lo, k_hm), _step_up(icc1_hi, k_hm)
    return {
        "msb": msb,
        "msw": msw,
        "df_between": int(df_b),
        "df_within": int(df_w),
        "f": float(f),
        "f_p": float(stats.f.sf(f, df_b, df_w)),
        "k0": float(k0),
        "k_hm": float(k_hm),
        "icc1": float(icc1),
        "icc1_lo": float(icc1_lo),
        "icc1_hi": float(icc1_hi),
        "icck": float(_step_up(icc1, k0)),
        "icck_lo": float(1.0 - 1.0 / f_lo),
        "icck_hi": float(1.0 - 1.0 / f_hi),
        "icc_mean": float(icc_mean),
        "icc_mean_lo": float(icc_mean_lo),
        "icc_mean_hi": float(icc_mean_hi),
        "ceiling_lcc": _ceiling(icc_mean),
        "ceiling_lcc_lo": _ceiling(icc_mean_lo),
        "ceiling_lcc_hi": _ceiling(icc_mean_hi),
        "ceiling_lcc_k0": _ceiling(_step_up(icc1, k0)),
    }


def _icc_single(f_val: float, k0: float) -> float:
    """ICC(1,1) implied by an F ratio ``f_val`` with ``k0`` ratings per pair."""
    return (f_val - 1.0) / (f_val + k0 - 1.0)


def _step_up(icc: float, k: float) -> float:
    """Spearman-Brown: reliability of the mean of ``k`` ratings with single-rating ``icc``."""
    return k * icc / (1.0 + (k - 1.0) * icc)


def _ceiling(r: float) -> float:
    """Noise ceiling of a correlation, ``sqrt(r)`` with ``r`` clipped to [0, 1]."""
    return float(np.sqrt(np.clip(r, 0.0, 1.0)))


def reliability_by(ratings: pd.DataFrame, by: str | Sequence[str], **kw) -> pd.DataFrame:
    """:func:`reliability` for each group (e.g. ``"split"``, ``"source"``).

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table.
    by : str or list of str
        Grouping column(s); missing labels form their own group.
    **kw :
        Passed to :func:`reliability` (``score``, ``pair``, ``ci``, ``min_ratings``).

    Returns
    -------
    pd.DataFrame
        One row per group: the ``by`` column(s), every key of :func:`reliability`, and
        ``note`` (the error message when the group is too small for the ANOVA, e.g. a single
        pair; its values are then NaN -- nothing is dropped).
    """
    return _apply_by(ratings, by, reliability, **kw)


# ----------------------------------------------------------------------------- split-half
def split_half(
    ratings: pd.DataFrame,
    n_splits: int = 200,
    seed: int | None = 0,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    ci: float = 0.95,
) -> dict[str, float]:
    """Split-half reliability of the pair means, Spearman--Brown corrected.

    For each of ``n_splits`` random splits, the ratings of every pair with at least two
    ratings are shuffled and divided into halves of ``floor(n_i / 2)`` and ``ceil(n_i / 2)``
    ratings; the Pearson correlation ``r`` of the two half means across pairs is stepped up
    to the full length with ``2 r / (1 + r)``. With odd n_i the halves are unequal, so the
    doubling is an approximation (it slightly understates the reliability of the full means).

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table.
    n_splits : int
        Number of random splits.
    seed : int or None
        Seed of ``np.random.default_rng``.
    score, pair :
        Column names as in :func:`reliability`.
    ci : float
        Level of the percentile interval over splits.

    Returns
    -------
    dict
        ``mean``, ``sd``, ``lo``, ``hi``: mean, standard deviation and percentile interval of
        the corrected reliability over splits (this spread reflects the arbitrariness of the
        split, not sampling of pairs); ``r_half_mean`` (uncorrected); ``ceiling_lcc`` =
        sqrt(mean) (clipped at 0); ``n_pairs`` and ``n_ratings`` used; ``n_pairs_excluded``
        and ``n_ratings_excluded`` (pairs with a single rating); ``n_splits``.
    """
    y = _check_ratings(ratings, score, pair)
    _check_positive_int(n_splits, "n_splits")
    codes = _pair_codes(ratings, pair)
    y, codes, n_single, _ = _keep_pairs(y, codes, 2)
    a, n_total = len(np.bincount(codes)), len(y)
    if a < 3:
        raise ValueError(f"ratings: need at least 3 pairs with >= 2 ratings, got {a}")
    r = _half_correlations(y, codes, n_splits, seed)
    r_sb = 2.0 * r / (1.0 + r)
    lo, hi = np.nanquantile(r_sb, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    mean = float(np.nanmean(r_sb))
    return {
        "mean": mean,
        "sd": float(np.nanstd(r_sb, ddof=1)) if n_splits > 1 else np.nan,
        "lo": float(lo),
        "hi": float(hi),
        "r_half_mean": float(np.nanmean(r)),
        "ceiling_lcc": float(np.sqrt(np.clip(mean, 0.0, 1.0))),
        "n_pairs": a,
        "n_ratings": int(n_total),
        "n_pairs_excluded": n_single,
        "n_ratings_excluded": n_single,
        "n_splits": int(n_splits),
    }


def _half_correlations(
    y: np.ndarray, codes: np.ndarray, n_splits: int, seed: int | None
) -> np.ndarray:
    """Correlation across pairs of the two half means, for each random split.

    Parameters
    ----------
    y, codes : np.ndarray, shape (N,)
        Scores and pair codes 0..a-1; every pair has at least 2 ratings.
    n_splits : int
        Number of splits, drawn from ``np.random.default_rng(seed)`` in chunks.

    Returns
    -------
    np.ndarray, shape (n_splits,)
        Uncorrected half-half Pearson r of each split.
    """
    n_total = len(y)
    order = np.argsort(codes, kind="stable")
    y_sorted, code_sorted = y[order], codes[order]
    n_i = np.bincount(code_sorted)
    starts = np.concatenate([[0], np.cumsum(n_i)[:-1]])
    pos = np.arange(n_total) - starts[code_sorted]  # position within the pair's block
    n_a = n_i // 2
    in_a = (pos < n_a[code_sorted]).astype(float)
    pair_sum = np.bincount(code_sorted, weights=y_sorted)

    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n_total)
    r_half = []
    done = 0
    while done < n_splits:
        s = min(chunk, n_splits - done)
        # Sorting code + U(0,1) keeps every pair's block in place and shuffles inside it.
        perm = np.argsort(code_sorted[None, :] + rng.random((s, n_total)), axis=1)
        shuffled = y_sorted[perm]  # (s, n_total)
        sum_a = np.add.reduceat(shuffled * in_a, starts, axis=1)  # (s, a)
        mean_a = sum_a / n_a
        mean_b = (pair_sum - sum_a) / (n_i - n_a)
        r_half.append(_rowwise_corr(mean_a, mean_b))
        done += s
    return np.concatenate(r_half)
