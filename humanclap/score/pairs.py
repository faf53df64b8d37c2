"""CLAPScore of many pairs: :func:`clapscore` (aligned lists) and :func:`score_pairs` (a table).

:func:`score_pairs` keeps every row, adding the score column (named after the model,
:func:`humanclap.score.score_column`), ``model``, ``model_fingerprint``, ``error`` and
``warning``. Both embed through :func:`humanclap.embed.embed_audio` /
:func:`humanclap.embed.embed_text`, so repeated captions and clips are embedded once,
embeddings are cached on disk per batch (an interrupted run resumes where it stopped) and bad
audio files are reported, never dropped.

The score of pair ``i`` is ``cos(a_i, t_i) = a_i . t_i / (|a_i| |t_i|)`` in float64 (the
models return unit vectors; the norms are divided out anyway), in [-1, 1].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from humanclap.audio import resolve_audio_path
from humanclap.embed import EmbedInfo, embed_audio, embed_text
from humanclap.score.columns import AUDIO_COLUMN, MODEL_COLUMNS, TEXT_COLUMN, score_column
from humanclap.similarity import cosine_rows

__all__ = ["ScoreInfo", "clapscore", "score_pairs"]


@dataclass
class ScoreInfo:
    """What :func:`clapscore` did: the :class:`~humanclap.embed.EmbedInfo` of each modality."""

    audio: EmbedInfo
    text: EmbedInfo

    def summary(self) -> str:
        return f"{self.audio.summary()}; {self.text.summary()}"


def _check_captions(texts: list[Any]) -> None:
    """TypeError for a caption that is not a str, ValueError for an empty one (naming it)."""
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}]: expected a str caption, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"texts[{i}]: empty caption {text!r} (every pair needs a caption)")


def clapscore(
    model,
    texts: Sequence[str],
    audio: Sequence[Any],
    *,
    batch_size: int = 32,
    text_batch_size: int = 256,
    num_workers: int = 2,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    errors: str = "raise",
    precision: str = "auto",
    allow_truncated: bool = False,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, ScoreInfo]:
    """CLAPScore of N (caption, clip) pairs.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    texts : sequence of N str
        Captions; an empty or whitespace-only one is refused.
    audio : sequence of N paths or 1-D float arrays at ``model.sample_rate``
        As in :func:`humanclap.embed.embed_audio`.
    batch_size, num_workers, errors, precision, allow_truncated
        Passed to :func:`~humanclap.embed.embed_audio` (a truncated file is refused unless
        ``allow_truncated``; then it is scored and flagged).
    text_batch_size : int
        ``batch_size`` of :func:`~humanclap.embed.embed_text`.
    cache_dir, progress
        Passed to both.
    return_info : bool
        Also return a :class:`ScoreInfo` (its ``audio.warnings`` and ``text.warnings`` flag odd
        clips and cut captions by pair).

    Returns
    -------
    np.ndarray, shape (N,), float64
        ``cos(audio_emb[i], text_emb[i])``; NaN for a failed clip when ``errors="nan"``.

    Raises
    ------
    TypeError
        ``texts`` or ``audio`` is a single string, or ``texts[i]`` is not a str.
    ValueError
        ``texts`` and ``audio`` differ in length, or ``texts[i]`` is empty (the message names
        ``i``).
    humanclap.embed.EmbedError
        ``errors="raise"`` and some clips could not be embedded (the rest are cached, so a
        re-run is quick).
    """
    if isinstance(texts, str) or isinstance(audio, (str, os.PathLike)):
        raise TypeError("texts/audio: expected sequences of pairs, got a single string")
    texts, audio = list(texts), list(audio)
    if len(texts) != len(audio):
        raise ValueError(
            f"texts and audio must be aligned pairs: got {len(texts)} texts and "
            f"{len(audio)} audio items"
        )
    _check_captions(texts)
    text_emb, text_info = embed_text(
        model,
        texts,
        batch_size=text_batch_size,
        cache_dir=cache_dir,
        progress=progress,
        precision=precision,
        return_info=True,
    )
    audio_emb, audio_info = embed_audio(
        model,
        audio,
        batch_size=batch_size,
        num_workers=num_workers,
        cache_dir=cache_dir,
        progress=progress,
        errors=errors,
        precision=precision,
        allow_truncated=allow_truncated,
        return_info=True,
    )
    scores = cosine_rows(audio_emb, text_emb)
    return (scores, ScoreInfo(audio_info, text_info)) if return_info else scores


def _cell_problem(value: Any, what: str) -> str:
    """Why a caption cell cannot be scored ("" when it can): empty or not text."""
    if isinstance(value, str):
        return "" if value.strip() else f"{what} is empty"
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return f"{what} is empty"
    return f"{what} is not text ({type(value).__name__} {value!r})"


def _audio_item(value: Any, audio_dir: Any, relative_to: Any) -> tuple[Any, str]:
    """A table's audio cell as a file or waveform, or why it cannot be one."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value.strip():
        return resolve_audio_path(value, audio_dir, relative_to=relative_to), ""
    if isinstance(value, np.ndarray):
        return value, ""
    return None, "is empty"


