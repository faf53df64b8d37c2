"""How much do listeners agree? Reliability, noise ceiling and listener effects of ratings.

Inputs are long rating tables, one row per rating, with a score column (``score``), the pair
key (``wavname``, ``text``) and ``listener_id``. All functions are pure: no plotting, no IO.

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

PAIR: tuple[str, str] = ("wavname", "text")

# Chunk size (ratings x splits) for the vectorised split-half loop.
_CHUNK_ELEMENTS = 4_000_000


# ----------------------------------------------------------------------------- validation
def _check_ratings(ratings: pd.DataFrame, score: str, keys: Sequence[str]) -> np.ndarray:
    """Check ``ratings`` has ``score`` (finite numbers) and ``keys`` (no missing values).

    Returns the scores as a float array of shape (n_ratings,).
    """
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings: expected a pandas DataFrame, got {type(ratings).__name__}")
    missing = [c for c in [score, *keys] if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing column(s) {missing}; has {list(ratings.columns)}")
    if len(ratings) == 0:
        raise ValueError("ratings: no rows")
    try:
        y = pd.to_numeric(ratings[score], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"ratings[{score!r}]: not numeric ({err})") from err
    bad = ~np.isfinite(y)
    if bad.any():
        rows = list(ratings.index[bad][:10])
        raise ValueError(f"ratings[{score!r}]: {bad.sum()} NaN/inf value(s), rows {rows}")
    for col in keys:
        na = ratings[col].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"ratings[{col!r}]: {na.sum()} missing value(s), "
                f"rows {list(ratings.index[na][:10])}"
            )
    return y


def _pair_codes(ratings: pd.DataFrame, pair: Sequence[str]) -> np.ndarray:
    """Integer code 0..n_pairs-1 of each rating's pair, shape (n_ratings,)."""
    return ratings.groupby(list(pair), sort=False).ngroup().to_numpy()


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
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci: expected a level in (0, 1), got {ci!r}")
    codes = _pair_codes(ratings, pair)
    counts_all = np.bincount(codes)
    keep_pair = counts_all >= min_ratings
    n_pairs_excluded = int((~keep_pair).sum())
    n_ratings_excluded = int(counts_all[~keep_pair].sum())
    if n_pairs_excluded:
        keep = keep_pair[codes]
        y = y[keep]
        codes = np.cumsum(keep_pair)[codes[keep]] - 1  # re-code 0..a-1
    n_i = np.bincount(codes).astype(float)
    a, n_total = len(n_i), len(y)
    if a < 2:
        raise ValueError(f"ratings: need at least 2 pairs, got {a}")
    if n_total - a < 1:
        raise ValueError("ratings: every pair has a single rating; no within-pair variance")

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

    def icc_single(f_val: float) -> float:
        return (f_val - 1.0) / (f_val + k0 - 1.0)

    def step_up(icc: float, k: float) -> float:  # Spearman-Brown: reliability of k ratings
        return k * icc / (1.0 + (k - 1.0) * icc)

    icc1 = (msb - msw) / (msb + (k0 - 1.0) * msw)
    icc1_lo, icc1_hi = icc_single(f_lo), icc_single(f_hi)
    icc_mean = step_up(icc1, k_hm)
    icc_mean_lo, icc_mean_hi = step_up(icc1_lo, k_hm), step_up(icc1_hi, k_hm)

    def ceiling(r: float) -> float:
        return float(np.sqrt(np.clip(r, 0.0, 1.0)))

    return {
        "n_ratings": int(n_total),
        "n_pairs": int(a),
        "n_single": int(np.sum(n_i == 1)),
        "n_pairs_excluded": n_pairs_excluded,
        "n_ratings_excluded": n_ratings_excluded,
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
        "icck": float(step_up(icc1, k0)),
        "icck_lo": float(1.0 - 1.0 / f_lo),
        "icck_hi": float(1.0 - 1.0 / f_hi),
        "icc_mean": float(icc_mean),
        "icc_mean_lo": float(icc_mean_lo),
        "icc_mean_hi": float(icc_mean_hi),
        "ceiling_lcc": ceiling(icc_mean),
        "ceiling_lcc_lo": ceiling(icc_mean_lo),
        "ceiling_lcc_hi": ceiling(icc_mean_hi),
        "ceiling_lcc_k0": ceiling(step_up(icc1, k0)),
    }


