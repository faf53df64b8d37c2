"""Pair tables: ratings aggregated to one row per (clip, caption) pair, and pairs spread over
their AudioSet categories."""

from __future__ import annotations

import pandas as pd
from pandas.api.typing import DataFrameGroupBy

from humanclap.data.files import RelateDataError

__all__ = ["explode_categories", "pair_table"]


def _check_constant(ratings: pd.DataFrame, groups: DataFrameGroupBy, columns: list[str]) -> None:
    """Raise when a pair has more than one value in one of ``columns``."""
    for column in columns:
        counts = groups[column].nunique(dropna=False)
        if (counts > 1).any():
            wavname, text = counts.index[counts > 1][0]
            values = sorted(
                map(
                    str,
                    ratings.loc[
                        (ratings["wavname"] == wavname) & (ratings["text"] == text), column
                    ].unique(),
                )
            )
            hint = " (screen the ratings first)" if column == "split" else ""
            raise RelateDataError(
                f"pair ({wavname!r}, {text!r}) has more than one {column}: {values}; "
                f"{int((counts > 1).sum())} pair(s) affected{hint}"
            )


def pair_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """Aggregate ratings to one row per (wavname, text) pair.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Output of :func:`humanclap.data.load_relate` (at least ``wavname``, ``text``,
        ``score``, ``source``, ``split``, ``audiocap_id``), shape ``(num_ratings, k)``.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pairs, m)``, sorted by (wavname, text): ``wavname``, ``text``, ``source``,
        ``split``, ``audiocap_id``, [``anchor``, ``audiocaps_split``, ``categories``,
        ``category`` when present], ``n_ratings``, ``mean_score`` (0..10), ``sd_score``
        (sample SD, ddof=1; NaN for a single rating), ``target`` (= mean_score / 10, in 0..1).

    Raises
    ------
    RelateDataError
        A column is missing, or a pair has more than one split / source / audiocap_id (e.g.
        unscreened REL, where a pair mixes ``excluded`` with a split).
    """
    required = ["wavname", "text", "score", "source", "split", "audiocap_id"]
    missing = [c for c in required if c not in ratings.columns]
    if missing:
        raise RelateDataError(f"pair_table: missing column(s) {missing} in ratings")
    constant = ["source", "split", "audiocap_id"] + [
        c for c in ("anchor", "audiocaps_split", "categories", "category") if c in ratings.columns
    ]
    groups = ratings.groupby(["wavname", "text"], sort=True)
    _check_constant(ratings, groups, constant)
    pairs = groups[constant].first()
    stats = groups["score"].agg(n_ratings="size", mean_score="mean", sd_score="std")
    pairs = pairs.join(stats).reset_index()
    pairs["target"] = pairs["mean_score"] / 10.0
    return pairs


def explode_categories(pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per (pair, category) for by-category analyses.

    A pair whose clip has several categories appears once under each of them, so category
    groups overlap and their sizes sum to more than the number of pairs. Pairs without any
    category (``categories == ""``) are left out; their number is in
    ``df.attrs["pairs_without_category"]``.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`pair_table` (or of :func:`humanclap.data.load_relate`) with a
        ``categories`` column, shape ``(num_pairs, k)``.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pair_categories, k + 1)``: the input columns with ``category`` set to one
        name per row and ``n_categories`` (how many categories the pair has).
    """
    if "categories" not in pairs.columns:
        raise RelateDataError(
            "explode_categories: no 'categories' column (load the ratings with categories)"
        )
    has = pairs["categories"] != ""
    names = pairs.loc[has, "categories"].str.split("|")
    exploded = pairs[has].assign(category=names, n_categories=names.str.len()).explode("category")
    exploded = exploded.reset_index(drop=True)
    exploded["category"] = exploded["category"].astype(str)
    exploded.attrs = {**pairs.attrs, "pairs_without_category": int((~has).sum())}
    return exploded
