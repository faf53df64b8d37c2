"""Screening of the simulated listeners: who is excluded for high anchor scores or for not
agreeing with the others (:func:`screen_listeners`).

A listener is excluded when the mean of their anchor scores is >= 2 (this reproduces RELATE's
published exclusions for 1,369 of its 1,370 REL listeners) or when their scores correlate
negatively (< 0) with the other listeners' mean on the same pairs (or do not vary at all);
RELATE does not use the second rule, which is added here to catch random raters who happen to
score the anchors low.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ANCHOR_THRESHOLD", "MIN_CORR", "screen_listeners"]

ANCHOR_THRESHOLD = 2.0
MIN_CORR = 0.0


def screen_listeners(
    ratings: pd.DataFrame,
    anchor_threshold: float | None = ANCHOR_THRESHOLD,
    min_corr: float | None = MIN_CORR,
    min_pairs: int = 3,
) -> set[str]:
    """Listeners to exclude: high anchor scores or no agreement with the other listeners.

    Rule 1 (RELATE's): the listener's mean score on anchor rows is >= ``anchor_threshold``.
    On RELATE's REL file this reproduces the published exclusions of 1,369 of 1,370 listeners
    (``min_corr=None``); RELATE's README does not state the rule itself.
    Rule 2 (added here): the Pearson correlation between the listener's non-anchor scores and,
    pair by pair, the mean score of the *other* listeners is < ``min_corr``, or the listener's
    scores do not vary at all. Judged only on pairs that someone else rated too, and only when
    there are at least ``min_pairs`` of them (and the others' means vary).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``wavname, text, score, listener_id, anchor label`` (bool or "True"/"False").
    anchor_threshold, min_corr : float or None
        None switches the rule off.
    min_pairs : int
        Fewest shared pairs for rule 2.

    Returns
    -------
    set of str
        The excluded listener ids.
    """
    need = ("wavname", "text", "score", "listener_id", "anchor label")
    missing = [c for c in need if c not in ratings.columns]
    if missing:
        raise KeyError(f"screen_listeners: ratings lack column(s) {missing}")
    df = pd.DataFrame(
        {
            "pair": ratings["wavname"].astype(str) + "\x00" + ratings["text"].astype(str),
            "score": pd.to_numeric(ratings["score"], errors="raise").astype(float),
            "listener": ratings["listener_id"].astype(str),
            "anchor": ratings["anchor label"]
            .astype(str)
            .str.lower()
            .map({"true": True, "false": False}),
        }
    )
    if df["anchor"].isna().any():
        bad = ratings["anchor label"][df["anchor"].isna()].iloc[0]
        raise ValueError(f"screen_listeners: 'anchor label' must be True/False, got {bad!r}")
    out: set[str] = set()
    if anchor_threshold is not None:
        means = df[df["anchor"]].groupby("listener")["score"].mean()
        out |= set(means[means >= anchor_threshold].index)
    if min_corr is not None:
        real = df[~df["anchor"]]
        grp = real.groupby("pair")["score"]
        total, n = real["pair"].map(grp.sum()), real["pair"].map(grp.count())
        real = real.assign(others=(total - real["score"]) / (n - 1))[n > 1]
        for listener, g in real.groupby("listener"):
            if len(g) < min_pairs or g["others"].std() == 0:
                continue
            if g["score"].std() == 0 or np.corrcoef(g["score"], g["others"])[0, 1] < min_corr:
                out.add(str(listener))
    return out
