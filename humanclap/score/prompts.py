"""A folder of clips against a prompts file: what ``humanclap score DIR --prompts FILE`` scores.

Text-to-audio evaluation tools take generated clips as a folder and their prompts as a table
keyed by clip: stable-audio-metrics' ``clap_score(id2text, audio_path)`` reads a dict
``id -> text`` (built from a CSV such as MusicCaps' ``ytid,caption``) and opens
``<audio_path>/<id>.wav``; frechet-audio-distance's CLAP score reads a CSV's ``caption`` column
beside a folder. humanclap takes the same inputs:

- the prompts file is a CSV (``.csv``), a TSV (``.tsv``, ``.tab``) or JSON (``.json``, one
  object ``{"<id>": "<text>", ...}``);
- in a CSV/TSV, the key column is ``key_col`` or else the first of :data:`KEY_COLUMNS` present
  (``id``, ``file``, ``filename``, ...), the text column ``text_col`` or else the first of
  :data:`TEXT_COLUMNS` (``text``, ``caption``, ``prompt``, ``description``);
- a key names a clip by its path below the folder, exactly (``dog.wav``, ``set1/dog.wav``) or
  without the file's suffix (``dog``, ``set1/dog``; stable-audio-metrics' ids); the clips are
  the files below the folder with a suffix in :data:`AUDIO_SUFFIXES` (any case; hidden files
  and folders left out).

Every problem is an error naming the file and the key or row, never a silent drop: a prompt
with no clip, a clip with no prompt, a key given twice, a stem that names two clips
(``dog.wav`` and ``dog.flac``), two keys naming one clip, an empty key or text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from humanclap.score.csvfile import read_csv_rows

__all__ = [
    "AUDIO_SUFFIXES",
    "KEY_COLUMNS",
    "TEXT_COLUMNS",
    "ClipPrompt",
    "Prompt",
    "PromptError",
    "match_prompts",
    "read_prompts",
]

#: Files below the folder that are clips (libsndfile's formats).
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
#: Key columns looked for, in order, when none is named.
KEY_COLUMNS: tuple[str, ...] = (
    "id", "file", "filename", "file_name", "audio", "wav", "path", "ytid", "audiocap_id", "name",
)  # fmt: skip
#: Text columns looked for, in order, when none is named.
TEXT_COLUMNS: tuple[str, ...] = ("text", "caption", "prompt", "description")
#: Problems of each kind listed in an error (all are counted).
MAX_LISTED = 10


class PromptError(ValueError):
    """A prompts file or its match with a folder is unusable; the message names the file and the
    keys or rows."""


@dataclass(frozen=True)
class Prompt:
    """One prompt: its ``key``, ``text`` and where it is written (``"line 5"``, ``"key 'a'"``)."""

    key: str
    text: str
    where: str


@dataclass(frozen=True)
class ClipPrompt:
    """A clip (its path below the folder, ``/``-separated) and the prompt it was made from."""

    file: str
    prompt: Prompt


def _pick(columns: list[str], wanted: str | None, known: Sequence[str], flag: str, path) -> str:
    """The column named ``wanted``, or else the first of ``known`` present; else PromptError."""
    if wanted is not None:
        if wanted not in columns:
            raise PromptError(f"{path}: no column {wanted!r} ({flag}); columns: {columns}")
        return wanted
    found = next((c for c in known if c in columns), None)
    if found is None:
        raise PromptError(
            f"{path}: no column {' / '.join(known)}; name it with {flag} (columns: {columns})"
        )
    return found


def _table_prompts(path: Path, key_col, text_col, encoding: str) -> list[Prompt]:
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    columns, rows, lines = read_csv_rows(path, encoding=encoding, delimiter=delimiter)
    key_at = columns.index(_pick(columns, key_col, KEY_COLUMNS, "--prompt-key-col", path))
    text_at = columns.index(_pick(columns, text_col, TEXT_COLUMNS, "--prompt-text-col", path))
    return [
        Prompt(row[key_at] or "", row[text_at] or "", f"line {line}")
        for row, line in zip(rows, lines, strict=True)
    ]


def _json_prompts(path: Path, encoding: str) -> list[Prompt]:
    def pairs(items: list[tuple[str, object]]) -> list[tuple[str, object]]:
        return items  # keeps repeated keys, which json.load would silently merge

    try:
        data = json.loads(path.read_text(encoding=encoding), object_pairs_hook=pairs)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PromptError(f"{path}: not a JSON object of id -> text ({err})") from None
    if not isinstance(data, list) or (data and not isinstance(data[0], tuple)):
        raise PromptError(f'{path}: expected one JSON object {{"<id>": "<text>", ...}}')
    prompts = []
    for key, text in data:
        if not isinstance(text, str):
            raise PromptError(f"{path}: key {key!r}: the text is {type(text).__name__}, not text")
        prompts.append(Prompt(key, text, f"key {key!r}"))
    return prompts


def _check(path: Path, prompts: list[Prompt]) -> None:
    """Raise naming the rows of empty keys or texts and of keys given twice."""
    empty = [f"{p.where}: empty {'key' if not p.key.strip() else 'text'}" for p in prompts
             if not p.key.strip() or not p.text.strip()]  # fmt: skip
    seen: dict[str, list[str]] = {}
    for p in prompts:
        seen.setdefault(_normal(p.key), []).append(p.where)
    twice = [f"key {k!r} on {', '.join(w)}" for k, w in seen.items() if k and len(w) > 1]
    problems = [*empty, *(f"duplicate {t}" for t in twice)]
    if problems:
        raise PromptError(_listing(f"{path}", problems))


def _listing(what: str, problems: list[str]) -> str:
    shown = problems[:MAX_LISTED]
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{what}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more


def _normal(key: str) -> str:
    """A key as a ``/``-separated path below the folder (``./`` and a leading ``/`` dropped)."""
    key = key.strip().replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return key.lstrip("/")


def read_prompts(
    path: str | os.PathLike,
    *,
    key_col: str | None = None,
    text_col: str | None = None,
    encoding: str = "utf-8",
) -> list[Prompt]:
    """Read a prompts file (CSV, TSV or JSON ``{id: text}``; module doc), in file order.

    Parameters
    ----------
    path : path-like
    key_col, text_col : str, optional
        CSV/TSV columns of the key and the text (default: the first of :data:`KEY_COLUMNS` /
        :data:`TEXT_COLUMNS` present); not used for JSON.
    encoding : str

    Returns
    -------
    list of Prompt

    Raises
    ------
    PromptError
        Naming the file and the rows or keys: a missing column, not a JSON object of text,
        empty keys or texts, a key given twice.
    OSError
        The file cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        prompts = _json_prompts(path, encoding)
    else:
        prompts = _table_prompts(path, key_col, text_col, encoding)
    if not prompts:
        raise PromptError(f"{path}: no prompts")
    _check(path, prompts)
    return prompts


