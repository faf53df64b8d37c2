"""What a perfect or a human predictor would score: the noise ceiling and a one-listener baseline.

:func:`noise_ceiling_table` puts the two reliability estimators of
:mod:`humanclap.stats.interrater` side by side per group; :func:`one_vs_rest` pits one
listener of each pair against the pair's other listeners.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from humanclap.stats._checks import PAIR, _by_columns, _check_ratings, _iter_groups, _pair_codes
from humanclap.stats.interrater import reliability_by, split_half

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
