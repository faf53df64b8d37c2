"""Agreement between a predictor (e.g. CLAPScore) and human ratings, with bootstrap intervals.

All functions take one value per audio--text *pair*: ``pred`` and ``human`` are arrays of
shape ``(n,)`` (typically a model score and the pair's mean human rating). The four metrics are

- ``srcc``: Spearman rank correlation (ties get average ranks),
- ``lcc``: Pearson linear correlation,
- ``ktau``: Kendall's tau-b (corrected for ties, as :func:`scipy.stats.kendalltau`),
- ``mse``: mean squared error ``mean((pred - human) ** 2)`` on the scale given (lower is better).

Bootstrap intervals are percentile intervals from resampling *pairs*: each resample draws ``n``
indices with replacement and uses the same indices for ``pred`` and ``human`` (and, in
:func:`paired_comparison`, for both predictors).

Speed: SRCC, LCC and MSE are computed for all resamples at once in numpy. The ranks of a
resample are obtained from the multiplicities of the original (unique) values: for a value with
``c`` copies in the resample and ``b`` resampled values below it, its average rank is
``b + (c + 1) / 2``, exactly what ``scipy.stats.rankdata(..., axis=1)`` returns (checked in the
tests) but in O(n) per resample. KTAU loops over resamples with :func:`scipy.stats.kendalltau`
(O(n log n) each): about 1 s for ``n=5000, n_boot=1000`` on one core; pass
``metrics=("srcc", "lcc", "mse")`` to skip it. A resample in which ``pred`` or ``human`` is
constant has no correlation; such resamples are left out of the percentiles and counted in
``n_boot_valid``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

METRICS: tuple[str, ...] = ("srcc", "lcc", "ktau", "mse")
CORRELATIONS: frozenset[str] = frozenset({"srcc", "lcc", "ktau"})

# Resamples are processed in chunks of about this many elements (bounds memory for large n).
_CHUNK_ELEMENTS = 2_000_000


# ----------------------------------------------------------------------------- validation
def _as_vector(x, name: str) -> np.ndarray:
    """Return ``x`` as a float array of shape (n,); raise ValueError naming ``name``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: cannot convert to a float array ({err})") from err
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected shape (n,), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in where[:10]) + (", ..." if len(where) > 10 else "")
        raise ValueError(
            f"{name}: {len(where)} of {len(arr)} values are NaN or infinite (positions {shown})"
        )
    return arr


