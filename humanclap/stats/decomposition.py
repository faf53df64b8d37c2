"""How much of an agreement comes from telling groups apart: within- versus between-group.

A predictor can correlate with the human scores over all pairs because it ranks the pairs well
*within* each group (e.g. each audio source of RELATE), or merely because it knows which group
scores higher on average. :func:`within_between` separates the two:

- ``within``: the metric inside each group;
- ``pooled_within``: their mean weighted by pairs, ``sum_g n_g r_g / sum_g n_g`` over the groups
  whose metric is defined (at least 3 pairs, neither input constant);
- ``between``: the metric of a predictor that knows only each group's mean prediction (every
  prediction replaced by its group's mean prediction), against the targets;
- ``between_target_means``: the same with each group's mean *target* instead: what the group
  labels alone give when the groups are ranked by their mean human score;
- ``overall``: the metric on all pairs.

``between`` close to ``overall`` with a small ``pooled_within`` says the overall agreement is
mostly the group differences. The metric is a correlation (``srcc``, ``lcc`` or ``ktau`` of
:mod:`humanclap.stats.agreement`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from humanclap.stats._checks import _as_vector, _check_boot_args
from humanclap.stats.agreement import CORRELATIONS, _point_metric
from humanclap.stats.bootstrap import (
    _check_unit,
    _percentile_interval,
    _unit_codes,
    _unit_index_sampler,
)

__all__ = ["within_between"]

#: The rows of :func:`within_between` after the per-group ``within`` rows, in order.
COMPONENTS: tuple[str, ...] = ("pooled_within", "between", "between_target_means", "overall")


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two non-constant vectors of shape (n,), clipped to [-1, 1]."""
    xc, yc = x - x.mean(), y - y.mean()
    return float(np.clip(xc @ yc / np.sqrt((xc @ xc) * (yc @ yc)), -1.0, 1.0))


def _metric_or_nan(p: np.ndarray, h: np.ndarray, metric: str) -> tuple[float, str]:
    """``metric`` of ``p`` against ``h`` (shape (n,) each), or NaN and why it is undefined.

    SRCC and LCC are computed here in numpy (equal to scipy's to rounding, and much faster
    inside the bootstrap loop); KTAU by :func:`humanclap.stats.agreement._point_metric`.
    """
    if len(p) < 3:
        return np.nan, f"fewer than 3 pairs ({len(p)})"
    if np.all(p == p[0]):
        return np.nan, "predictions constant"
    if np.all(h == h[0]):
        return np.nan, "targets constant"
    if metric == "srcc":
        return _pearson(stats.rankdata(p), stats.rankdata(h)), ""
    if metric == "lcc":
        return _pearson(p, h), ""
    return _point_metric(p, h, metric), ""


