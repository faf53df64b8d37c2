"""CLAPScore: the cosine between a caption's and a clip's CLAP embeddings, for many pairs.

:func:`clapscore` scores aligned lists of captions and clips; :func:`score_pairs` scores a table
(one pair per row) and keeps every row, adding ``clapscore``, ``error`` and ``warning``
columns, which is what ``humanclap score`` writes (it reads the CSV with
:func:`read_pairs_csv`, which knows the line each row starts on). Both embed through
:func:`humanclap.embed.embed_audio` / :func:`humanclap.embed.embed_text`, so repeated captions
and clips are embedded once, embeddings are cached on disk per batch (an interrupted run resumes
where it stopped) and bad audio files are reported, never dropped.

The score of pair ``i`` is ``cos(a_i, t_i) = a_i . t_i / (|a_i| |t_i|)`` in float64 (the
models return unit vectors; the norms are divided out anyway), in [-1, 1].
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from humanclap.audio import resolve_audio_path
from humanclap.embed import EmbedInfo, embed_audio, embed_text
from humanclap.similarity import cosine_rows

__all__ = [
    "ScoreInfo",
    "clapscore",
    "cosine_rows",
    "read_pairs_csv",
    "resolve_audio_path",
    "score_pairs",
]


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
    text_col: str = "text",
    audio_col: str = "audio",
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
    return_info : bool
        Also return a :class:`ScoreInfo`.

    Returns
    -------
    pandas.DataFrame
        A copy of ``pairs`` (same index and row order) with columns ``clapscore`` (float,
        NaN where the row failed), ``error`` (the reason, ``""`` if none: an empty caption or
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
    out["clapscore"] = full
    out["error"] = row_error
    out["warning"] = row_warning
    return (out, info) if return_info else out


# ----------------------------------------------------------------------------- reading a CSV
def _decode_csv(data: bytes, path: Path, encoding: str) -> str:
    """The file's text; a ValueError naming the file and the line of a bad byte."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"encoding {encoding!r}: unknown (e.g. utf-8, cp1252, latin-1)") from None
    try:
        return data.decode("utf-8-sig" if name == "utf-8" else encoding)  # a BOM is not text
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path} line {line}: not {encoding} text (byte 0x{data[err.start]:02x} at column "
            f"{column}); give the file's encoding (encoding=..., humanclap score --encoding), "
            "e.g. cp1252 or latin-1"
        ) from None


def _records(text: str, path: Path, strict: bool = False) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of each non-blank record, ``line`` the 1-based line it starts on; a
    ValueError naming that line when the csv module cannot read it."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict)
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            if "unexpected end of data" in str(err):  # only the strict reader says so
                raise ValueError(
                    f"{path} line {line}: a quoted field is never closed (its opening quote "
                    "makes the rest of the file one cell)"
                ) from None
            if strict:  # other strict complaints: read leniently, as pandas does
                return
            raise ValueError(f"{path} line {line}: cannot read the CSV ({err})") from None
        if row:
            yield line, row


def _header(names: list[str]) -> list[str]:
    """Column names as pandas gives them: ``Unnamed: <i>`` for blanks, ``.1``, ``.2`` for
    repeats."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = base = name or f"Unnamed: {i}"
        k = 0
        while name in out:
            k += 1
            name = f"{base}.{k}"
        out.append(name)
    return out


def read_pairs_csv(
    path: str | os.PathLike, *, encoding: str = "utf-8"
) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV of pairs as text, with the line of the file each row starts on.

    Parameters
    ----------
    path : path-like
    encoding : str
        The file's text encoding (``"utf-8"`` also reads a UTF-8 file with a byte-order mark).

    Returns
    -------
    table : pandas.DataFrame, shape (rows, columns)
        Every cell as written (str: captions such as ``"NA"`` or ``"null"`` stay text), empty
        cells None; columns named by the header line (blank names ``"Unnamed: <i>"``, repeats
        ``"<name>.1"``, as pandas does). Blank lines are skipped; a row with fewer fields
        than the header is filled with None.
    lines : list of int, one per row
        The 1-based line it starts on (a quoted caption with a line break spans two).

    Raises
    ------
    OSError
        The file cannot be read.
    ValueError
        Naming the file (and the line): an unknown encoding, bytes that are not text in it, no
        header, a row with more fields than the header, a quoted field never closed.
    """
    path = Path(path)
    text = _decode_csv(path.read_bytes(), path, encoding)
    if text.count('"') % 2:  # maybe a quote never closed: only the strict reader finds it
        for _ in _records(text, path, strict=True):
            pass
    records = _records(text, path)
    _, names = next(records, (0, []))
    if not names:
        raise ValueError(f"{path}: cannot read the CSV (no header line: the file is empty)")
    columns = _header(names)
    rows, lines = [], []
    for line, row in records:
        if len(row) > len(columns):
            raise ValueError(
                f"{path} line {line}: {len(row)} fields, but the header has {len(columns)}"
            )
        rows.append([cell or None for cell in row] + [None] * (len(columns) - len(row)))
        lines.append(line)
    return pd.DataFrame(rows, columns=columns, dtype=object), lines
