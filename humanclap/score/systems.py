"""Set-level scores per system.

A *system* is what generated a clip (a text-to-audio model, a checkpoint, a setting). A score
table (:func:`humanclap.score.score_pairs`'s output, or any table with a caption column and a
numeric score column) says which system made each row either in a column (``system_col``) or
by folder (``folder_col``: the folder of each row's audio path as written, :func:`folder_of`).

:func:`system_summary` gives each system's n, mean with a percentile-bootstrap interval and
median. The interval is :func:`humanclap.score.score_summary`'s (:func:`humanclap.stats.mean_ci`,
captions resampled: a resample draws the system's prompts with replacement and takes all the
clips of a drawn prompt together). There is no interval for the median: humanclap's statistics
offer none. Two systems on the same prompts: :mod:`humanclap.score.comparison`.

A score cell that is empty (or ``nan``) is a row without a score (counted as failed); one that
is not a number is an error naming the table and its rows (:class:`ScoreTableError`, shared
with :mod:`humanclap.score.comparison`).
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from humanclap.score.columns import TEXT_COLUMN
from humanclap.score.summary import score_summary

__all__ = [
    "ALL_SYSTEMS",
    "NO_SYSTEM",
    "ScoreTableError",
    "folder_of",
    "system_labels",
    "system_summary",
]

#: The one system of a table whose systems are not named.
ALL_SYSTEMS = "all"
#: The system of a row whose system cell (or audio path) is empty.
NO_SYSTEM = "(none)"
#: Rows or prompts named in an error message, then how many more.
_LISTED = 10


class ScoreTableError(ValueError):
    """A score table cannot be summarised or compared; the message names the table (its
    file), the column and the rows."""


# ----------------------------------------------------------------------------- helpers
def _listed(items: list[Any]) -> str:
    shown = ", ".join(str(x) for x in items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _rows_named(frame: pd.DataFrame, mask: np.ndarray) -> str:
    """``"line 3, 7"`` (the index name, ``row`` by default, and the labels of ``mask``)."""
    return f"{frame.index.name or 'row'} {_listed(list(frame.index[mask]))}"


def _need_columns(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoreTableError(
            f"{source}: no column {' or '.join(repr(c) for c in missing)}; its columns: "
            f"{', '.join(map(str, frame.columns))}"
        )


def _blank(value: Any) -> bool:
    """Whether a cell is empty: None, NaN, NA or white space."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return True
    return not str(value).strip()


