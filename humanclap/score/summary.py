"""The summary of a score table that ``humanclap score --json`` writes.

:func:`score_summary` gives the number of rows and of scored rows, the mean score with a
percentile-bootstrap interval (:func:`humanclap.stats.mean_ci`) and failures by kind. The bootstrap resamples captions, as every
interval of humanclap does (:mod:`humanclap.stats.bootstrap`): a resample draws as many
captions as there are, with replacement, and takes all the pairs of each drawn caption
together, so clips generated from one prompt do not count as independent evidence. The seed is
fixed and recorded.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from humanclap.stats.means import mean_ci

__all__ = ["failure_kind", "score_summary"]


def failure_kind(error: str) -> str:
    """What went wrong, without the file or row it went wrong in: the text after the first
    ``": "``, parenthesised details and anything after ``;`` or ``:`` dropped.

    ``"a.wav: cannot decode audio (Format not recognised)"`` -> ``"cannot decode audio"``;
    ``"pairs.csv line 5: caption ('text') is empty"`` -> ``"caption is empty"``.
    """
    _, _, why = error.partition(": ")
    why = re.sub(r"\s*\([^)]*\)", "", why or error)
    return re.split(r"[;:]", why, maxsplit=1)[0].strip() or "unknown"


def score_summary(
    table: pd.DataFrame,
    column: str,
    *,
    text_col: str,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, Any]:
    """n, the mean score with a bootstrap interval (captions resampled) and failures by kind.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`humanclap.score.score_pairs`'s output: ``column``, ``error``, ``text_col``.
    column : str
        The score column.
    text_col : str
        The caption of each row (the bootstrap's unit).
    n_boot, seed, ci
        As in :func:`humanclap.stats.mean_ci`.

    Returns
    -------
    dict
        ``n`` (rows), ``n_scored``, ``n_failed``, ``column``, ``mean`` (:func:`humanclap.stats.mean_ci`'s
        dict; None when nothing was scored), ``failures`` (``{kind: count}``, most frequent
        first, :func:`failure_kind`), JSON-serialisable.
    """
    scores = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(scores)
    errors = [str(e) for e, good in zip(table["error"], ok, strict=True) if not good and e]
    mean = None
    if ok.any():
        captions = table[text_col].astype(str).to_numpy()[ok]
        mean = mean_ci(scores[ok], captions, n_boot=n_boot, seed=seed, ci=ci)
    return {
        "n": int(len(table)),
        "n_scored": int(ok.sum()),
        "n_failed": int((~ok).sum()),
        "column": column,
        "mean": mean,
        "failures": dict(Counter(failure_kind(e) for e in errors).most_common()),
    }
