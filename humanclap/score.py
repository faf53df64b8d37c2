"""CLAPScore: the cosine between a caption's and a clip's CLAP embeddings, for many pairs.

:func:`clapscore` scores aligned lists of captions and clips; :func:`score_pairs` scores a table
(one pair per row) and keeps every row, adding ``clapscore``, ``error`` and ``warning``
columns, which is what ``humanclap score`` writes. Both embed through
:func:`humanclap.embed.embed_audio` / :func:`humanclap.embed.embed_text`, so repeated captions
and clips are embedded once, embeddings are cached on disk per batch (an interrupted run resumes
where it stopped) and bad audio files are reported, never dropped.

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
from humanclap.similarity import cosine_rows

__all__ = ["ScoreInfo", "clapscore", "cosine_rows", "resolve_audio_path", "score_pairs"]


@dataclass
class ScoreInfo:
    """What :func:`clapscore` did: the :class:`~humanclap.embed.EmbedInfo` of each modality."""

    audio: EmbedInfo
    text: EmbedInfo

    def summary(self) -> str:
        return f"{self.audio.summary()}; {self.text.summary()}"


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
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, ScoreInfo]:
    """CLAPScore of N (caption, clip) pairs.

    Parameters
    ----------
    model : humanclap.models.ClapModel
    texts : sequence of N str
    audio : sequence of N paths or 1-D float arrays at ``model.sample_rate``
        As in :func:`humanclap.embed.embed_audio`.
    batch_size, num_workers, errors, precision
        Passed to :func:`~humanclap.embed.embed_audio`.
    text_batch_size : int
        ``batch_size`` of :func:`~humanclap.embed.embed_text`.
    cache_dir, progress
        Passed to both.
    return_info : bool
        Also return a :class:`ScoreInfo`.

    Returns
    -------
    np.ndarray, shape (N,), float64
        ``cos(audio_emb[i], text_emb[i])``; NaN for a failed clip when ``errors="nan"``.

    Raises
    ------
    ValueError
        ``texts`` and ``audio`` differ in length.
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
        return_info=True,
    )
    scores = cosine_rows(audio_emb, text_emb)
    return (scores, ScoreInfo(audio_info, text_info)) if return_info else scores


def score_pairs(
    model,
    pairs: pd.DataFrame,
    *,
    text_col: str = "text",
    audio_col: str = "audio",
    audio_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    text_batch_size: int = 256,
    num_workers: int = 2,
    cache_dir: str | os.PathLike | None = "auto",
    progress: bool | None = None,
    precision: str = "auto",
    source: str = "pairs",
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
    batch_size, text_batch_size, num_workers, cache_dir, progress, precision
        As in :func:`clapscore`.
    source : str
        How the table is named in error messages (e.g. the CSV's path).
    return_info : bool
        Also return a :class:`ScoreInfo`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``pairs`` (same index and row order) with columns ``clapscore`` (float,
        NaN where the row failed), ``error`` (the reason, ``""`` if none) and ``warning``
        (``"; "``-joined flags such as ``"silent"``, ``""`` if none). Existing columns of these
        names are replaced.

    Raises
    ------
    KeyError
        ``text_col`` or ``audio_col`` is not a column (the message names ``source`` and lists
        the columns).
    """
    missing = [c for c in (text_col, audio_col) if c not in pairs.columns]
    if missing:
        raise KeyError(
            f"{source}: no column {' or '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, pairs.columns))})"
        )
    n = len(pairs)
    row_error = [""] * n
    texts: list[str] = []
    audio: list[Any] = []
    keep: list[int] = []
    for i, (text, item) in enumerate(zip(pairs[text_col], pairs[audio_col], strict=True)):
        problems = []
        if not isinstance(text, str):
            problems.append(f"{source} row {i}: caption ({text_col!r}) is missing")
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if isinstance(item, str) and item.strip():
            item = resolve_audio_path(item, audio_dir)
        elif not isinstance(item, np.ndarray):
            problems.append(f"{source} row {i}: audio ({audio_col!r}) is missing")
        if problems:
            row_error[i] = "; ".join(problems)
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
        return_info=True,
    )
    full = np.full(n, np.nan)
    row_warning = [""] * n
    for j, i in enumerate(keep):
        full[i] = scores[j]
        row_error[i] = info.audio.errors.get(j, "")
        row_warning[i] = "; ".join(info.audio.warnings.get(j, []))
    out = pairs.copy()
    out["clapscore"] = full
    out["error"] = row_error
    out["warning"] = row_warning
    return (out, info) if return_info else out