def _number(value: Any) -> float | None:
    """A cell as a float (NaN for an empty cell or ``nan``), None when it is not a number."""
    if _blank(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _score_values(frame: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """The scores as floats, NaN for empty cells; a cell that is not a number is an error
    naming its rows."""
    numbers = [_number(v) for v in frame[column]]
    bad = np.array([x is None for x in numbers], dtype=bool)
    if bad.any():
        raise ScoreTableError(
            f"{source} {_rows_named(frame, bad)}: column {column!r} is not a number there"
        )
    return np.array(numbers, dtype=float)


# ----------------------------------------------------------------------------- systems
def folder_of(path: Any) -> str:
    """The folder of an audio path as written: its parent with ``/`` separators (``"."`` for a
    file directly in the folder the paths are relative to; :data:`NO_SYSTEM` for an empty
    cell).

    ``"sysA/dog.wav"`` -> ``"sysA"``; ``"out/sysB/x/cat.flac"`` -> ``"out/sysB/x"``;
    ``"dog.wav"`` -> ``"."``.
    """
    if _blank(path):
        return NO_SYSTEM
    return str(PurePosixPath(str(path).strip().replace("\\", "/")).parent)


def system_labels(
    table: pd.DataFrame,
    *,
    system_col: str | None = None,
    folder_col: str | None = None,
    source: str = "table",
) -> pd.Series:
    """The system of each row: ``system_col``'s value, or the folder of ``folder_col``'s path
    (:func:`folder_of`), or :data:`ALL_SYSTEMS` for every row when neither is given.

    Parameters
    ----------
    table : pandas.DataFrame, shape (n, ...)
    system_col : str, optional
        A column naming each row's system (an empty cell: :data:`NO_SYSTEM`).
    folder_col : str, optional
        A column of audio paths; the system is each path's folder.
    source : str
        How the table is named in error messages (e.g. its file).

    Returns
    -------
    pandas.Series of str, shape (n,)
        Aligned with ``table``'s index.

    Raises
    ------
    ScoreTableError
        Both columns given, or a column missing (naming ``source`` and the columns).
    """
    if system_col is not None and folder_col is not None:
        raise ScoreTableError(f"{source}: give system_col or folder_col, not both")
    if system_col is None and folder_col is None:
        return pd.Series(ALL_SYSTEMS, index=table.index, dtype=object)
    column = system_col if system_col is not None else folder_col
    _need_columns(table, [column], source)
    if folder_col is not None:
        return table[column].map(folder_of).astype(object)
    return table[column].map(lambda v: NO_SYSTEM if _blank(v) else str(v).strip()).astype(object)


def system_summary(
    table: pd.DataFrame,
    column: str,
    *,
    text_col: str = TEXT_COLUMN,
    system_col: str | None = None,
    folder_col: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    source: str = "table",
) -> pd.DataFrame:
    """Each system's set-level score: n, the mean with a bootstrap interval, the median.

    Parameters
    ----------
    table : pandas.DataFrame, shape (n, ...)
        A score table: ``column`` (NaN or empty where a row failed), ``text_col`` and, when
        present, ``error`` (the failures by kind of :func:`humanclap.score.score_summary`).
    column : str
        The score column, e.g. ``"clapscore_tiny"``.
    text_col : str
        The prompt of each row: the bootstrap resamples prompts.
    system_col, folder_col : str, optional
        How rows are told apart by system (:func:`system_labels`).
    n_boot, seed, ci
        As in :func:`humanclap.stats.mean_ci` (the same seed for every system).
    source : str
        How the table is named in error messages.

    Returns
    -------
    pandas.DataFrame, one row per system in order of first appearance
        ``system``, ``column``, ``n`` (rows), ``n_scored``, ``n_failed``, ``mean``, ``lo``,
        ``hi`` (NaN when nothing was scored), ``median``, ``ci``, ``n_boot``, ``seed``,
        ``resampled`` (``"captions"``: prompts), ``n_units`` (prompts with a score).

    Raises
    ------
    ScoreTableError
        A column missing, or a score that is not a number (naming ``source`` and the rows).
    """
    _need_columns(table, [column, text_col], source)
    systems = system_labels(table, system_col=system_col, folder_col=folder_col, source=source)
    frame = table.copy()
    frame[column] = _score_values(table, column, source)
    if "error" not in frame.columns:
        frame["error"] = ""
    frame["error"] = frame["error"].map(lambda e: "" if _blank(e) else str(e))
    rows = []
    for system in pd.unique(systems.to_numpy()):
        part = frame[(systems == system).to_numpy()]
        facts = score_summary(part, column, text_col=text_col, n_boot=n_boot, seed=seed, ci=ci)
        scores = part[column].to_numpy(dtype=float)
        scores = scores[np.isfinite(scores)]
        mean = facts["mean"] or {"mean": np.nan, "lo": np.nan, "hi": np.nan, "n_units": 0}
        rows.append({
            "system": system, "column": column, "n": facts["n"], "n_scored": facts["n_scored"],
            "n_failed": facts["n_failed"], "mean": mean["mean"], "lo": mean["lo"],
            "hi": mean["hi"], "median": float(np.median(scores)) if len(scores) else np.nan,
            "ci": ci, "n_boot": n_boot, "seed": seed, "resampled": "captions",
            "n_units": mean["n_units"],
        })  # fmt: skip
    return pd.DataFrame(rows)