def _by_columns(ratings: pd.DataFrame, by: str | Sequence[str]) -> list[str]:
    by_cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by_cols if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings: missing grouping column(s) {missing}")
    return by_cols


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
    by_cols = _by_columns(ratings, by)
    rows = []
    for key, sub in ratings.groupby(by_cols, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row: dict = dict(zip(by_cols, key, strict=True))
        try:
            row.update(reliability(sub, **kw), note="")
        except ValueError as err:
            row.update(n_ratings=len(sub), note=str(err))
        rows.append(row)
    return pd.DataFrame(rows)


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
    if int(n_splits) != n_splits or n_splits < 1:
        raise ValueError(f"n_splits: expected a positive integer, got {n_splits!r}")
    codes = _pair_codes(ratings, pair)
    counts_all = np.bincount(codes)
    keep_pair = counts_all >= 2
    keep = keep_pair[codes]
    n_single = int((~keep_pair).sum())
    y, codes = y[keep], np.cumsum(keep_pair)[codes[keep]] - 1
    a, n_total = int(keep_pair.sum()), len(y)
    if a < 3:
        raise ValueError(f"ratings: need at least 3 pairs with >= 2 ratings, got {a}")

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
    r = np.concatenate(r_half)
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


def _rowwise_corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of matching rows of ``x`` and ``y``, shape (s, a) -> (s,)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    denom = np.sqrt(np.sum(xc * xc, axis=1) * np.sum(yc * yc, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(xc * yc, axis=1) / denom


# ----------------------------------------------------------------------------- listeners
def listener_bias(
    ratings: pd.DataFrame,
    score: str = "score",
    pair: Sequence[str] = PAIR,
    listener: str = "listener_id",
) -> pd.DataFrame:
    """Per-listener severity and consistency against the other raters of the same pairs.

    Each rating ``y`` of pair ``i`` is compared with the leave-one-out mean of the OTHER
    ratings of that pair, ``m = (sum_i - y) / (n_i - 1)``; ratings of pairs nobody else
    rated have no reference and are only counted in ``n_ratings``. Leaving the listener's own
    rating out avoids shrinking the deviation towards 0 (with the full mean, a lone
    dissenter among 2 raters would be credited with half of their own deviation). A listener
    rating the same pair twice would be compared partly with themselves; RELATE has no such
    duplicates.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table with ``score``, the ``pair`` columns and ``listener``.

    Returns
    -------
    pd.DataFrame
        Indexed by listener, sorted by id: ``n_ratings``, ``n_used`` (ratings with at least
        one other rater), ``mean_score``, ``mean_dev`` (mean of ``y - m``: positive means the
        listener rates higher than the others), ``se_dev`` (sd / sqrt(n_used), NaN if
        n_used < 2), ``z_dev`` = mean_dev / se_dev, and ``r_others`` (Pearson correlation of
        the listener's scores with ``m``; NaN when n_used < 3 or either side is constant).
    """
    y = _check_ratings(ratings, score, [*pair, listener])
    codes = _pair_codes(ratings, pair)
    n_i = np.bincount(codes)[codes]
    sums = np.bincount(codes, weights=y)[codes]
    used = n_i >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        others = np.where(used, (sums - y) / np.maximum(n_i - 1, 1), np.nan)
    dev = y - others
    u = used.astype(float)
    x0, m0 = np.where(used, y, 0.0), np.where(used, others, 0.0)
    frame = pd.DataFrame(
        {
            "listener": ratings[listener].to_numpy(),
            "y": y,
            "u": u,
            "d": np.where(used, dev, 0.0),
            "d2": np.where(used, dev, 0.0) ** 2,
            "x": x0,
            "m": m0,
            "xx": x0 * x0,
            "mm": m0 * m0,
            "xm": x0 * m0,
        }
    )
    g = frame.groupby("listener", sort=True)
    s = g[["u", "d", "d2", "x", "m", "xx", "mm", "xm"]].sum()
    out = pd.DataFrame(index=s.index)
    out.index.name = listener
    out["n_ratings"] = g.size()
    out["n_used"] = s["u"].astype(int)
    out["mean_score"] = g["y"].mean()
    n = s["u"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dev = np.where(n > 0, s["d"] / n, np.nan)
        var_dev = (s["d2"] - n * mean_dev**2) / (n - 1)
        se = np.where(n >= 2, np.sqrt(np.maximum(var_dev, 0.0) / n), np.nan)
        sxx = s["xx"] - s["x"] ** 2 / n
        smm = s["mm"] - s["m"] ** 2 / n
        sxm = s["xm"] - s["x"] * s["m"] / n
        # Tolerance: sums of squares below this are rounding noise of a constant column.
        tol = 1e-9 * np.maximum(s["xx"] + s["mm"], 1.0)
        ok = (n >= 3) & (sxx > tol) & (smm > tol)
        r = np.where(ok, sxm / np.sqrt(np.where(ok, sxx * smm, 1.0)), np.nan)
        out["mean_dev"] = mean_dev
        out["se_dev"] = se
        out["z_dev"] = np.where(se > 0, mean_dev / se, np.nan)
    out["r_others"] = np.clip(r, -1.0, 1.0)
    return out


# ----------------------------------------------------------------------------- mixed model
def mixed_model(
    ratings: pd.DataFrame,
    formula: str = "score ~ C(source) + C(category)",
    group: str = "listener_id",
    re_formula: str | None = None,
    reml: bool = True,
    method: str | Sequence[str] = ("bfgs", "powell"),
    **fit_kw,
):
    """Linear mixed model of the ratings with a random intercept per listener.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table with the columns the formula uses and ``group``.
    formula : str
        Patsy formula of the fixed effects.
    group : str
        Column of the random-effect groups (listeners).
    re_formula : str or None
        Random-effects formula; None is a random intercept only.
    reml : bool
        REML (default) or ML fit.
    method : str or list of str
        Optimiser(s) for :meth:`statsmodels.regression.mixed_linear_model.MixedLM.fit`; with a
        list, each is tried in turn (from the previous one's end point) until one converges.
        BFGS fits ~18k REL ratings of ~1,000 listeners in about 1.2 s (one core) and agrees
        with Powell and CG to 4 digits. L-BFGS is NOT used: on these models statsmodels'
        L-BFGS steps onto a singular random-effects covariance and either raises
        ``LinAlgError`` (REL ratings) or reports convergence at a zero listener variance and
        a zero intercept (simulated data in the tests).
    **fit_kw :
        Passed to ``MixedLM.fit``.

    Returns
    -------
    statsmodels.regression.mixed_linear_model.MixedLMResults
        Check ``result.converged``; convergence warnings are not silenced.

    Raises
    ------
    ValueError
        If ``group`` is missing or any used column has missing values (patsy would otherwise
        drop those rows silently; ``missing="raise"`` is passed to statsmodels).
    """
    import statsmodels.formula.api as smf

    if group not in ratings.columns:
        raise ValueError(f"ratings: missing group column {group!r}")
    na = ratings[group].isna().to_numpy()
    if na.any():
        raise ValueError(
            f"ratings[{group!r}]: {na.sum()} missing value(s), rows {list(ratings.index[na][:10])}"
        )
    model = smf.mixedlm(
        formula, ratings, groups=ratings[group], re_formula=re_formula, missing="raise"
    )
    method = [method] if isinstance(method, str) else list(method)
    return model.fit(reml=reml, method=method, **fit_kw)


def mixed_model_table(result, ci: float = 0.95) -> pd.DataFrame:
    """Fixed effects and variance components of a :func:`mixed_model` fit.

    Parameters
    ----------
    result : MixedLMResults
        A fitted mixed model.
    ci : float
        Level of the Wald intervals of the fixed effects.

    Returns
    -------
    pd.DataFrame
        Indexed by ``term``; columns ``kind`` (``"fixed"`` or ``"variance"``), ``coef``,
        ``se``, ``z``, ``p``, ``ci_lo``, ``ci_hi``. Variance rows: one ``"<name> var"`` per
        random effect (the diagonal of ``cov_re``; for a random intercept ``"Group var"``),
        ``"Residual var"`` (``result.scale``) and ``"Group share"`` = group intercept variance /
        (that + residual variance), the share of the rating variance (net of fixed effects)
        due to listeners. Variance rows carry only ``coef`` (Wald SEs of variances are poor).
    """
    fe = result.fe_params
    names = list(fe.index)
    conf = result.conf_int(alpha=1.0 - ci).loc[names]
    bse = result.bse_fe.loc[names]
    table = pd.DataFrame(
        {
            "kind": "fixed",
            "coef": fe.to_numpy(),
            "se": bse.to_numpy(),
            "z": (fe / bse).to_numpy(),
            "p": result.pvalues.loc[names].to_numpy(),
            "ci_lo": conf.iloc[:, 0].to_numpy(),
            "ci_hi": conf.iloc[:, 1].to_numpy(),
        },
        index=pd.Index(names, name="term"),
    )
    cov_re = result.cov_re
    var_names = [f"{name} var" for name in cov_re.index]
    var_values = list(np.diag(cov_re.to_numpy()))
    resid = float(result.scale)
    var_names.append("Residual var")
    var_values.append(resid)
    group_var = float(cov_re.iloc[0, 0])
    var_names.append("Group share")
    var_values.append(group_var / (group_var + resid))
    variances = pd.DataFrame(
        {
            "kind": "variance",
            "coef": var_values,
            "se": np.nan,
            "z": np.nan,
            "p": np.nan,
            "ci_lo": np.nan,
            "ci_hi": np.nan,
        },
        index=pd.Index(var_names, name="term"),
    )
    return pd.concat([table, variances])


# ----------------------------------------------------------------------------- summary
def noise_ceiling_table(
    ratings: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    n_splits: int = 200,
    seed: int | None = 0,
    **kw,
) -> pd.DataFrame:
    """Two independent estimates of the noise ceiling, per group.

    Puts the ANOVA-based reliability (:func:`reliability`) next to the split-half estimate
    (:func:`split_half`) so that the ceiling does not rest on one model.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table.
    by : str, list of str or None
        Grouping column(s); None gives one row labelled ``group="all"``.
    n_splits, seed :
        Passed to :func:`split_half`.
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
    keep = [
        *by_cols,
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
    ]
    rel = rel.reindex(columns=keep)
    sh_rows = []
    for key, sub in ratings.groupby(by_cols, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by_cols, key, strict=True))
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
    out = rel.merge(pd.DataFrame(sh_rows), on=by_cols, how="left", validate="one_to_one")
    note = out["note"].fillna("")
    extra = out.pop("split_half_note").fillna("")
    out["note"] = [("; ".join(t for t in (a, b) if t)) for a, b in zip(note, extra, strict=True)]
    return out


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


# ----------------------------------------------------------------------------- model vs humans
def calibrated_residuals(
    ratings: pd.DataFrame,
    pair_scores: pd.DataFrame,
    pred: str = "clapscore",
    score: str = "score",
    pair: Sequence[str] = PAIR,
) -> pd.DataFrame:
    """Each rating minus what a linear calibration of the model's pair score predicts.

    The model's score (a cosine) is mapped onto the rating scale by the least-squares line
    ``score ~ a + b * pred`` fitted over all ratings; the residual ``score - (a + b * pred)``
    is then in rating points. A positive mean residual in a group means listeners rate its
    pairs higher than the model predicts (the model under-rates the group); negative, the
    model over-rates it.

    Parameters
    ----------
    ratings : pd.DataFrame
        Long rating table (one row per rating) with ``score`` and the ``pair`` columns.
    pair_scores : pd.DataFrame
        One row per pair with the ``pair`` columns and ``pred`` (finite).
    pred, score : str
        Column names.

    Returns
    -------
    pd.DataFrame
        ``ratings`` (same rows, same order) with ``pred``, ``fitted`` and ``residual`` added;
        ``attrs["intercept"]``, ``attrs["slope"]``.

    Raises
    ------
    ValueError
        A rated pair has no score in ``pair_scores`` (the message lists some), a pair has two
        scores, or a score is not finite.
    """
    y = _check_ratings(ratings, score, pair)
    pair = list(pair)
    missing = [c for c in [*pair, pred] if c not in pair_scores.columns]
    if missing:
        raise ValueError(f"pair_scores: missing column(s) {missing}")
    p = pd.to_numeric(pair_scores[pred], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(p).all():
        rows = list(pair_scores.index[~np.isfinite(p)][:10])
        raise ValueError(f"pair_scores[{pred!r}]: non-finite value(s), rows {rows}")
    if pair_scores.duplicated(pair).any():
        dup = pair_scores[pair_scores.duplicated(pair, keep=False)][pair].head(3)
        raise ValueError(f"pair_scores: a pair occurs twice, e.g. {dup.to_dict('records')}")
    right = pair_scores[[*pair, pred]]
    merged = ratings.drop(columns=[pred], errors="ignore").merge(
        right, on=pair, how="left", validate="many_to_one"
    )
    merged.index = ratings.index
    unscored = merged[pred].isna().to_numpy()
    if unscored.any():
        examples = merged.loc[unscored, pair].drop_duplicates().head(3).to_dict("records")
        raise ValueError(
            f"pair_scores: {unscored.sum()} rating(s) of {len(merged.loc[unscored, pair].drop_duplicates())} "
            f"pair(s) have no {pred!r}, e.g. {examples}"
        )
    x = merged[pred].to_numpy(dtype=float)
    if np.ptp(x) == 0:
        raise ValueError(f"pair_scores[{pred!r}]: constant; no calibration line exists")
    slope, intercept = np.polyfit(x, y, 1)
    merged["fitted"] = intercept + slope * x
    merged["residual"] = y - merged["fitted"].to_numpy()
    merged.attrs = {**ratings.attrs, "intercept": float(intercept), "slope": float(slope)}
    return merged


def cell_model(
    ratings: pd.DataFrame,
    cells: Sequence[str] = ("source", "category"),
    response: str = "residual",
    group: str = "listener_id",
    min_n: int = 20,
    ci: float = 0.95,
    **fit_kw,
) -> pd.DataFrame:
    """Mean ``response`` of each cell (e.g. source x category), with a listener random effect.

    Fits ``response ~ 0 + C(cell)`` by :func:`mixed_model` (random intercept per ``group``): the
    cell-means coding of the full interaction ``C(source) * C(category)``, which stays
    estimable when some combinations are rare or absent. Each coefficient is the cell's mean
    response adjusted for who rated it; its Wald test is against 0 (no disagreement).

    Parameters
    ----------
    ratings : pd.DataFrame
        One row per rating with ``response``, ``group`` and the ``cells`` columns.
    cells : sequence of str
        Columns whose combinations form the cells.
    min_n : int
        Cells with fewer ratings are not fitted; they are kept in the output with NaN
        estimates and a ``note`` (nothing is dropped silently).
    ci : float
        Level of the Wald intervals.
    **fit_kw
        Passed to :func:`mixed_model`.

    Returns
    -------
    pd.DataFrame
        One row per cell: the ``cells`` columns, ``n`` (ratings), ``n_pairs`` (when the pair
        columns are present), ``coef``, ``se``, ``ci_lo``, ``ci_hi``, ``p``, ``note``;
        ``attrs["result"]`` holds the statsmodels result and ``attrs["group_share"]`` the
        listeners' share of the residual variance.
    """
    cells = list(cells)
    _check_ratings(ratings, response, [*cells, group])
    if min_n < 1:
        raise ValueError(f"min_n: expected >= 1, got {min_n}")
    labels = ratings[cells].astype(str).agg(" | ".join, axis=1)
    counts = labels.value_counts()
    fitted_cells = counts.index[counts >= min_n]
    if len(fitted_cells) == 0:
        raise ValueError(f"cell_model: no cell has >= {min_n} ratings (largest: {counts.max()})")
    keep = labels.isin(fitted_cells).to_numpy()
    data = pd.DataFrame(
        {"y": ratings[response].to_numpy(dtype=float)[keep], "cell": labels[keep].to_numpy()}
    )
    data[group] = ratings[group].to_numpy()[keep]
    result = mixed_model(data, formula="y ~ 0 + C(cell)", group=group, **fit_kw)
    table = mixed_model_table(result, ci=ci)
    fixed = table[table["kind"] == "fixed"]
    by_label = {name[len("C(cell)[") : -1]: row for name, row in fixed.iterrows()}
    rows = []
    has_pairs = all(c in ratings.columns for c in PAIR)
    for key, sub in ratings.groupby(cells, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        label = " | ".join(str(k) for k in key)
        row = dict(zip(cells, key, strict=True))
        row["n"] = len(sub)
        if has_pairs:
            row["n_pairs"] = len(sub.drop_duplicates(list(PAIR)))
        est = by_label.get(label)
        if est is None:
            row.update(coef=np.nan, se=np.nan, ci_lo=np.nan, ci_hi=np.nan, p=np.nan)
            row["note"] = f"n < min_n ({len(sub)} < {min_n}); not fitted"
        else:
            row.update({k: float(est[k]) for k in ("coef", "se", "ci_lo", "ci_hi", "p")})
            row["note"] = ""
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs = {
        "result": result,
        "group_share": float(table.loc["Group share", "coef"]),
        "converged": bool(result.converged),
    }
    return out


def standardized_effects(
    df: pd.DataFrame,
    cols: Sequence[str],
    conditions: dict[str, np.ndarray | pd.Series],
    baseline: np.ndarray | pd.Series,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """How far each condition moves each score, in standard deviations, against a baseline.

    Each column of ``cols`` is standardised over all rows of ``df`` (z = (x - mean) / sd), so
    effects of different scores (a human rating, a model's cosine) are comparable. The
    effect of a condition on a score is ``mean z | condition - mean z | baseline``; its
    percentile-bootstrap interval resamples the condition's rows and the baseline's rows
    independently (the same resamples for every column, so ratios are paired).

    Parameters
    ----------
    df : pd.DataFrame
        One row per item (e.g. pair).
    cols : sequence of str
        Numeric columns (finite).
    conditions : dict of name -> bool mask, shape (len(df),)
        Rows in each condition (conditions may overlap).
    baseline : bool mask, shape (len(df),)
        Reference rows (e.g. faithful renders).
    n_boot, ci, seed :
        Bootstrap resamples, interval level and seed.

    Returns
    -------
    pd.DataFrame
        One row per condition and column: ``condition``, ``col``, ``n``, ``effect``, ``lo``,
        ``hi``; conditions with fewer than 2 rows get NaN and a ``note``.
    """
    cols = list(cols)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}")
    z = {}
    for c in cols:
        x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(x).all():
            raise ValueError(
                f"df[{c!r}]: non-finite value(s), rows {list(df.index[~np.isfinite(x)][:10])}"
            )
        sd = x.std(ddof=1)
        if not sd > 0:
            raise ValueError(f"df[{c!r}]: constant; cannot standardise")
        z[c] = (x - x.mean()) / sd

    def mask_of(name: str, m) -> np.ndarray:
        m = np.asarray(m, dtype=bool)
        if m.shape != (len(df),):
            raise ValueError(f"{name}: expected a mask of shape ({len(df)},), got {m.shape}")
        return m

    base = np.flatnonzero(mask_of("baseline", baseline))
    if len(base) < 2:
        raise ValueError(f"baseline: {len(base)} row(s); need at least 2")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot: expected a positive integer, got {n_boot!r}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci: expected a level in (0, 1), got {ci!r}")
    rng = np.random.default_rng(seed)
    alpha = (1.0 - ci) / 2.0
    rows = []
    for name, m in conditions.items():
        idx = np.flatnonzero(mask_of(f"conditions[{name!r}]", m))
        if len(idx) < 2:
            for c in cols:
                rows.append(
                    dict(
                        condition=name,
                        col=c,
                        n=len(idx),
                        effect=np.nan,
                        lo=np.nan,
                        hi=np.nan,
                        note=f"{len(idx)} row(s)",
                    )
                )
            continue
        bi = idx[rng.integers(0, len(idx), size=(n_boot, len(idx)))]
        bb = base[rng.integers(0, len(base), size=(n_boot, len(base)))]
        for c in cols:
            zc = z[c]
            boot = zc[bi].mean(axis=1) - zc[bb].mean(axis=1)
            lo, hi = np.quantile(boot, [alpha, 1.0 - alpha])
            rows.append(
                dict(
                    condition=name,
                    col=c,
                    n=len(idx),
                    effect=float(zc[idx].mean() - zc[base].mean()),
                    lo=float(lo),
                    hi=float(hi),
                    note="",
                )
            )
    out = pd.DataFrame(rows, columns=["condition", "col", "n", "effect", "lo", "hi", "note"])
    out.attrs["n_baseline"] = len(base)
    return out
