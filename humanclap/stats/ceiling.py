"""What a perfect or a human predictor would score: the noise ceiling and a one-listener baseline.

:func:`noise_ceiling_table` puts the two reliability estimators of
:mod:`humanclap.stats.interrater` side by side per group (ceilings of a linear correlation,
LCC); :func:`srcc_ceiling` (per group: :func:`srcc_ceiling_by`) estimates the ceiling of a rank
correlation (SRCC) by simulation; :func:`one_vs_rest` pits one listener of each pair against
the pair's other listeners.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.polynomial import legendre
from scipy import optimize, stats

from humanclap.stats._checks import (
    PAIR,
    _apply_by,
    _by_columns,
    _check_positive_int,
    _check_ratings,
    _iter_groups,
    _pair_codes,
)
from humanclap.stats.bootstrap import _rowwise_corr
from humanclap.stats.interrater import reliability, reliability_by, split_half

# Columns of reliability_by kept by noise_ceiling_table (after the group columns).
_CEILING_COLUMNS: tuple[str, ...] = (
    "n_pairs",
    "n_ratings",
    "n_single",
    "k0",
    "k_hm",
    "icc1",
    "icc1_lo",
    "icc1_hi",
    "icc_mean",
    "icc_mean_lo",
    "icc_mean_hi",
    "ceiling_lcc",
    "ceiling_lcc_lo",
    "ceiling_lcc_hi",
    "ceiling_lcc_k0",
    "note",
)


def noise_ceiling_table(
    ratings: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    n_splits: int = 200,
    seed: int | None = 0,
    **kw,
) -> pd.DataFrame:
    """Two independent estimates of the noise ceiling, per group.

    Puts the ANOVA-based reliability (:func:`~humanclap.stats.interrater.reliability`) next to
    the split-half estimate (:func:`~humanclap.stats.interrater.split_half`) so that the
    ceiling does not rest on one model.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table.
    by : str, list of str or None
        Grouping column(s); None gives one row labelled ``group="all"``.
    n_splits, seed :
        Passed to :func:`~humanclap.stats.interrater.split_half`.
    **kw :
        ``score`` and ``pair``, passed to both.

    Returns
    -------
    pd.DataFrame
        One row per group: group column(s), ``n_pairs``, ``n_ratings``, ``n_single``, ``k0``,
        ``k_hm``, ``icc1`` (+ CI), ``icc_mean`` (+ CI), ``ceiling_lcc`` (+ CI),
        ``ceiling_lcc_k0``, ``split_half`` (mean corrected split-half reliability of the pairs
        with >= 2 ratings), ``split_half_lo``, ``split_half_hi`` and ``note`` (errors).
    """
    if by is None:
        ratings = ratings.assign(group="all")
        by = "group"
    by_cols = _by_columns(ratings, by)
    rel = reliability_by(ratings, by_cols, **kw)
    rel = rel.reindex(columns=[*by_cols, *_CEILING_COLUMNS])
    sh = _split_half_by(ratings, by_cols, n_splits, seed, kw)
    out = rel.merge(sh, on=by_cols, how="left", validate="one_to_one")
    note = out["note"].fillna("")
    extra = out.pop("split_half_note").fillna("")
    out["note"] = [("; ".join(t for t in (a, b) if t)) for a, b in zip(note, extra, strict=True)]
    return out


def _split_half_by(
    ratings: pd.DataFrame, by_cols: list[str], n_splits: int, seed: int | None, kw: dict
) -> pd.DataFrame:
    """:func:`split_half` of each group: mean, interval and the error message (if any).

    Returns
    -------
    pd.DataFrame
        One row per group: the ``by_cols``, ``split_half``, ``split_half_lo``,
        ``split_half_hi`` (NaN on error) and ``split_half_note``.
    """
    sh_rows = []
    for _, labels, sub in _iter_groups(ratings, by_cols):
        row = dict(labels)
        try:
            res = split_half(sub, n_splits=n_splits, seed=seed, **kw)
            row.update(
                split_half=res["mean"],
                split_half_lo=res["lo"],
                split_half_hi=res["hi"],
                split_half_note="",
            )
        except ValueError as err:
            row.update(
                split_half=np.nan,
                split_half_lo=np.nan,
                split_half_hi=np.nan,
                split_half_note=str(err),
            )
        sh_rows.append(row)
    return pd.DataFrame(sh_rows)


# ----------------------------------------------------------------------------- human baseline
def one_vs_rest(
    ratings: pd.DataFrame,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    seed: int | None = 0,
) -> pd.DataFrame:
    """One random listener of each pair against the mean of the pair's other listeners.

    A human "predictor" to put beside any metric: how well does a single listener's score
    agree with what the others said? Pairs with a single rating have no "rest" and are left
    out (their count is in ``attrs["n_pairs_excluded"]``).

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table with ``score`` and the ``pair`` columns.
    seed : int or None
        Which listener is drawn for each pair.

    Returns
    -------
    pd.DataFrame
        One row per pair with >= 2 ratings: the ``pair`` columns, ``one`` (the drawn listener's
        score), ``rest_mean`` (mean of the others) and ``n_rest``.
    """
    y = _check_ratings(ratings, score, pair)
    codes = _pair_codes(ratings, pair)
    n_i = np.bincount(codes)
    rng = np.random.default_rng(seed)
    # One random rating per pair: the rating with the smallest uniform key within its pair.
    order = np.lexsort((rng.random(len(y)), codes))
    first = np.ones(len(y), dtype=bool)
    first[1:] = codes[order][1:] != codes[order][:-1]
    drawn = order[first]  # one rating index per pair code, in code order
    keep = n_i[codes[drawn]] >= 2
    drawn = drawn[keep]
    c = codes[drawn]
    sums = np.bincount(codes, weights=y)
    out = ratings.iloc[drawn][list(pair)].reset_index(drop=True)
    out["one"] = y[drawn]
    out["n_rest"] = n_i[c] - 1
    out["rest_mean"] = (sums[c] - y[drawn]) / out["n_rest"].to_numpy()
    out.attrs["n_pairs_excluded"] = int((n_i < 2).sum())
    return out


# ----------------------------------------------------------------------------- SRCC ceiling
_SIM_CHUNK_ELEMENTS = 2_000_000  # simulated pair means per chunk (n_sim x n_pairs)
# The deconvolved distribution of true pair values (g-modelling): grid points, polynomial
# degree and ridge penalty (chosen on simulations with Gaussian, skewed, uniform and bimodal
# true values: the SRCC ceiling within 0.01-0.02 of the truth in each).
_PRIOR_GRID, _PRIOR_DEGREE, _PRIOR_PENALTY = 120, 8, 1e-4


def srcc_ceiling(
    ratings: pd.DataFrame,
    n_sim: int = 1000,
    seed: int | None = 0,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    ci: float = 0.95,
) -> dict[str, float]:
    """The noise ceiling of a rank correlation (SRCC), estimated by simulation.

    The SRCC that a perfect predictor (the pairs' noiseless "true" values, or any increasing
    function of them) would reach against the observed pair means: the ceiling to set beside an
    SRCC, as ``ceiling_lcc`` = sqrt(reliability) is the one to set beside an LCC.

    Model (one-way random effects, as :func:`~humanclap.stats.interrater.reliability`): pair
    ``i``'s mean of ``n_i`` ratings is ``m_i = t_i + e_i``, ``Var(t_i) = s2_pair``, and its error
    ``e_i`` has variance ``s2_within / n_i`` (``s2_within``: the pooled within-pair mean square;
    a pair's own variance from 2-3 ratings is too noisy to use alone, and single-rating pairs
    have none). Each simulation

    1. draws true values consistent with the observed means and their error: each ``t_i``
       from its posterior given ``m_i`` under the distribution of true values deconvolved from
       all the means (Efron's g-modelling: a smooth exponential-family density on a grid,
       fitted by penalised maximum likelihood; :func:`_true_value_prior`). The draws keep the
       shape of the true values (skew, bounds, clusters), which is what separates SRCC from
       LCC: clusters of true values whose spread is small beside the error lower the SRCC
       ceiling below the LCC one;
    2. adds fresh noise of each pair's size, ``m*_i = t_i + N(0, s2_within / n_i)``;
    3. takes the Spearman correlation of ``m*`` with ``t``.

    The ceiling is the mean over simulations. Its interval maps the F-based interval of ICC(1)
    through the same simulations (the true values rescaled to the lower and upper ``s2_pair``,
    with the same random numbers), so like ``ceiling_lcc_lo``/``_hi`` it reflects the
    uncertainty of the reliability. On Gaussian data the simulated LCC matches
    ``sqrt(ICC(1, k_hm))`` (``ceiling_lcc_sim`` vs ``ceiling_lcc``) and the SRCC ceiling is
    close to the LCC one (with equal ``n_i``, ``(6 / pi) asin(ceiling_lcc / 2)``, about 0.01
    below). On simulated studies of 400-600 pairs with known true values (Gaussian, skewed,
    uniform, bimodal) it was within about 0.02 of the true values' actual SRCC with the means
    (``tests/test_srcc_ceiling.py``). Ties of real pair means (integer ratings) are not
    simulated.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table: one row per rating with the ``score`` column and the ``pair`` keys.
    n_sim : int
        Number of simulations.
    seed : int or None
        Seed of ``np.random.default_rng``.
    score, pair :
        Column names as in :func:`~humanclap.stats.interrater.reliability`.
    ci : float
        Level of the interval.

    Returns
    -------
    dict
        ``ceiling_srcc`` with ``ceiling_srcc_lo``, ``ceiling_srcc_hi``; ``ceiling_srcc_sd``
        (spread over simulations: how much one study's ceiling varies); ``ceiling_lcc``
        (analytic, sqrt(ICC(1, k_hm))) with ``_lo``/``_hi``; ``ceiling_lcc_sim`` (the LCC of
        the same simulations); ``n_pairs``, ``n_ratings``, ``n_sim``. A non-positive
        ``s2_pair`` (no reliable differences between pairs) gives a ceiling of 0.
    """
    _check_positive_int(n_sim, "n_sim")
    rel = reliability(ratings, score=score, pair=pair, ci=ci)
    y, codes = _check_ratings(ratings, score, pair), _pair_codes(ratings, pair)
    n_i = np.bincount(codes).astype(float)
    means, s2_w = np.bincount(codes, weights=y) / n_i, rel["msw"]
    s2 = np.array([_between_variance(rel[k], s2_w) for k in ("icc1", "icc1_lo", "icc1_hi")])
    srcc, lcc = _simulate_ceiling(means, s2_w / n_i, s2, n_sim, seed)
    out = {
        f"ceiling_srcc{end}": float(srcc[:, j].mean()) for j, end in enumerate(("", "_lo", "_hi"))
    }
    out["ceiling_srcc_sd"] = float(srcc[:, 0].std(ddof=1)) if n_sim > 1 else np.nan
    out.update({k: rel[k] for k in ("ceiling_lcc", "ceiling_lcc_lo", "ceiling_lcc_hi")})
    out.update(ceiling_lcc_sim=float(lcc.mean()), n_pairs=rel["n_pairs"])
    return {**out, "n_ratings": rel["n_ratings"], "n_sim": int(n_sim)}


def _between_variance(icc1: float, s2_within: float) -> float:
    """``s2_pair`` implied by ICC(1) = s2_pair / (s2_pair + s2_within); 0 when not positive."""
    if not np.isfinite(icc1) or icc1 <= 0.0:
        return 0.0
    return float(s2_within * icc1 / (1.0 - icc1)) if icc1 < 1.0 else np.inf


def _true_value_prior(
    means: np.ndarray, err_var: np.ndarray, penalty: float = _PRIOR_PENALTY
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distribution of the pairs' true values, deconvolved from the observed means.

    Efron's g-modelling (2016): ``g_k ∝ exp(Q_k · beta)`` on a grid, ``Q`` the Legendre
    polynomials of degree 1..8, fitted by penalised maximum likelihood of the means under
    Gaussian errors, ``m_i ~ sum_k g_k N(grid_k, err_var_i)``, penalty ``penalty a |beta|^2``.

    Parameters
    ----------
    means : np.ndarray, shape (a,)
        Observed pair means (not all equal).
    err_var : np.ndarray, shape (a,)
        Error variance of each mean.

    Returns
    -------
    grid : np.ndarray, shape (K,)
        Support points, evenly spaced from the smallest to the largest mean.
    prior : np.ndarray, shape (K,)
        Prior probabilities.
    posterior : np.ndarray, shape (a, K)
        Each pair's posterior probabilities of the grid points.
    """
    lo, hi = float(means.min()), float(means.max())
    grid = np.linspace(lo, hi, _PRIOR_GRID)
    basis = legendre.legvander(2.0 * (grid - lo) / (hi - lo) - 1.0, _PRIOR_DEGREE)[:, 1:]
    sd, a = np.sqrt(err_var)[:, None], len(means)
    like = np.exp(-0.5 * ((means[:, None] - grid[None, :]) / sd) ** 2) / sd  # (a, K)

    def prior_of(beta: np.ndarray) -> np.ndarray:
        g = np.exp(basis @ beta - (basis @ beta).max())
        return g / g.sum()

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        g = prior_of(beta)
        f = np.maximum(like @ g, 1e-300)
        post = like * g / f[:, None]
        grad = -(post @ basis - g @ basis).sum(axis=0) + 2.0 * penalty * a * beta
        return float(-np.log(f).sum() + penalty * a * beta @ beta), grad

    fit = optimize.minimize(loss, np.zeros(basis.shape[1]), jac=True, method="L-BFGS-B")
    prior = prior_of(fit.x)
    post = like * prior
    return grid, prior, post / np.maximum(post.sum(axis=1, keepdims=True), 1e-300)


def _simulate_ceiling(
    means: np.ndarray, err_var: np.ndarray, s2_pair: np.ndarray, n_sim: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Spearman and Pearson r of simulated pair means with their true values.

    Parameters
    ----------
    means : np.ndarray, shape (a,)
        Observed pair means.
    err_var : np.ndarray, shape (a,)
        Error variance of each pair mean, ``s2_within / n_i``.
    s2_pair : np.ndarray, shape (v,)
        ANOVA variances of the true values, the estimate first (the others rescale the draws'
        deviations from their mean by ``sqrt(v / s2_pair[0])``).

    Returns
    -------
    srcc, lcc : np.ndarray, shapes (n_sim, v) and (n_sim,)
        Spearman r of each simulation at each variance (0 where the variance is 0); Pearson r
        at the estimate.
    """
    a = len(means)
    srcc, lcc = np.zeros((n_sim, len(s2_pair))), np.zeros(n_sim)
    ref = next((v for v in s2_pair if 0.0 < v < np.inf), 0.0)
    if ref == 0.0 or np.ptp(means) == 0.0:
        return srcc, lcc
    grid, prior, post = _true_value_prior(means, err_var)
    centre, step = float(prior @ grid), grid[1] - grid[0]
    # Inverse-CDF draws of all pairs at once: row i's CDF shifted to [i, i + 1].
    cdf = (np.cumsum(post, axis=1) + np.arange(a)[:, None]).ravel()
    rng = np.random.default_rng(seed)
    chunk = max(1, _SIM_CHUNK_ELEMENTS // a)
    for start in range(0, n_sim, chunk):
        s = min(chunk, n_sim - start)
        u = rng.random((s, a)) * (1.0 - 1e-12) + np.arange(a)
        k = np.minimum(np.searchsorted(cdf, u) - np.arange(a) * len(grid), len(grid) - 1)
        dev = grid[k] + step * (rng.random((s, a)) - 0.5) - centre  # true values - their mean
        noise = np.sqrt(err_var) * rng.standard_normal((s, a))
        for j, v in enumerate(s2_pair):
            if v <= 0.0:
                continue
            true = dev * np.sqrt(v / ref) if np.isfinite(v) else dev
            observed = true + (noise if np.isfinite(v) else 0.0)
            srcc[start : start + s, j] = _rowwise_corr(
                stats.rankdata(true, axis=1), stats.rankdata(observed, axis=1)
            )
            if j == 0:
                lcc[start : start + s] = _rowwise_corr(true, observed)
    return srcc, lcc


def srcc_ceiling_by(ratings: pd.DataFrame, by: str | Sequence[str], **kw) -> pd.DataFrame:
    """:func:`srcc_ceiling` for each group (e.g. ``"source"``).

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table.
    by : str or list of str
        Grouping column(s); missing labels form their own group.
    **kw :
        Passed to :func:`srcc_ceiling`.

    Returns
    -------
    pd.DataFrame
        One row per group: the ``by`` column(s), the keys of :func:`srcc_ceiling`, ``note``
        (the error when the group is too small; its values are then NaN).
    """
    return _apply_by(ratings, by, srcc_ceiling, **kw)