def _clips(folder: Path) -> list[str]:
    """The clips below ``folder`` (module doc), ``/``-separated paths, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(root).relative_to(folder)
        found += [
            (rel / f).as_posix()
            for f in files
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in AUDIO_SUFFIXES
        ]
    return sorted(found)


def match_prompts(
    folder: str | os.PathLike, prompts: Sequence[Prompt], source: str = "prompts"
) -> list[ClipPrompt]:
    """Each prompt's clip below ``folder``: by exact path, else by path without suffix.

    Parameters
    ----------
    folder : path-like
    prompts : sequence of Prompt
        :func:`read_prompts`'s list.
    source : str
        How the prompts file is named in messages (its path).

    Returns
    -------
    list of ClipPrompt
        In the prompts' order, one per prompt; every clip of the folder is in it.

    Raises
    ------
    PromptError
        Listing every problem (at most :data:`MAX_LISTED` of each kind shown): a prompt with no
        clip, a key whose stem names several clips, two keys naming one clip, clips with no
        prompt.
    """
    folder = Path(folder)
    clips = _clips(folder)
    exact = set(clips)
    by_stem: dict[str, list[str]] = {}
    for clip in clips:
        by_stem.setdefault(os.path.splitext(clip)[0], []).append(clip)
    matched: list[ClipPrompt] = []
    taken: dict[str, Prompt] = {}
    problems: list[str] = []
    for prompt in prompts:
        key = _normal(prompt.key)
        found = [key] if key in exact else by_stem.get(key, [])
        if len(found) != 1:
            why = f"names {len(found)} clips ({', '.join(found)})" if found else "has no clip"
            problems.append(f"{source} {prompt.where}: key {prompt.key!r} {why} in {folder}")
        elif found[0] in taken:
            problems.append(
                f"{source} {prompt.where}: key {prompt.key!r} names {found[0]}, as "
                f"{taken[found[0]].where} (key {taken[found[0]].key!r}) does"
            )
        else:
            taken[found[0]] = prompt
            matched.append(ClipPrompt(found[0], prompt))
    problems += [f"{folder}/{c}: no prompt in {source}" for c in clips if c not in taken]
    if problems:
        raise PromptError(_listing(f"{folder} against {source}", problems))
    return matched
