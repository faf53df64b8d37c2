"""Agreement between a predictor (e.g. CLAPScore) and human ratings, with bootstrap intervals.

All functions take one value per audio--text *pair*: ``pred`` and ``target`` are arrays of
shape ``(n,)``: a model score and the human score of the pair (its mean rating on RELATE's 0-10
scale, or that mean rescaled to [0, 1], the ``target`` of the pair tables; correlations do not
care which). ``human=`` is the deprecated name of ``target``. The four metrics are

- ``srcc``: Spearman rank correlation (ties get average ranks),
- ``lcc``: Pearson linear correlation,
- ``ktau``: Kendall's tau-b (corrected for ties, as :func:`scipy.stats.kendalltau`),
- ``mse``: mean squared error ``mean((pred - target) ** 2)`` on the scale given (lower is better).

Bootstrap intervals are percentile intervals from resampling *pairs*: each resample draws ``n``
indices with replacement and uses the same indices for ``pred`` and ``target`` (and, in
:func:`paired_comparison`, for both predictors). The resampling itself, and its speed, are
described in :mod:`humanclap.stats.bootstrap`. A resample in which ``pred`` or ``target`` is
constant has no correlation; such resamples are left out of the percentiles and counted in
``n_boot_valid``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from humanclap.stats._checks import _check_boot_args, _check_inputs, _iter_groups
from humanclap.stats.bootstrap import (
    _boot_distributions,
    _bootstrap_p_value,
    _percentile_interval,
)
from humanclap.utils import renamed_arguments

METRICS: tuple[str, ...] = ("srcc", "lcc", "ktau", "mse")
CORRELATIONS: frozenset[str] = frozenset({"srcc", "lcc", "ktau"})


def _check_metrics(metrics: Sequence[str], name: str = "metrics") -> tuple[str, ...]:
    """``metrics`` (a name or names of :data:`METRICS`) as a non-empty tuple."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"{name}: unknown metric(s) {unknown}; choose from {list(METRICS)}")
    return metrics


# ----------------------------------------------------------------------------- point estimates
def _point_metric(p: np.ndarray, h: np.ndarray, metric: str) -> float:
    """``metric`` of ``p`` against ``h``, both of shape (n,)."""
    if metric == "srcc":
        return float(stats.spearmanr(p, h).statistic)
    if metric == "lcc":
        return float(stats.pearsonr(p, h).statistic)
    if metric == "ktau":
        return float(stats.kendalltau(p, h, variant="b").statistic)
    return float(np.mean((p - h) ** 2))


@renamed_arguments(human="target")
def correlation_report(pred, target) -> dict[str, float]:
    """SRCC, LCC, KTAU (tau-b) and MSE of ``pred`` against ``target``.

    Parameters
    ----------
    pred, target : array-like, shape (n,)
        One value per pair, finite, ``n >= 3``, neither constant.

    Returns
    -------
    dict
        ``srcc``, ``lcc``, ``ktau``, ``mse`` (floats) and ``n`` (int).

    Raises
    ------
    ValueError
        Naming the parameter, for a length mismatch, ``n < 3``, NaN/inf values (with their
        count and positions) or a constant input.
    """
    p, h = _check_inputs(pred, target)
    out: dict[str, float] = {m: _point_metric(p, h, m) for m in METRICS}
    out["n"] = len(p)
    return out


