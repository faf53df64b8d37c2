"""Training pairs: a pandas table of (audio, caption, human score) rows, validated once.

A pairs frame has one row per audio--text pair (e.g. rows of
``humanclap.data.pair_table(load_relate(...))``), with

- ``text``: the caption (non-empty str);
- ``target``: the human score rescaled to ``[0, 1]`` (``pair_table``'s ``mean_score / 10``);
- the audio: an ``audio`` column of file paths, or a ``wavname`` column resolved under
  ``audio_dir`` by :func:`humanclap.audio.resolve_audio_path` (RELATE's layout). ``audio``
  wins when both exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from humanclap.audio import resolve_audio_path
from humanclap.utils import sha256_bytes

__all__ = ["PairData", "prepare_pairs"]


@dataclass(frozen=True)
class PairData:
    """Validated pairs of one DataFrame.

    Attributes
    ----------
    name : str
        How the frame is named in messages (``"train_pairs"`` ...).
    texts : list of str, length N
    audio_keys : list of str, length N
        The clip's identity for the false-negative mask and the run hash: its ``wavname``
        when the frame has one (also beside an ``audio`` column of paths), else the
        ``audio`` value as given; independent of where the dataset lies.
    paths : list of str, length N
        Resolved file paths.
    targets : np.ndarray, shape (N,), float32
        Human scores in [0, 1].
    rows : list, length N
        Index labels of the frame (for messages).
    """

    name: str
    texts: list[str]
    audio_keys: list[str]
    paths: list[str]
    targets: np.ndarray
    rows: list[Any]

    def __len__(self) -> int:
        return len(self.texts)

    def digest(self) -> str:
        """sha256 of (audio keys, texts, targets): the data's part of the run hash."""
        data = json.dumps([self.audio_keys, self.texts]).encode("utf-8")
        data += np.ascontiguousarray(self.targets, dtype="<f4").tobytes()
        return sha256_bytes(data)[:32]


def _rows_text(labels: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(x) for x in list(labels)[:limit])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > limit else "")


def _check_columns(pairs: Any, name: str, min_rows: int) -> None:
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"{name}: expected a pandas DataFrame, got {type(pairs).__name__}")
    missing = [c for c in ("text", "target") if c not in pairs.columns]
    if "audio" not in pairs.columns and "wavname" not in pairs.columns:
        missing.append("audio' or 'wavname")
    if missing:
        listed = ", ".join(f"'{c}'" for c in missing)
        raise ValueError(f"{name}: missing column(s) {listed}; has {list(pairs.columns)}")
    if len(pairs) < min_rows:
        raise ValueError(f"{name}: {len(pairs)} rows; at least {min_rows} needed")


def _texts(pairs: pd.DataFrame, name: str, labels: list[Any]) -> list[str]:
    texts = pairs["text"].tolist()
    bad = [labels[i] for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(
            f"{name}: column 'text' must hold non-empty strings; bad in row(s) {_rows_text(bad)}"
        )
    return [str(t) for t in texts]


def _targets(pairs: pd.DataFrame, name: str, labels: list[Any]) -> np.ndarray:
    numeric = pd.to_numeric(pairs["target"], errors="coerce").to_numpy(dtype=float)
    bad = [labels[i] for i in np.flatnonzero(~np.isfinite(numeric))]
    if bad:
        raise ValueError(
            f"{name}: column 'target' has missing, non-numeric or infinite values in row(s) "
            f"{_rows_text(bad)}"
        )
    outside = np.flatnonzero((numeric < 0) | (numeric > 1))
    if len(outside):
        shown = ", ".join(f"{labels[i]!r}: {numeric[i]:.4g}" for i in outside[:5])
        raise ValueError(
            f"{name}: column 'target' must lie in [0, 1] (the human score rescaled); "
            f"{len(outside)} value(s) outside, e.g. row {shown}"
        )
    return numeric.astype(np.float32)


def _audio(
    pairs: pd.DataFrame, name: str, labels: list[Any], audio_dir: Any, check_files: bool
) -> tuple[list[str], list[str]]:
    column = "audio" if "audio" in pairs.columns else "wavname"
    values = pairs[column].tolist()
    bad = [
        labels[i]
        for i, v in enumerate(values)
        if not isinstance(v, (str, os.PathLike)) or not str(v).strip()
    ]
    if bad:
        raise ValueError(
            f"{name}: column '{column}' must hold file paths; missing or empty in row(s) "
            f"{_rows_text(bad)}"
        )
    keys = [os.fspath(v) for v in values]
    names = pairs["wavname"].tolist() if "wavname" in pairs.columns else []
    if column == "audio" and names and all(isinstance(v, str) and v.strip() for v in names):
        # the wavname (relative to the dataset) names the clip wherever the dataset lies, so
        # that a run's identity, folder and printed id are the same on every machine
        keys = names
    if column == "wavname":
        if audio_dir is None:
            raise ValueError(
                f"{name}: has a 'wavname' column but no audio_dir was given (files are read "
                "from <audio_dir>/<wavname>); pass audio_dir= or add an 'audio' column"
            )
        paths = [str(resolve_audio_path(k, audio_dir)) for k in keys]
    else:
        paths = [str(resolve_audio_path(os.fspath(v), None).expanduser()) for v in values]
    if check_files:
        absent = [i for i, p in enumerate(paths) if not os.path.isfile(p)]
        if absent:
            shown = "; ".join(f"row {labels[i]!r}: {paths[i]}" for i in absent[:5])
            raise FileNotFoundError(
                f"{name}: {len(absent)} audio file(s) of column '{column}' not found, e.g. {shown}"
            )
    return keys, paths


def prepare_pairs(
    pairs: pd.DataFrame,
    name: str = "pairs",
    audio_dir: str | os.PathLike | None = None,
    *,
    min_rows: int = 1,
    check_files: bool = True,
) -> PairData:
    """Validate a pairs frame and resolve its audio paths.

    Parameters
    ----------
    pairs : pd.DataFrame
        Columns ``text``, ``target`` (in [0, 1]) and ``audio`` (paths) or ``wavname``
        (resolved under ``audio_dir``); see the module doc.
    name : str
        Name of the frame in error messages.
    audio_dir : path-like, optional
        Folder of the ``wavname`` paths.
    min_rows : int
        Fewest rows accepted.
    check_files : bool
        Check that every audio file exists.

    Returns
    -------
    PairData

    Raises
    ------
    TypeError
        ``pairs`` is not a DataFrame.
    ValueError
        Naming the frame and the column and rows: missing columns, too few rows, a text that is
        not a non-empty string, a target that is missing, not a number or outside [0, 1], a
        missing audio value, ``wavname`` without ``audio_dir``.
    FileNotFoundError
        Audio files that do not exist (with their rows).
    """
    _check_columns(pairs, name, min_rows)
    labels = list(pairs.index)
    texts = _texts(pairs, name, labels)
    targets = _targets(pairs, name, labels)
    keys, paths = _audio(pairs, name, labels, audio_dir, check_files)
    return PairData(name, texts, keys, paths, targets, labels)
