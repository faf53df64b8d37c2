"""Where a model and listeners disagree: calibrated residuals and standardised effects.

:func:`calibrated_residuals` puts a model's pair score on the rating scale and subtracts it from
every rating; :func:`standardized_effects` compares how far conditions (e.g. sources, prompt
edits) move human and model scores, in standard deviations against a baseline; its bootstrap
resamples captions by default (all the pairs of a caption together, condition and baseline
alike), or the condition's and the baseline's pairs independently (``unit="pair"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from humanclap.stats._checks import PAIR, _check_boot_args, _check_ratings
from humanclap.stats.agreement import _cluster_column
from humanclap.stats.bootstrap import _check_unit, _unit_codes, _unit_weights


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


def standardized_effects(
    df: pd.DataFrame,
    cols: Sequence[str],
    conditions: dict[str, np.ndarray | pd.Series],
    baseline: np.ndarray | pd.Series,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    *,
    clusters: str | None = "text",
    unit: str = "caption",
) -> pd.DataFrame:
    """How far each condition moves each score, in standard deviations, against a baseline.

    Each column of ``cols`` is standardised over all rows of ``df`` (z = (x - mean) / sd), so
    effects of different scores (a human rating, a model's cosine) are comparable. The
    effect of a condition on a score is ``mean z | condition - mean z | baseline``. Its
    percentile-bootstrap interval resamples the captions of all rows (``unit="caption"``, the
    default: a drawn caption brings all its rows, in the condition and in the baseline alike;
    a resample without a row of the condition is left out), or the condition's rows and the
    baseline's rows independently (``unit="pair"``); the same resamples for every column, so
    ratios are paired.

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
    clusters : str or None
        The caption column of ``df`` (default ``"text"``), for ``unit="caption"``.
    unit : {"caption", "pair"}
        What the bootstrap resamples (see above).

    Returns
    -------
    pd.DataFrame
        One row per condition and column: ``condition``, ``col``, ``n``, ``effect``, ``lo``,
        ``hi``, ``note`` (conditions with fewer than 2 rows get NaN and why) and
        ``resampled`` (``"captions"`` or ``"pairs"``).
    """
    cols = list(cols)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"df: missing column(s) {missing}")
    z = _standardize(df, cols)
    base = np.flatnonzero(_mask(df, "baseline", baseline))
    if len(base) < 2:
        raise ValueError(f"baseline: {len(base)} row(s); need at least 2")
    _check_boot_args(n_boot, ci)
    resampled = _check_unit(unit)
    rng = np.random.default_rng(seed)
    weights = None
    if unit == "caption":
        labels = df[_cluster_column(df, clusters, unit)].to_numpy()
        weights = _unit_weights(rng, *_unit_codes(len(df), labels, unit), n_boot)
    alpha = (1.0 - ci) / 2.0
    rows = []
    for name, m in conditions.items():
        idx = np.flatnonzero(_mask(df, f"conditions[{name!r}]", m))
        rows.extend(_effect_rows(name, idx, base, z, cols, rng, n_boot, alpha, weights))
    out = pd.DataFrame(rows, columns=["condition", "col", "n", "effect", "lo", "hi", "note"])
    out["resampled"] = resampled
    out.attrs["n_baseline"] = len(base)
    return out


def _standardize(df: pd.DataFrame, cols: list[str]) -> dict[str, np.ndarray]:
    """Each column of ``cols`` as z-scores over all rows, shape (len(df),); finite, not constant."""
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
    return z


def _mask(df: pd.DataFrame, name: str, m) -> np.ndarray:
    """``m`` as a bool mask of shape (len(df),); raise ValueError naming ``name`` otherwise."""
    m = np.asarray(m, dtype=bool)
    if m.shape != (len(df),):
        raise ValueError(f"{name}: expected a mask of shape ({len(df)},), got {m.shape}")
    return m


def _effect_rows(
    name: str,
    idx: np.ndarray,
    base: np.ndarray,
    z: dict[str, np.ndarray],
    cols: list[str],
    rng: np.random.Generator,
    n_boot: int,
    alpha: float,
    weights: np.ndarray | None = None,
) -> list[dict]:
    """Rows of :func:`standardized_effects` for one condition, one per column of ``z``.

    Parameters
    ----------
    idx, base : np.ndarray of int, shapes (n_condition,) and (n_baseline,)
        Row positions of the condition and of the baseline.
    z : dict of column -> np.ndarray, shape (n_rows,)
        Standardised scores (see :func:`_standardize`).
    cols : list of str
        The columns, in output order.
    rng : np.random.Generator
        Draws ``(n_boot, n_condition)`` then ``(n_boot, n_baseline)`` indices; nothing when the
        condition has fewer than 2 rows (its rows are then NaN with a ``note``).
    alpha : float
        Tail probability of each end of the percentile interval.
    weights : np.ndarray, shape (n_boot, n_rows), optional
        Copies of each row in each caption resample; None: the rows of the condition and of
        the baseline are resampled independently with ``rng``.
    """
    if len(idx) < 2:
        return [
            dict(
                condition=name,
                col=c,
                n=len(idx),
                effect=np.nan,
                lo=np.nan,
                hi=np.nan,
                note=f"{len(idx)} row(s)",
            )
            for c in cols
        ]
    if weights is None:
        bi = idx[rng.integers(0, len(idx), size=(n_boot, len(idx)))]
        bb = base[rng.integers(0, len(base), size=(n_boot, len(base)))]
    rows = []
    for c in cols:
        zc = z[c]
        if weights is None:
            boot = zc[bi].mean(axis=1) - zc[bb].mean(axis=1)
        else:
            wi, wb = weights[:, idx], weights[:, base]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = wi @ zc[idx] / wi.sum(axis=1) - wb @ zc[base] / wb.sum(axis=1)
            boot = boot[np.isfinite(boot)]  # resamples without a row of either side
        lo, hi = np.quantile(boot, [alpha, 1.0 - alpha]) if len(boot) else (np.nan, np.nan)
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
    return rows
