"""Which RELATE rows screening keeps: the IS/OS splits derived from REL, why each row is
removed, the counts, and :func:`screening_summary`.

The rules (and what they give on the real files) are in :mod:`humanclap.data.relate`'s module
doc: REL rows labelled ``excluded`` go (anchors, and the listeners RELATE screened), and with
``drop_anchors`` also the 14 anchor rows that carry a split label; IS/OS rows take the split of
the same pair (else the same clip) among the screened REL ratings, and anchors and rows without
a derivable split go.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pandas as pd

from humanclap.data.files import SOURCES, SPLITS, check_aspect
from humanclap.data.locate import needed_files, resolve_with_origin, verify_files
from humanclap.data.ratings import OUTPUT_COLUMNS, read_aspect

__all__ = [
    "derive_split",
    "load_all_rows",
    "removal_reasons",
    "screening_counts",
    "screening_summary",
]


def derive_split(ratings: pd.DataFrame, rel: pd.DataFrame) -> tuple[pd.Series, dict[str, int]]:
    """Split of IS/OS rows from the screened, non-anchor REL ratings (rule in the module doc).

    Parameters
    ----------
    ratings : pandas.DataFrame
        IS or OS rows (:func:`~humanclap.data.ratings.parse_ratings`), shape ``(n, k)``.
    rel : pandas.DataFrame
        All REL rows, with their ``split``.

    Returns
    -------
    (pandas.Series of str, shape (n,), dict)
        The split per row (``"excluded"`` for anchors, ``"unassigned"`` when none is
        derivable), and the number of rows each rule decided.
    """
    kept = rel[~rel["anchor"] & rel["split"].isin(SPLITS)]

    def unique_map(keys: list[str]) -> pd.Series:
        table = kept.drop_duplicates([*keys, "split"])
        table = table[~table.duplicated(keys, keep=False)]  # keys with two splits: ambiguous
        return table.set_index(keys)["split"]

    pair_map = unique_map(["wavname", "text"])
    id_map = unique_map(["audiocap_id"])
    pair_key = pd.MultiIndex.from_frame(ratings[["wavname", "text"]])
    from_pair = pd.Series(pair_map.reindex(pair_key).to_numpy(), index=ratings.index)
    from_id = ratings["audiocap_id"].map(id_map)
    anchor = ratings["anchor"]
    split = from_pair.where(from_pair.notna(), from_id)
    split = split.where(split.notna(), "unassigned").where(~anchor, "excluded").astype(str)
    rule = {
        "anchor_rows": int(anchor.sum()),
        "rows_split_from_pair": int((~anchor & from_pair.notna()).sum()),
        "rows_split_from_audiocap_id": int((~anchor & from_pair.isna() & from_id.notna()).sum()),
        "rows_unassigned": int((~anchor & (split == "unassigned")).sum()),
        "rows_pair_and_audiocap_id_disagree": int(
            (~anchor & from_pair.notna() & from_id.notna() & (from_pair != from_id)).sum()
        ),
    }
    return split, rule


def removal_reasons(ratings: pd.DataFrame, aspect: str, drop_anchors: bool) -> pd.Series:
    """Why screening removes each row.

    Returns
    -------
    pandas.Series of str, shape (n,)
        ``""`` (kept), ``"anchor"``, ``"screened_listener"`` (REL) or ``"unassigned"`` (IS/OS).
    """
    reason = pd.Series("", index=ratings.index, dtype=object)
    anchor = ratings["anchor"]
    if aspect == "REL":
        excluded = ratings["split"] == "excluded"
        reason[anchor & (excluded | drop_anchors)] = "anchor"
        reason[~anchor & excluded] = "screened_listener"
    else:
        reason[anchor] = "anchor"
        reason[~anchor & (ratings["split"] == "unassigned")] = "unassigned"
    return reason


def screening_counts(ratings: pd.DataFrame, reason: pd.Series) -> dict[str, int]:
    """Rows, listeners and pairs before and after screening (keys: see
    :func:`screening_summary`)."""
    kept = ratings[reason == ""]
    listeners_before = ratings["listener_id"].nunique()
    pairs = ratings[["wavname", "text"]]
    return {
        "rows_before": len(ratings),
        "rows_removed": int((reason != "").sum()),
        "anchors_removed": int((reason == "anchor").sum()),
        "anchors_kept": int(kept["anchor"].sum()),
        "screened_listener_rows_removed": int((reason == "screened_listener").sum()),
        "unassigned_rows_removed": int((reason == "unassigned").sum()),
        "rows_after": len(kept),
        "listeners_before": listeners_before,
        "listeners_removed": listeners_before - kept["listener_id"].nunique(),
        "listeners_after": kept["listener_id"].nunique(),
        "pairs_before": len(pairs.drop_duplicates()),
        "pairs_after": len(kept[["wavname", "text"]].drop_duplicates()),
    }


def load_all_rows(
    root: str | os.PathLike | None, aspect: str, verify: bool | Literal["auto"], download: bool
) -> tuple[pd.DataFrame, Path, dict[str, int] | None, str]:
    """All rows of ``aspect`` with their split, unscreened.

    Returns
    -------
    (pandas.DataFrame, Path, dict or None, str)
        The rows (columns :data:`~humanclap.data.ratings.OUTPUT_COLUMNS`), the root read, the
        split rule counts (IS/OS; ``None`` for REL) and the root's origin (see
        :func:`~humanclap.data.locate.resolve_with_origin`).
    """
    check_aspect(aspect)
    resolved, origin = resolve_with_origin(root, download, aspect)
    if verify is True or (verify == "auto" and origin == "cache"):
        verify_files(resolved, needed_files(aspect))
    rel = read_aspect(resolved, "REL")
    rule = None
    if aspect == "REL":
        ratings = rel
    else:
        ratings = read_aspect(resolved, aspect)
        ratings["split"], rule = derive_split(ratings, rel)
    return ratings[OUTPUT_COLUMNS], resolved, rule, origin


def screening_summary(
    root: str | os.PathLike | None = None, aspect: str = "REL", *, drop_anchors: bool = True
) -> pd.DataFrame:
    """What ``load_relate(screened=True)`` removes, per source.

    Returns
    -------
    pandas.DataFrame
        Index: the five :data:`SOURCES` then ``"all"``; columns as in
        ``load_relate(...).attrs["screening"]``: ``rows_before``, ``rows_removed``,
        ``anchors_removed``, ``anchors_kept``, ``screened_listener_rows_removed`` (REL:
        non-anchor rows labelled ``excluded``), ``unassigned_rows_removed`` (IS/OS: no
        derivable split), ``rows_after``, ``listeners_before``, ``listeners_removed``,
        ``listeners_after`` (listeners who rated that source), ``pairs_before``, ``pairs_after``.
    """
    ratings, _, _, _ = load_all_rows(root, aspect, "auto", True)
    reason = removal_reasons(ratings, aspect, drop_anchors)
    rows = {
        source: screening_counts(
            ratings[ratings["source"] == source], reason[ratings["source"] == source]
        )
        for source in SOURCES
    }
    rows["all"] = screening_counts(ratings, reason)
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "source"
    return summary
