"""Pair tables: ratings aggregated to one row per (clip, caption) pair, with the ``target``
models are trained and scored against (the plain mean rating, or the listener-normalised one),
and pairs spread over their AudioSet categories."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy
from scipy import special

from humanclap.data.files import RelateDataError

__all__ = ["TARGETS", "explode_categories", "listener_z", "pair_table"]

#: The targets :func:`pair_table` can give, with the rule of each (also in ``attrs``).
TARGETS: dict[str, str] = {
    "mean": "mean_score / 10",
    "listener_z": (
        "Phi(mean_z): Phi the standard normal CDF, mean_z the mean over the pair's ratings of "
        "z = (score - listener mean) / listener SD (ddof=0, over the listener's ratings in the "
        "table; z = 0 for a listener whose ratings do not vary, e.g. a single rating)"
    ),
}


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


def listener_z(ratings: pd.DataFrame) -> pd.Series:
    """Each rating as a z-score within its listener.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Long rating table with ``score`` and ``listener_id``, shape ``(num_ratings, k)``.

    Returns
    -------
    pandas.Series, shape (num_ratings,), float64
        ``(score - m_l) / s_l`` with ``m_l`` and ``s_l`` the mean and the population SD
        (ddof=0) of all the ratings of the row's listener ``l`` in ``ratings``; 0 where
        ``s_l == 0`` (a listener who gave one rating, or the same score every time, tells
        nothing about which of their pairs is better: such ratings sit at the listener's own
        mean). Indexed like ``ratings``.
    """
    missing = [c for c in ("score", "listener_id") if c not in ratings.columns]
    if missing:
        raise RelateDataError(f"listener_z: missing column(s) {missing} in ratings")
    score = ratings["score"].astype(np.float64)
    by_listener = score.groupby(ratings["listener_id"], sort=False)
    deviation = score - by_listener.transform("mean")
    sd = np.sqrt(deviation.pow(2).groupby(ratings["listener_id"], sort=False).transform("mean"))
    return (deviation / sd.where(sd > 0)).fillna(0.0).rename("z")


def pair_table(
    ratings: pd.DataFrame, target: Literal["mean", "listener_z"] = "mean"
) -> pd.DataFrame:
    """Aggregate ratings to one row per (wavname, text) pair.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Output of :func:`humanclap.data.load_relate` (at least ``wavname``, ``text``,
        ``score``, ``source``, ``split``, ``audiocap_id``; ``listener_id`` for
        ``target="listener_z"``), shape ``(num_ratings, k)``.
    target : {"mean", "listener_z"}
        What the ``target`` column holds (:data:`TARGETS`):

        - ``"mean"`` (default): ``mean_score / 10``.
        - ``"listener_z"``: listener-normalised. Each rating becomes a z-score within its
          listener (:func:`listener_z`: over ALL that listener's ratings in ``ratings``, so
          pass the whole table and split the pairs afterwards; z = 0 for a listener whose
          ratings do not vary, e.g. a single rating), the z-scores are averaged per pair
          (column ``mean_z``), and ``target = Phi(mean_z)`` with ``Phi`` the standard normal
          CDF. ``Phi`` is fixed (it does not depend on the table or a batch), strictly
          increasing (the pairs keep the order of ``mean_z``) and maps every real number into
          [0, 1], with ``mean_z = 0`` (an average pair) at 0.5; a linear rescaling would need
          a clip (|z| reaches about sqrt(n - 1) for a listener with n ratings), which ties the
          extremes. A listener's severity (a bias) and range (a scale) no longer move the
          target; as for ``"mean"``, 1 is the best match.

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pairs, m)``, sorted by (wavname, text): ``wavname``, ``text``, ``source``,
        ``split``, ``audiocap_id``, [``anchor``, ``audiocaps_split``, ``categories``,
        ``category`` when present], ``n_ratings``, ``mean_score`` (0..10), ``sd_score``
        (sample SD, ddof=1; NaN for a single rating), [``mean_z`` for ``"listener_z"``],
        ``target`` (in 0..1, as chosen). ``attrs["target"]`` is the choice and
        ``attrs["target_rule"]`` its rule.

    Raises
    ------
    ValueError
        ``target`` is not one of :data:`TARGETS`.
    RelateDataError
        A column is missing, or a pair has more than one split / source / audiocap_id (e.g.
        unscreened REL, where a pair mixes ``excluded`` with a split).
    """
    if not isinstance(target, str) or target not in TARGETS:
        raise ValueError(f"target: expected one of {sorted(TARGETS)}, got {target!r}")
    required = ["wavname", "text", "score", "source", "split", "audiocap_id"]
    required += ["listener_id"] if target == "listener_z" else []
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
    if target == "listener_z":
        mean_z = listener_z(ratings).groupby([ratings["wavname"], ratings["text"]]).mean()
        keys = pd.MultiIndex.from_frame(pairs[["wavname", "text"]])
        pairs["mean_z"] = mean_z.reindex(keys).to_numpy()
        pairs["target"] = special.ndtr(pairs["mean_z"].to_numpy())
    else:
        pairs["target"] = pairs["mean_score"] / 10.0
    pairs.attrs = {"target": target, "target_rule": TARGETS[target]}
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