def score_pairs(
    model,
    pairs: pd.DataFrame,
    *,
    text_col: str = TEXT_COLUMN,
    audio_col: str = AUDIO_COLUMN,
    audio_dir: str | os.PathLike | None = None,
    relative_to: str | os.PathLike | None = None,
    batch_size: int = 32,
    text_batch_size: int = 256,
    num_workers: int = 2,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    precision: str = "auto",
    allow_truncated: bool = False,
    source: str = "pairs",
    row_labels: Sequence[str] | None = None,
    spec: str | None = None,
    column: str | None = None,
    return_info: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, ScoreInfo]:
    """Score every row of a table of (caption, audio file) pairs; no row is dropped.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    pairs : pandas.DataFrame
        One pair per row. ``text_col`` holds captions (str); ``audio_col`` holds paths (see
        :func:`humanclap.audio.resolve_audio_path`) or 1-D float arrays at
        ``model.sample_rate``.
    text_col, audio_col : str
    audio_dir : path, optional
        Folder the audio paths are relative to.
    relative_to : path, optional
        Without ``audio_dir``: the folder relative paths are relative to (absolute paths stay
        as they are), e.g. the CSV's folder; default the working directory.
    batch_size, text_batch_size, num_workers, cache_dir, progress, precision, allow_truncated
        As in :func:`clapscore`.
    source : str
        How the table is named in error messages (e.g. the CSV's path).
    row_labels : sequence of str, optional
        How each row is named in messages after ``source``, e.g. ``"line 5"`` (the CSV's line,
        :func:`read_pairs_csv`); default ``"row <i>"``, ``i`` its 0-based position.
    spec : str, optional
        How the model is named in the ``model`` column and the score column's name; default
        ``model.spec`` (the command line gives the spec it loaded: a checkpoint file's path
        rather than the spec saved in it).
    column : str, optional
        Name of the score column; default ``score_column(spec)``, e.g. ``"clapscore_tiny"``
        (:func:`humanclap.score.score_column`).
    return_info : bool
        Also return a :class:`ScoreInfo`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``pairs`` (same index and row order) with columns ``column`` (the score,
        float, NaN where the row failed), ``model`` (``spec``), ``model_fingerprint``
        (``model.fingerprint``), ``error`` (the reason, ``""`` if none: an empty caption or
        audio cell names ``source`` and the row, a bad file names the file) and ``warning``
        (``"; "``-joined flags of the clip and the caption, such as ``"silent"`` or
        ``"caption cut to 77 tokens (had 95)"``, ``""`` if none). Existing columns of these
        names are replaced.

    Raises
    ------
    KeyError
        ``text_col`` or ``audio_col`` is not a column (the message names ``source`` and lists
        the columns).
    ValueError
        ``row_labels`` does not have one label per row.
    """
    missing = [c for c in (text_col, audio_col) if c not in pairs.columns]
    if missing:
        raise KeyError(
            f"{source}: no column {' or '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, pairs.columns))})"
        )
    n = len(pairs)
    labels = [f"row {i}" for i in range(n)] if row_labels is None else list(row_labels)
    if len(labels) != n:
        raise ValueError(f"row_labels: {len(labels)} labels for {n} rows")
    row_error = [""] * n
    texts: list[str] = []
    audio: list[Any] = []
    keep: list[int] = []
    for i, (text, cell) in enumerate(zip(pairs[text_col], pairs[audio_col], strict=True)):
        item, audio_problem = _audio_item(cell, audio_dir, relative_to)
        problems = [p for p in (_cell_problem(text, f"caption ({text_col!r})"),) if p]
        if audio_problem:
            problems.append(f"audio ({audio_col!r}) {audio_problem}")
        if problems:
            row_error[i] = f"{source} {labels[i]}: " + "; ".join(problems)
            continue
        keep.append(i)
        texts.append(text)
        audio.append(item)

    scores, info = clapscore(
        model,
        texts,
        audio,
        batch_size=batch_size,
        text_batch_size=text_batch_size,
        num_workers=num_workers,
        cache_dir=cache_dir,
        progress=progress,
        errors="nan",
        precision=precision,
        allow_truncated=allow_truncated,
        return_info=True,
    )
    full = np.full(n, np.nan)
    row_warning = [""] * n
    for j, i in enumerate(keep):
        full[i] = scores[j]
        row_error[i] = info.audio.errors.get(j, "")
        flags = [*info.audio.warnings.get(j, []), *info.text.warnings.get(j, [])]
        row_warning[i] = "" if row_error[i] else "; ".join(flags)
    out = pairs.copy()
    spec = str(model.spec if spec is None else spec)
    out[column or score_column(spec)] = full
    out[MODEL_COLUMNS[0]] = spec
    out[MODEL_COLUMNS[1]] = model.fingerprint
    out["error"] = row_error
    out["warning"] = row_warning
    return (out, info) if return_info else out
