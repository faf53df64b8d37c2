"""Agreement between a predictor (e.g. CLAPScore) and human ratings, with bootstrap intervals.

All functions take one value per audio--text *pair*: ``pred`` and ``target`` are arrays of
shape ``(n,)``: a model score and the human score of the pair (its mean rating on RELATE's 0-10
scale, or that mean rescaled to [0, 1], the ``target`` of the pair tables; correlations do not
care which). The four metrics are

- ``srcc``: Spearman rank correlation (ties get average ranks),
- ``lcc``: Pearson linear correlation,
- ``ktau``: Kendall's tau-b (corrected for ties, as :func:`scipy.stats.kendalltau`),
- ``mse``: mean squared error ``mean((pred - target) ** 2)`` on the scale given (lower is better).

Bootstrap intervals are percentile intervals. By default they resample **captions**
(``unit="caption"``, ``clusters=`` the caption of each pair): all the pairs of a drawn caption
enter the resample together, since RELATE rates each caption with about three clips;
``unit="pair"`` resamples pairs as if independent. A resample is used for ``pred`` and
``target`` alike (and, in :func:`paired_comparison`, for both predictors). Every result says
its unit (``resampled``: ``"captions"`` or ``"pairs"``). The resampling itself, and its speed,
are described in :mod:`humanclap.stats.bootstrap`. A resample in which ``pred`` or ``target``
is constant has no correlation; such resamples are left out of the percentiles and counted in
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
    _check_unit,
    _percentile_interval,
    _unit_codes,
)

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
def bootstrap_report(
    pred,
    target,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    metrics: Sequence[str] = METRICS,
    *,
    clusters=None,
    unit: str = "caption",
) -> pd.DataFrame:
    """Point estimates and percentile-bootstrap intervals of the agreement metrics.

    Parameters
    ----------
    pred, target : array-like, shape (n,)
        One value per pair (see :func:`correlation_report` for the checks).
    n_boot : int
        Number of bootstrap resamples.
    ci : float
        Interval level, e.g. 0.95 gives the 2.5 and 97.5 percentiles.
    seed : int or None
        Seed of ``np.random.default_rng``; the same seed gives the same intervals.
    metrics : sequence of str
        Subset of ``("srcc", "lcc", "ktau", "mse")``.
    clusters : array-like, shape (n,), optional
        The caption of each pair (any labels, e.g. ``pairs["text"]``); needed for
        ``unit="caption"``.
    unit : {"caption", "pair"}
        What a resample draws with replacement: captions (all pairs of a caption together;
        the default) or pairs.

    Returns
    -------
    pd.DataFrame
        Indexed by ``metric``; columns ``estimate`` (on all pairs), ``lo``, ``hi``, ``n``
        (pairs), ``n_boot_valid`` (resamples with a defined value; a resample where an input
        is constant has no correlation) and ``resampled`` (``"captions"`` or ``"pairs"``).

    Raises
    ------
    ValueError
        As :func:`correlation_report`; a bad bootstrap argument; ``unit="caption"`` without
        ``clusters`` (or clusters of the wrong length or with missing labels).
    """
    metrics = _check_metrics(metrics)
    _check_boot_args(n_boot, ci)
    p, h = _check_inputs(pred, target, need_variation=bool(CORRELATIONS & set(metrics)))
    units = _unit_codes(len(h), clusters, unit)
    boot = _boot_distributions([p], h, metrics, n_boot, seed, units)[0]
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
                "resampled": _check_unit(unit),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def paired_comparison(
    pred_a,
    pred_b,
    target,
    metric: str = "srcc",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    *,
    clusters=None,
    unit: str = "caption",
) -> dict[str, float]:
    """Compare two predictors on the same pairs with a paired bootstrap.

    Parameters
    ----------
    pred_a, pred_b, target : array-like, shape (n,)
        Two predictors and the human reference for the same ``n`` pairs.
    metric : {"srcc", "lcc", "ktau", "mse"}
        For the correlations higher is better; for ``mse`` LOWER is better, so a negative
        ``diff`` means ``b`` is better.
    n_boot, ci, seed, clusters, unit :
        As in :func:`bootstrap_report`. Each resample (of captions by default) is the same for
        ``pred_a``, ``pred_b`` and ``target``.

    Returns
    -------
    dict
        ``metric``; ``a`` and ``b`` (metric on all pairs); ``diff = b - a``; ``lo``/``hi``: the
        percentile interval of the bootstrap distribution of ``diff``; ``p_value``; ``n``;
        ``n_boot``; ``n_boot_valid`` (resamples where both values are defined); ``resampled``
        (``"captions"`` or ``"pairs"``).

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
    units = _unit_codes(len(h), clusters, unit)
    boot_a, boot_b = _boot_distributions([a, b], h, (metric,), n_boot, seed, units)
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
        "resampled": _check_unit(unit),
    }


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
    *,
    clusters: str | None = "text",
    unit: str = "caption",
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
    clusters : str or None
        The column of each pair's caption (default ``"text"``, RELATE's caption column): with
        ``unit="caption"`` each group's resamples draw its captions, all their pairs in the
        group together.
    unit : {"caption", "pair"}
        As in :func:`bootstrap_report`.

    Returns
    -------
    pd.DataFrame
        Long table, one row per group and metric: the ``by`` column(s), ``metric``,
        ``estimate``, ``lo``, ``hi``, ``n``, ``n_boot_valid``, ``valid`` (bool), ``note``
        (why a row is invalid: ``"n < min_n"`` or the input error, e.g. a constant column;
        empty when valid) and ``resampled`` (``"captions"`` or ``"pairs"``).

    Raises
    ------
    ValueError
        A column is missing (``clusters`` included, with ``unit="caption"``) or has missing
        captions; a bad argument.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    metrics = _check_metrics(metrics)
    resampled = _check_unit(unit)
    missing = [c for c in [pred, target, *by_cols] if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}; has {list(df.columns)}")
    cluster_col = _cluster_column(df, clusters, unit)
    boot_kw = {"n_boot": n_boot, "ci": ci, "seed": seed, "metrics": metrics, "unit": unit}
    rows = []
    for _, labels, sub in _iter_groups(df, by_cols):
        table, note = _group_table(sub, pred, target, min_n, boot_kw, cluster_col)
        for m in metrics:
            row = {**labels, "metric": m}
            if table is None:
                row.update(estimate=np.nan, lo=np.nan, hi=np.nan, n=len(sub), n_boot_valid=0)
            else:
                row.update(table.loc[m].to_dict())
            row.update(valid=table is not None, note=note, resampled=resampled)
            rows.append(row)
    columns = [*by_cols, "metric", "estimate", "lo", "hi", "n", "n_boot_valid", "valid", "note"]
    out = pd.DataFrame(rows, columns=[*columns, "resampled"])
    return out.astype({"n": int, "n_boot_valid": int, "valid": bool})


