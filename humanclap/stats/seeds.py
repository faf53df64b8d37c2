"""Recipes trained with several seeds each, compared with a reference recipe.

A two-level paired bootstrap (test captions, or pairs, and training seeds) with Holm-adjusted
p-values; see :func:`seed_comparison`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from humanclap.stats._checks import _as_vector, _check_boot_args, _check_inputs
from humanclap.stats.agreement import CORRELATIONS, _check_metrics, _point_metric
from humanclap.stats.bootstrap import (
    _boot_distributions,
    _bootstrap_p_value,
    _check_unit,
    _percentile_interval,
    _unit_codes,
)
from humanclap.stats.multiple import holm


def seed_comparison(
    preds: Mapping[str, Any],
    target,
    reference: str,
    metric: str = "srcc",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    *,
    clusters=None,
    unit: str = "caption",
) -> pd.DataFrame:
    """Compare models trained with several seeds each against a reference model.

    For a training recipe (a loss, a lambda, ...) the quantity of interest is its metric
    averaged over training seeds. Its uncertainty has two sources: which test pairs were drawn
    and which seeds were drawn. A two-level bootstrap covers both: every resample draws the
    test captions with replacement, all the pairs of a drawn caption together (or the pairs,
    with ``unit="pair"``; the same draws for all models: paired) and, independently for each
    recipe, its seeds with replacement; the recipe's value in the resample is the mean over
    the drawn seeds of the metric on the drawn pairs.

    Parameters
    ----------
    preds : dict of name -> array-like, shape (n_seeds, n) or (n,)
        Scores of each recipe's models (one row per seed) for the same ``n`` pairs.
    target : array-like, shape (n,)
    reference : str
        The recipe every other one is compared with (a key of ``preds``).
    metric : {"srcc", "lcc", "ktau", "mse"}
        For ``mse`` lower is better (a negative ``diff`` is an improvement).
    n_boot, ci, seed :
        Resamples, interval level, seed.
    clusters : array-like, shape (n,), optional
        The caption of each test pair; needed for ``unit="caption"``.
    unit : {"caption", "pair"}
        The first level's unit: captions (the default) or pairs.

    Returns
    -------
    pd.DataFrame
        One row per recipe (input order): ``name``, ``n_seeds``, ``mean`` (seed mean of the
        metric on all pairs), ``sd`` (across seeds; NaN for one seed), ``lo``/``hi`` (interval
        of the seed mean), ``diff`` = mean - reference mean, ``diff_lo``/``diff_hi``,
        ``p_value`` (two-sided bootstrap p of ``diff``, as in
        :func:`humanclap.stats.agreement.paired_comparison`), ``p_holm`` (Holm-adjusted over
        the non-reference recipes), ``significant`` (``p_holm < 1 - ci``) and ``resampled``
        (``"captions"`` or ``"pairs"``). The reference row has ``diff = 0`` and NaN tests.
    """
    (metric,) = _check_metrics((metric,), "metric")
    _check_boot_args(n_boot, ci)
    if reference not in preds:
        raise ValueError(f"reference: {reference!r} is not one of {list(preds)}")
    need = metric in CORRELATIONS
    h = _as_vector(target, "target")
    arrays = _seed_arrays(preds, h, need)
    units = _unit_codes(len(h), clusters, unit)
    dist, point = _seed_distributions(arrays, h, metric, n_boot, seed, units)
    rows = [_seed_row(name, dist, point, reference, ci) for name in arrays]
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"].to_numpy())
    out["significant"] = out["p_holm"] < (1.0 - ci)
    out["resampled"] = _check_unit(unit)
    return out


def _seed_arrays(
    preds: Mapping[str, Any], h: np.ndarray, need_variation: bool
) -> dict[str, np.ndarray]:
    """Each recipe's scores as a float array of shape (n_seeds, n), every row checked.

    Parameters
    ----------
    preds : dict of name -> array-like, shape (n_seeds, n) or (n,)
    h : np.ndarray, shape (n,)
        The human reference.
    need_variation : bool
        Reject constant rows (the metric is a correlation).
    """
    arrays: dict[str, np.ndarray] = {}
    for name, value in preds.items():
        arr = np.asarray(value, dtype=float)
        arr = arr[None, :] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != len(h) or arr.shape[0] == 0:
            raise ValueError(
                f"preds[{name!r}]: expected shape (n_seeds, {len(h)}), got {np.shape(value)}"
            )
        for s in range(arr.shape[0]):
            _check_inputs(
                arr[s], h, need_variation=need_variation, pred_name=f"preds[{name!r}][{s}]"
            )
        arrays[name] = arr
    return arrays


def _seed_distributions(
    arrays: dict[str, np.ndarray],
    h: np.ndarray,
    metric: str,
    n_boot: int,
    seed: int | None,
    units: tuple[np.ndarray, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Two-level bootstrap of each recipe's seed mean, and its per-seed point estimates.

    The caption (or pair) resamples come from ``default_rng(seed)`` (shared by every model),
    the seed resamples from ``default_rng(seed + 1)`` (recipe by recipe, in input order).

    Parameters
    ----------
    arrays : dict of name -> np.ndarray, shape (n_seeds, n)
    h : np.ndarray, shape (n,)
    units : (codes, k), optional
        The resampling unit of each pair (``bootstrap._unit_codes``); None: pairs.

    Returns
    -------
    dist : dict of name -> np.ndarray, shape (n_boot,)
        Bootstrap distribution of the recipe's seed-mean metric.
    point : dict of name -> np.ndarray, shape (n_seeds,)
        The metric of each seed on all pairs.
    """
    flat = [row for arr in arrays.values() for row in arr]
    boots = _boot_distributions(flat, h, (metric,), n_boot, seed, units)
    rng = np.random.default_rng(None if seed is None else seed + 1)
    dist: dict[str, np.ndarray] = {}
    point: dict[str, np.ndarray] = {}
    start = 0
    for name, arr in arrays.items():
        k = arr.shape[0]
        per_seed = np.stack([boots[start + s][metric] for s in range(k)])  # (k, n_boot)
        pick = rng.integers(0, k, size=(n_boot, k))
        dist[name] = np.take_along_axis(per_seed.T, pick, axis=1).mean(axis=1)
        point[name] = np.array([_point_metric(arr[s], h, metric) for s in range(k)])
        start += k
    return dist, point


def _seed_row(
    name: str,
    dist: dict[str, np.ndarray],
    point: dict[str, np.ndarray],
    reference: str,
    ci: float,
) -> dict[str, Any]:
    """One row of :func:`seed_comparison` (all columns but ``p_holm`` and ``significant``).

    Parameters
    ----------
    dist, point :
        As returned by :func:`_seed_distributions`: shapes (n_boot,) and (n_seeds,).
    """
    k = len(point[name])
    lo, hi, _ = _percentile_interval(dist[name], ci)
    row = {
        "name": name,
        "n_seeds": k,
        "mean": float(point[name].mean()),
        "sd": float(point[name].std(ddof=1)) if k > 1 else np.nan,
        "lo": lo,
        "hi": hi,
        "diff": float(point[name].mean() - point[reference].mean()),
    }
    if name == reference:
        row.update(diff_lo=np.nan, diff_hi=np.nan, p_value=np.nan)
    else:
        d = dist[name] - dist[reference]
        d = d[np.isfinite(d)]
        dlo, dhi, _ = _percentile_interval(d, ci)
        row.update(diff_lo=dlo, diff_hi=dhi, p_value=_bootstrap_p_value(d))
    return row
