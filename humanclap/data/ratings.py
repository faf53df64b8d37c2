"""Read and validate one RELATE scores file (``scores/<aspect>.csv``) into typed columns.

Nothing is screened here (see :mod:`humanclap.data.screening`): every row comes back, with its
``wavname`` taken apart into ``source``, ``audiocaps_split`` and ``audiocap_id``. Every problem
raises :class:`~humanclap.data.files.RelateDataError` naming the file, the row and the column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from humanclap.data.files import (
    AUDIOCAPS_SPLITS,
    SOURCES,
    SPLITS,
    RelateDataError,
    read_csv_checked,
    row_error,
)

__all__ = ["OUTPUT_COLUMNS", "parse_ratings", "read_aspect"]

_REL_SPLIT_VALUES = (*SPLITS, "excluded")
_BASE_COLUMNS = ("wavname", "text", "score", "listener_id", "anchor label")
_COLUMNS = {
    "REL": (*_BASE_COLUMNS, "in RELATE dataset"),
    "IS": _BASE_COLUMNS,
    "OS": _BASE_COLUMNS,
}
#: Columns of :func:`humanclap.data.load_relate`'s table (before the category columns).
OUTPUT_COLUMNS = [
    "wavname",
    "text",
    "score",
    "listener_id",
    "source",
    "split",
    "anchor",
    "audiocap_id",
    "audiocaps_split",
]
_WAVNAME_PATTERN = r"^/([^/]+)/([^/]+)/(\d+)\.wav$"

_Fail = Callable[..., None]


def _first(mask: pd.Series) -> tuple[int, int]:
    """Position of the first True in ``mask`` and the number of True values."""
    positions = np.flatnonzero(mask.to_numpy(dtype=bool))
    return int(positions[0]), len(positions)


def _failer(raw: pd.DataFrame, path: Path) -> _Fail:
    """``fail(mask, column, problem, detail=None)``: raise for the first row where ``mask``."""

    def fail(mask: pd.Series, column: str, problem: str, detail: pd.Series | None = None) -> None:
        if mask.any():
            i, n = _first(mask)
            if detail is not None:
                problem = f"{problem} {detail.iloc[i]!r}"
            raise row_error(path, i, column, raw[column].iloc[i], problem, n)

    return fail


def _wavname_parts(raw: pd.DataFrame, fail: _Fail) -> pd.DataFrame:
    """``wavname`` -> columns 0 (source), 1 (AudioCaps split), 2 (audiocap_id), all str."""
    parts = raw["wavname"].str.extract(_WAVNAME_PATTERN)
    fail(parts[0].isna(), "wavname", "not of the form /<source>/<train|test>/<audiocap_id>.wav")
    fail(
        ~parts[0].isin(SOURCES), "wavname", f"source must be one of {list(SOURCES)}, got", parts[0]
    )
    fail(
        ~parts[1].isin(AUDIOCAPS_SPLITS),
        "wavname",
        "second folder must be train/test, got",
        parts[1],
    )
    return parts


def parse_ratings(raw: pd.DataFrame, path: Path, aspect: str) -> pd.DataFrame:
    """Validate one scores file and return the typed columns (no screening).

    Parameters
    ----------
    raw : pandas.DataFrame
        The file as read by :func:`~humanclap.data.files.read_csv_checked` (all strings).
    path : Path
        The file, for messages.
    aspect : {"REL", "IS", "OS"}

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_rows, 8)`` (``9`` for REL, with ``split`` from ``in RELATE dataset``):
        ``wavname, text, score`` (int64), ``listener_id, source, anchor`` (bool),
        ``audiocap_id`` (int64), ``audiocaps_split``.
    """
    required = _COLUMNS[aspect]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise RelateDataError(
            f"{path}: missing column(s) {missing}; found columns {list(raw.columns)}; "
            f"required for {aspect}: {list(required)}"
        )
    raw = raw.reset_index(drop=True)
    fail = _failer(raw, path)
    parts = _wavname_parts(raw, fail)

    for column in ("text", "listener_id"):
        fail(raw[column].str.strip() == "", column, "empty")

    score_text = raw["score"].str.strip()
    fail(score_text == "", "score", "missing score (empty cell)")
    fail(~score_text.str.fullmatch(r"[+-]?\d+"), "score", "not an integer")
    score = score_text.astype("int64")
    fail((score < 0) | (score > 10), "score", "outside 0..10")

    anchor_text = raw["anchor label"].str.strip().str.lower()
    fail(~anchor_text.isin(["true", "false"]), "anchor label", "not True/False")

    ratings = pd.DataFrame(
        {
            "wavname": raw["wavname"],
            "text": raw["text"],
            "score": score,
            "listener_id": raw["listener_id"].str.strip(),
            "source": parts[0],
            "anchor": (anchor_text == "true").to_numpy(),
            "audiocap_id": parts[2].astype("int64"),
            "audiocaps_split": parts[1],
        }
    )
    if aspect == "REL":
        split = raw["in RELATE dataset"].str.strip()
        fail(~split.isin(_REL_SPLIT_VALUES), "in RELATE dataset", f"not one of {_REL_SPLIT_VALUES}")
        ratings["split"] = split
    return ratings


def read_aspect(root: Path, aspect: str) -> pd.DataFrame:
    """Read and validate ``<root>/scores/<aspect>.csv`` (see :func:`parse_ratings`)."""
    path = root / "scores" / f"{aspect}.csv"
    return parse_ratings(read_csv_checked(path), path, aspect)