# ----------------------------------------------------------------------------- bootstrap
@renamed_arguments(human="target")
def bootstrap_report(
    pred,
    target,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """Point estimates and percentile-bootstrap intervals of the agreement metrics.

    Parameters
    ----------
    pred, target : array-like, shape (n,)
        One value per pair (see :func:`correlation_report` for the checks).
    n_boot : int
        Number of bootstrap resamples of the ``n`` pairs.
    ci : float
        Interval level, e.g. 0.95 gives the 2.5 and 97.5 percentiles.
    seed : int or None
        Seed of ``np.random.default_rng``; the same seed gives the same intervals.
    metrics : sequence of str
        Subset of ``("srcc", "lcc", "ktau", "mse")``.

    Returns
    -------
    pd.DataFrame
        Indexed by ``metric``; columns ``estimate`` (on all pairs), ``lo``, ``hi``, ``n``
        (pairs) and ``n_boot_valid`` (resamples with a defined value; a resample where an
        input is constant has no correlation).
    """
    metrics = _check_metrics(metrics)
    _check_boot_args(n_boot, ci)
    p, h = _check_inputs(pred, target, need_variation=bool(CORRELATIONS & set(metrics)))
    boot = _boot_distributions([p], h, metrics, n_boot, seed)[0]
    rows = []
    for m in metrics:
        lo, hi, n_valid = _percentile_interval(boot[m], ci)
        rows.append(
            {
                "metric": m,
                "estimate": _point_metric(p, h, m),
                "lo": lo,
                "hi": hi,
                "n": len(p),
                "n_boot_valid": n_valid,
            }
        )
    return pd.DataFrame(rows).set_index("metric")


@renamed_arguments(human="target")
def paired_comparison(
    pred_a,
    pred_b,
    target,
    metric: str = "srcc",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> dict[str, float]:
    """Compare two predictors on the same pairs with a paired bootstrap.

    Parameters
    ----------
    pred_a, pred_b, target : array-like, shape (n,)
        Two predictors and the human reference for the same ``n`` pairs.
    metric : {"srcc", "lcc", "ktau", "mse"}
        For the correlations higher is better; for ``mse`` LOWER is better, so a negative
        ``diff`` means ``b`` is better.
    n_boot, ci, seed :
        As in :func:`bootstrap_report`. Each resample uses the same pair indices for
        ``pred_a``, ``pred_b`` and ``target``.

    Returns
    -------
    dict
        ``metric``; ``a`` and ``b`` (metric on all pairs); ``diff = b - a``; ``lo``/``hi``: the
        percentile interval of the bootstrap distribution of ``diff``; ``p_value``; ``n``;
        ``n_boot``; ``n_boot_valid`` (resamples where both values are defined).

    Notes
    -----
    The two-sided p-value inverts the percentile interval:
    ``p = min(1, 2 * min((1 + #{d* <= 0}) / (B + 1), (1 + #{d* >= 0}) / (B + 1)))`` where ``d*``
    are the ``B`` valid bootstrap differences. The ``+1`` keeps ``p >= 2 / (B + 1)`` (a finite
    bootstrap cannot give a smaller p). Identical predictors give ``d* = 0`` everywhere and
    ``p = 1``.
    """
    (metric,) = _check_metrics((metric,), "metric")
    _check_boot_args(n_boot, ci)
    need = metric in CORRELATIONS
    a, h = _check_inputs(pred_a, target, need_variation=need, pred_name="pred_a")
    b, _ = _check_inputs(pred_b, target, need_variation=need, pred_name="pred_b")
    boot_a, boot_b = _boot_distributions([a, b], h, (metric,), n_boot, seed)
    d = boot_b[metric] - boot_a[metric]
    d = d[np.isfinite(d)]
    lo, hi, n_valid = _percentile_interval(d, ci)
    p_value = _bootstrap_p_value(d) if n_valid else np.nan
    est_a, est_b = _point_metric(a, h, metric), _point_metric(b, h, metric)
    return {
        "metric": metric,
        "a": est_a,
        "b": est_b,
        "diff": est_b - est_a,
        "lo": lo,
        "hi": hi,
        "p_value": p_value,
        "n": len(h),
        "n_boot": int(n_boot),
        "n_boot_valid": n_valid,
    }


@renamed_arguments(human="target")
def grouped_report(
    df: pd.DataFrame,
    pred: str,
    target: str,
    by: str | Sequence[str],
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    min_n: int = 10,
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """:func:`bootstrap_report` for each group of a pair table.

    Parameters
    ----------
    df : pd.DataFrame
        One row per pair.
    pred, target : str
        Column names of the predictor and the human reference in ``df``.
    by : str or list of str
        Grouping column(s). Missing group labels form their own group (not dropped).
    n_boot, ci, seed, metrics :
        As in :func:`bootstrap_report`; every group is bootstrapped with the same ``seed``, so a
        group's row equals ``bootstrap_report`` on that group alone.
    min_n : int
        Groups with fewer pairs are kept with NaN values and ``valid=False``.

    Returns
    -------
    pd.DataFrame
        Long table, one row per group and metric: the ``by`` column(s), ``metric``,
        ``estimate``, ``lo``, ``hi``, ``n``, ``n_boot_valid``, ``valid`` (bool) and ``note``
        (why a row is invalid: ``"n < min_n"`` or the input error, e.g. a constant column;
        empty when valid).
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    metrics = _check_metrics(metrics)
    missing = [c for c in [pred, target, *by_cols] if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}; has {list(df.columns)}")
    boot_kw = {"n_boot": n_boot, "ci": ci, "seed": seed, "metrics": metrics}
    rows = []
    for _, labels, sub in _iter_groups(df, by_cols):
        table, note = _group_table(sub, pred, target, min_n, boot_kw)
        for m in metrics:
            row = {**labels, "metric": m}
            if table is None:
                row.update(estimate=np.nan, lo=np.nan, hi=np.nan, n=len(sub), n_boot_valid=0)
            else:
                row.update(table.loc[m].to_dict())
            row.update(valid=table is not None, note=note)
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[*by_cols, "metric", "estimate", "lo", "hi", "n", "n_boot_valid", "valid", "note"],
    )
    return out.astype({"n": int, "n_boot_valid": int, "valid": bool})


def _group_table(
    sub: pd.DataFrame, pred: str, target: str, min_n: int, boot_kw: dict
) -> tuple[pd.DataFrame | None, str]:
    """:func:`bootstrap_report` of one group of :func:`grouped_report`, or None and why not.

    Parameters
    ----------
    sub : pd.DataFrame
        The group's pairs, shape (n, k).
    boot_kw : dict
        ``n_boot``, ``ci``, ``seed`` and ``metrics`` of :func:`bootstrap_report`.

    Returns
    -------
    table : pd.DataFrame or None
        The report; None when ``n < min_n`` or the inputs are invalid.
    note : str
        Empty, or why there is no table.
    """
    n = len(sub)
    if n < min_n:
        return None, f"n < min_n ({n} < {min_n})"
    try:
        return bootstrap_report(sub[pred].to_numpy(), sub[target].to_numpy(), **boot_kw), ""
    except ValueError as err:
        return None, str(err)