def _group_means(x: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Each element of ``x`` (shape (n,)) replaced by the mean of its group, shape (n,)."""
    sums = np.bincount(codes, weights=x, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts)[codes]


def _components(
    p: np.ndarray, h: np.ndarray, codes: np.ndarray, n_groups: int, metric: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every value of :func:`within_between` for one data set.

    Parameters
    ----------
    p, h : np.ndarray, shape (n,)
        Predictions and targets.
    codes : np.ndarray of int, shape (n,)
        Group of each pair, 0 .. n_groups - 1.

    Returns
    -------
    values : np.ndarray, shape (n_groups + 4,)
        The within-group metrics, then :data:`COMPONENTS`.
    sizes : np.ndarray of int, shape (n_groups,)
        Pairs per group.
    notes : list of str, length n_groups + 4
        Why a value is NaN (empty when defined).
    """
    within, notes = [], []
    for g in range(n_groups):
        value, note = _metric_or_nan(p[codes == g], h[codes == g], metric)
        within.append(value)
        notes.append(note)
    within = np.asarray(within)
    sizes = np.bincount(codes, minlength=n_groups)
    defined = np.isfinite(within)
    if defined.any():
        pooled, pooled_note = (
            float(np.sum(sizes[defined] * within[defined]) / sizes[defined].sum()),
            "",
        )
    else:
        pooled, pooled_note = np.nan, "no group has a defined value"
    between, between_note = _metric_or_nan(_group_means(p, codes, n_groups), h, metric)
    oracle, oracle_note = _metric_or_nan(_group_means(h, codes, n_groups), h, metric)
    overall, overall_note = _metric_or_nan(p, h, metric)
    values = np.concatenate([within, [pooled, between, oracle, overall]])
    return values, sizes, [*notes, pooled_note, between_note, oracle_note, overall_note]


def _bootstrap_components(
    p: np.ndarray,
    h: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    metric: str,
    n_boot: int,
    seed: int | None,
    units: tuple[np.ndarray, int],
) -> np.ndarray:
    """:func:`_components` of ``n_boot`` resamples, shape (n_boot, n_groups + 4).

    Each resample draws the units (captions or pairs, ``units`` as ``bootstrap._unit_codes``)
    with replacement from all of them (not within groups), as the overall interval of
    :func:`humanclap.stats.bootstrap_report` does.
    """
    rng = np.random.default_rng(seed)
    draw = _unit_index_sampler(*units)
    out = np.empty((n_boot, n_groups + len(COMPONENTS)))
    for b in range(n_boot):
        idx = draw(rng)
        out[b] = _components(p[idx], h[idx], codes[idx], n_groups, metric)[0]
    return out


def within_between(
    pred,
    target,
    groups,
    *,
    metric: str = "srcc",
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int | None = 0,
    clusters=None,
    unit: str = "caption",
) -> pd.DataFrame:
    """Within-group, pooled-within, between-group and overall agreement of ``pred``.

    Parameters
    ----------
    pred, target : array-like, shape (n,)
        One prediction and one human score per pair, finite.
    groups : array-like, shape (n,)
        Group label of each pair (e.g. the audio source); no missing labels.
    metric : {"srcc", "lcc", "ktau"}
        The correlation.
    n_boot : int
        Percentile-bootstrap resamples for ``lo``/``hi``; 0 skips the intervals (NaN).
    ci : float
        Interval level.
    seed : int or None
        Seed of ``np.random.default_rng``.
    clusters : array-like, shape (n,), optional
        The caption of each pair; needed for ``unit="caption"`` when ``n_boot > 0``.
    unit : {"caption", "pair"}
        What a resample draws with replacement: captions, all their pairs together (the
        default), or pairs.

    Returns
    -------
    pd.DataFrame
        One row per group (``component="within"``, ``group`` its label, sorted) then one row for
        each of ``pooled_within``, ``between``, ``between_target_means`` and ``overall``
        (``group="all"``); columns ``component``, ``group``, ``estimate``, ``lo``, ``hi``,
        ``n`` (pairs; for ``pooled_within`` those of the groups with a defined value),
        ``weight`` (of a ``within`` row in ``pooled_within``: ``n_g`` over the
        pairs of the groups with a defined value; 0 for an undefined group, NaN for the other
        rows), ``note`` (why a value is NaN, e.g. ``"predictions constant"``) and
        ``resampled`` (``"captions"`` or ``"pairs"``; empty without intervals).

    Raises
    ------
    ValueError
        Naming the parameter: lengths differ, NaN/inf values, missing group labels, an unknown
        metric, fewer than 3 pairs, ``unit="caption"`` with ``n_boot > 0`` and no ``clusters``.
    """
    if metric not in CORRELATIONS:
        raise ValueError(f"metric: expected one of {sorted(CORRELATIONS)}, got {metric!r}")
    p, h = _as_vector(pred, "pred"), _as_vector(target, "target")
    labels = pd.Series(np.asarray(groups, dtype=object))
    if not len(p) == len(h) == len(labels):
        raise ValueError(f"pred, target, groups: lengths {len(p)}, {len(h)}, {len(labels)} differ")
    if len(p) < 3:
        raise ValueError(f"pred/target: need at least 3 pairs, got {len(p)}")
    if labels.isna().any():
        raise ValueError(f"groups: {int(labels.isna().sum())} missing label(s)")
    codes, names = pd.factorize(labels, sort=True)
    n_groups = len(names)
    values, sizes, notes = _components(p, h, codes, n_groups, metric)
    if n_boot:
        _check_boot_args(n_boot, ci)
        units = _unit_codes(len(p), clusters, unit)
        boot = _bootstrap_components(p, h, codes, n_groups, metric, n_boot, seed, units)
        bounds = [_percentile_interval(boot[:, j], ci)[:2] for j in range(len(values))]
    else:
        bounds = [(np.nan, np.nan)] * len(values)
    defined = np.isfinite(values[:n_groups])
    total = sizes[defined].sum()
    weights = [float(s / total) if ok else 0.0 for s, ok in zip(sizes, defined, strict=True)]
    rows = [
        ("within", name, int(size), weight)
        for name, size, weight in zip(names, sizes, weights, strict=True)
    ]
    n_rows = {"pooled_within": int(total)}
    rows += [(c, "all", n_rows.get(c, len(p)), np.nan) for c in COMPONENTS]
    table = pd.DataFrame(rows, columns=["component", "group", "n", "weight"])
    table["estimate"] = values
    table["lo"] = [lo for lo, _ in bounds]
    table["hi"] = [hi for _, hi in bounds]
    table["note"] = notes
    table["resampled"] = _check_unit(unit) if n_boot else ""
    table.attrs["metric"] = metric
    columns = ["component", "group", "estimate", "lo", "hi", "n", "weight", "note", "resampled"]
    return table[columns]