def _cluster_column(df: pd.DataFrame, clusters: str | None, unit: str) -> str | None:
    """The caption column of ``df`` for ``unit="caption"`` (checked: present, no missing
    value), None for ``unit="pair"``; raise ValueError naming ``clusters``."""
    if unit == "pair":
        return None
    if clusters is None or clusters not in df.columns:
        raise ValueError(
            f"clusters: unit='caption' needs the column of each pair's caption, got "
            f"{clusters!r}; df has {list(df.columns)} (or pass unit='pair')"
        )
    na = df[clusters].isna().to_numpy()
    if na.any():
        raise ValueError(
            f"df[{clusters!r}]: {int(na.sum())} missing caption(s), rows {list(df.index[na][:10])}"
        )
    return clusters


def _group_table(
    sub: pd.DataFrame,
    pred: str,
    target: str,
    min_n: int,
    boot_kw: dict,
    cluster_col: str | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """:func:`bootstrap_report` of one group of :func:`grouped_report`, or None and why not.

    Parameters
    ----------
    sub : pd.DataFrame
        The group's pairs, shape (n, k).
    boot_kw : dict
        ``n_boot``, ``ci``, ``seed``, ``metrics`` and ``unit`` of :func:`bootstrap_report`.
    cluster_col : str or None
        The caption column (for ``unit="caption"``).

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
        clusters = None if cluster_col is None else sub[cluster_col].to_numpy()
        table = bootstrap_report(
            sub[pred].to_numpy(), sub[target].to_numpy(), clusters=clusters, **boot_kw
        )
        return table, ""
    except ValueError as err:
        return None, str(err)