def _check_inputs(
    pred,
    human,
    *,
    need_variation: bool = True,
    pred_name: str = "pred",
    human_name: str = "human",
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of score vectors; return them as float arrays of shape (n,)."""
    p = _as_vector(pred, pred_name)
    h = _as_vector(human, human_name)
    if len(p) != len(h):
        raise ValueError(f"{pred_name} has {len(p)} values but {human_name} has {len(h)}")
    if len(p) < 3:
        raise ValueError(f"{pred_name}/{human_name}: need at least 3 pairs, got {len(p)}")
    if need_variation:
        for arr, name in ((p, pred_name), (h, human_name)):
            if np.all(arr == arr[0]):
                raise ValueError(
                    f"{name}: all {len(arr)} values equal {arr[0]!r}; correlation is undefined"
                )
    return p, h


def _check_metrics(metrics: Sequence[str], name: str = "metrics") -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"{name}: unknown metric(s) {unknown}; choose from {list(METRICS)}")
    return metrics


def _check_boot_args(n_boot: int, ci: float) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot: expected a positive integer, got {n_boot!r}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci: expected a level in (0, 1), got {ci!r}")


# ----------------------------------------------------------------------------- point estimates
def _point_metric(p: np.ndarray, h: np.ndarray, metric: str) -> float:
    if metric == "srcc":
        return float(stats.spearmanr(p, h).statistic)
    if metric == "lcc":
        return float(stats.pearsonr(p, h).statistic)
    if metric == "ktau":
        return float(stats.kendalltau(p, h, variant="b").statistic)
    return float(np.mean((p - h) ** 2))


def correlation_report(pred, human) -> dict[str, float]:
    """SRCC, LCC, KTAU (tau-b) and MSE of ``pred`` against ``human``.

    Parameters
    ----------
    pred, human : array-like, shape (n,)
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
    p, h = _check_inputs(pred, human)
    out: dict[str, float] = {m: _point_metric(p, h, m) for m in METRICS}
    out["n"] = len(p)
    return out


# ----------------------------------------------------------------------------- bootstrap core
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
    num_boot = idx.shape[0]
    c = codes[idx]  # (n_boot, n)
    offsets = (np.arange(num_boot) * n_unique)[:, None]
    counts = np.bincount((c + offsets).ravel(), minlength=num_boot * n_unique)
    counts = counts.reshape(num_boot, n_unique).astype(float)
    below = np.cumsum(counts, axis=1) - counts
    rank_of_unique = below + (counts + 1.0) / 2.0
    return np.take_along_axis(rank_of_unique, c, axis=1)


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


def _boot_distributions(
    preds: Sequence[np.ndarray],
    human: np.ndarray,
    metrics: tuple[str, ...],
    n_boot: int,
    seed: int | None,
) -> list[dict[str, np.ndarray]]:
    """Bootstrap distributions, shape (n_boot,), of ``metrics`` for each predictor in ``preds``.

    All predictors share the same resample indices (paired bootstrap). Indices come from
    ``np.random.default_rng(seed)`` in chunks whose size depends only on ``n``.
    """
    n = len(human)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    want_ranks = "srcc" in metrics
    h_codes = _unique_codes(human) if want_ranks else None
    p_codes = [_unique_codes(p) for p in preds] if want_ranks else None
    out: list[dict[str, list[np.ndarray]]] = [{m: [] for m in metrics} for _ in preds]
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        h = human[idx]
        h_rank = _resample_ranks(*h_codes, idx) if want_ranks else None
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
                    val = np.empty(b)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # constant resample -> NaN + warning
                        for i in range(b):
                            val[i] = stats.kendalltau(p[i], h[i], variant="b").statistic
                out[k][m].append(val)
        done += b
    return [{m: np.concatenate(v) for m, v in d.items()} for d in out]


def _percentile_interval(boot: np.ndarray, ci: float) -> tuple[float, float, int]:
    """Percentile interval of the finite values of ``boot`` and how many were finite."""
    ok = boot[np.isfinite(boot)]
    if len(ok) == 0:
        return np.nan, np.nan, 0
    lo, hi = np.quantile(ok, [(1.0 - ci) / 2.0, 1.0 - (1.0 - ci) / 2.0])
    return float(lo), float(hi), len(ok)


# ----------------------------------------------------------------------------- public bootstrap API
def bootstrap_report(
    pred,
    human,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """Point estimates and percentile-bootstrap intervals of the agreement metrics.

    Parameters
    ----------
    pred, human : array-like, shape (n,)
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
    p, h = _check_inputs(pred, human, need_variation=bool(CORRELATIONS & set(metrics)))
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


def paired_comparison(
    pred_a,
    pred_b,
    human,
    metric: str = "srcc",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> dict[str, float]:
    """Compare two predictors on the same pairs with a paired bootstrap.

    Parameters
    ----------
    pred_a, pred_b, human : array-like, shape (n,)
        Two predictors and the human reference for the same ``n`` pairs.
    metric : {"srcc", "lcc", "ktau", "mse"}
        For the correlations higher is better; for ``mse`` LOWER is better, so a negative
        ``diff`` means ``b`` is better.
    n_boot, ci, seed :
        As in :func:`bootstrap_report`. Each resample uses the same pair indices for
        ``pred_a``, ``pred_b`` and ``human``.

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
    a, h = _check_inputs(pred_a, human, need_variation=need, pred_name="pred_a")
    b, _ = _check_inputs(pred_b, human, need_variation=need, pred_name="pred_b")
    boot_a, boot_b = _boot_distributions([a, b], h, (metric,), n_boot, seed)
    d = boot_b[metric] - boot_a[metric]
    d = d[np.isfinite(d)]
    lo, hi, n_valid = _percentile_interval(d, ci)
    if n_valid:
        p_le = (1 + np.count_nonzero(d <= 0)) / (n_valid + 1)
        p_ge = (1 + np.count_nonzero(d >= 0)) / (n_valid + 1)
        p_value = float(min(1.0, 2.0 * min(p_le, p_ge)))
    else:
        p_value = np.nan
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


def grouped_report(
    df: pd.DataFrame,
    pred: str,
    human: str,
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
    pred, human : str
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
    missing = [c for c in [pred, human, *by_cols] if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}; has {list(df.columns)}")
    rows = []
    for key, sub in df.groupby(by_cols, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(by_cols, key, strict=True))
        n = len(sub)
        note = ""
        table = None
        if n < min_n:
            note = f"n < min_n ({n} < {min_n})"
        else:
            try:
                table = bootstrap_report(
                    sub[pred].to_numpy(),
                    sub[human].to_numpy(),
                    n_boot=n_boot,
                    ci=ci,
                    seed=seed,
                    metrics=metrics,
                )
            except ValueError as err:
                note = str(err)
        for m in metrics:
            row = {**labels, "metric": m}
            if table is None:
                row.update(estimate=np.nan, lo=np.nan, hi=np.nan, n=n, n_boot_valid=0)
            else:
                row.update(table.loc[m].to_dict())
            row.update(valid=table is not None, note=note)
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[*by_cols, "metric", "estimate", "lo", "hi", "n", "n_boot_valid", "valid", "note"],
    )
    return out.astype({"n": int, "n_boot_valid": int, "valid": bool})


def _holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN), shape (m,)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def seed_comparison(
    preds: Mapping[str, Any],
    human,
    reference: str,
    metric: str = "srcc",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Compare models trained with several seeds each against a reference model.

    For a training recipe (a loss, a lambda, ...) the quantity of interest is its metric
    averaged over training seeds. Its uncertainty has two sources: which test pairs were drawn
    and which seeds were drawn. A two-level bootstrap covers both: every resample draws the
    test pairs with replacement (the same pairs for all models: paired) and, independently
    for each recipe, its seeds with replacement; the recipe's value in the resample is the
    mean over the drawn seeds of the metric on the drawn pairs.

    Parameters
    ----------
    preds : dict of name -> array-like, shape (n_seeds, n) or (n,)
        Scores of each recipe's models (one row per seed) for the same ``n`` pairs.
    human : array-like, shape (n,)
    reference : str
        The recipe every other one is compared with (a key of ``preds``).
    metric : {"srcc", "lcc", "ktau", "mse"}
        For ``mse`` lower is better (a negative ``diff`` is an improvement).
    n_boot, ci, seed :
        Resamples, interval level, seed.

    Returns
    -------
    pd.DataFrame
        One row per recipe (input order): ``name``, ``n_seeds``, ``mean`` (seed mean of the
        metric on all pairs), ``sd`` (across seeds; NaN for one seed), ``lo``/``hi`` (interval
        of the seed mean), ``diff`` = mean - reference mean, ``diff_lo``/``diff_hi``,
        ``p_value`` (two-sided bootstrap p of ``diff``, as in :func:`paired_comparison`),
        ``p_holm`` (Holm-adjusted over the non-reference recipes) and ``significant``
        (``p_holm < 1 - ci``). The reference row has ``diff = 0`` and NaN tests.
    """
    (metric,) = _check_metrics((metric,), "metric")
    _check_boot_args(n_boot, ci)
    if reference not in preds:
        raise ValueError(f"reference: {reference!r} is not one of {list(preds)}")
    need = metric in CORRELATIONS
    h = _as_vector(human, "human")
    arrays: dict[str, np.ndarray] = {}
    for name, value in preds.items():
        arr = np.asarray(value, dtype=float)
        arr = arr[None, :] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[1] != len(h) or arr.shape[0] == 0:
            raise ValueError(
                f"preds[{name!r}]: expected shape (n_seeds, {len(h)}), got {np.shape(value)}"
            )
        for s in range(arr.shape[0]):
            _check_inputs(arr[s], h, need_variation=need, pred_name=f"preds[{name!r}][{s}]")
        arrays[name] = arr
    flat = [row for arr in arrays.values() for row in arr]
    boots = _boot_distributions(flat, h, (metric,), n_boot, seed)
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
    alpha = (1.0 - ci) / 2.0
    rows = []
    for name, arr in arrays.items():
        d_self = dist[name][np.isfinite(dist[name])]
        lo, hi = np.quantile(d_self, [alpha, 1 - alpha]) if len(d_self) else (np.nan, np.nan)
        row = {
            "name": name,
            "n_seeds": arr.shape[0],
            "mean": float(point[name].mean()),
            "sd": float(point[name].std(ddof=1)) if arr.shape[0] > 1 else np.nan,
            "lo": float(lo),
            "hi": float(hi),
            "diff": float(point[name].mean() - point[reference].mean()),
        }
        if name == reference:
            row.update(diff_lo=np.nan, diff_hi=np.nan, p_value=np.nan)
        else:
            d = dist[name] - dist[reference]
            d = d[np.isfinite(d)]
            dlo, dhi, n_valid = _percentile_interval(d, ci)
            p_le = (1 + np.count_nonzero(d <= 0)) / (n_valid + 1)
            p_ge = (1 + np.count_nonzero(d >= 0)) / (n_valid + 1)
            row.update(diff_lo=dlo, diff_hi=dhi, p_value=float(min(1.0, 2 * min(p_le, p_ge))))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["p_holm"] = _holm(out["p_value"].to_numpy())
    out["significant"] = out["p_holm"] < (1.0 - ci)
    return out
