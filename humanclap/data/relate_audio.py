"""RELATE's audio: where it is in a folder or a zip, and whether it matches the ratings.

RELATE's authors publish the audio separately from the ratings, as ``RELATE_wave.zip`` (about
1.7 GB, no published checksum). Unpacked, each rated ``wavname`` (``/audiocaps/train/10176.wav``)
is a file below one folder, whatever the zip's top level holds: ``RELATE_wave/``, a ``wav/``
level, or nothing. :func:`find_audio_root` finds that folder (it is what ``dataset="relate"``
uses), :func:`zip_audio_prefix` does the same inside a zip, and :func:`check_relate_audio`
checks every wavname rated in any aspect (REL, IS, OS): present, decodable, 16 kHz mono, not
truncated. ``humanclap relate-audio`` runs the check from a shell.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from humanclap.audio import AudioError, decode_audio, decode_audio_info, resolve_audio_path
from humanclap.data.files import ASPECTS, SOURCES
from humanclap.data.locate import resolve_relate_root
from humanclap.data.ratings import read_aspect
from humanclap.utils import progress_bar

__all__ = [
    "RELATE_SAMPLE_RATE",
    "AudioCheck",
    "check_relate_audio",
    "find_audio_root",
    "has_source_folders",
    "rated_wavnames",
    "zip_audio_prefix",
]

#: RELATE's audio is 16 kHz mono 16-bit PCM (its README).
RELATE_SAMPLE_RATE = 16_000
#: How deep below the given folder the sources' folders are looked for.
_MAX_DEPTH = 3


def has_source_folders(folder: Path) -> bool:
    """Whether ``folder`` holds one of RELATE's source folders (``audiocaps``, ...)."""
    return any((folder / source).is_dir() for source in SOURCES)


def find_audio_root(folder: str | os.PathLike, max_depth: int = _MAX_DEPTH) -> Path | None:
    """The folder below which RELATE's ``<source>/<split>/<id>.wav`` files are.

    Parameters
    ----------
    folder : path-like
        Where the audio was unpacked: the root itself, or a folder above it such as the zip's
        ``RELATE_wave/`` or a ``wav/`` level (looked for up to ``max_depth`` levels down).

    Returns
    -------
    Path or None
        The first folder (breadth first, in sorted order) holding one of the sources' folders
        (``audiocaps``, ``audioldm``, ...), or None.
    """
    level = [Path(folder).expanduser()]
    for _ in range(max_depth + 1):
        for candidate in level:
            if has_source_folders(candidate):
                return candidate
        level = [c for p in level if p.is_dir() for c in sorted(p.iterdir()) if c.is_dir()]
    return None


def zip_audio_prefix(names: list[str]) -> str | None:
    """The path inside a zip before ``<source>/<split>/<id>.wav`` (``""``, ``"RELATE_wave/"``,
    ``"x/wav/"`` ...): the most common one among the members, or None when none matches."""
    prefixes: Counter[str] = Counter()
    for name in names:
        parts = name.split("/")
        if len(parts) >= 3 and parts[-1].lower().endswith(".wav") and parts[-3] in SOURCES:
            prefixes["/".join(parts[:-3]) + ("/" if len(parts) > 3 else "")] += 1
    return prefixes.most_common(1)[0][0] if prefixes else None


def rated_wavnames(relate_root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every wavname rated in any aspect, with its source, folder split and aspects.

    Returns
    -------
    pd.DataFrame
        One row per wavname: ``wavname``, ``source`` (first folder), ``folder`` (second folder:
        AudioCaps' ``train`` or ``test``), ``aspects`` (e.g. ``"IS,OS,REL"``).
    """
    root = resolve_relate_root(relate_root)
    seen: dict[str, set[str]] = {}
    for aspect in ASPECTS:
        for wavname in read_aspect(root, aspect)["wavname"].unique():
            seen.setdefault(str(wavname), set()).add(aspect)
    rows = []
    for wavname in sorted(seen):
        parts = wavname.strip("/").split("/")
        rows.append(
            {
                "wavname": wavname,
                "source": parts[0],
                "folder": parts[1] if len(parts) > 2 else "",
                "aspects": ",".join(sorted(seen[wavname])),
            }
        )
    return pd.DataFrame(rows, columns=["wavname", "source", "folder", "aspects"])


@dataclass
class AudioCheck:
    """What :func:`check_relate_audio` found.

    Attributes
    ----------
    where : str
        The folder or zip checked, and the audio root found in it.
    expected : pd.DataFrame
        :func:`rated_wavnames`.
    missing : list of str
        Wavnames with no file.
    bad : dict of str to str
        Wavname -> why its file cannot be used (undecodable, not 16 kHz mono, truncated ...).
    """

    where: str
    expected: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    bad: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every rated wavname has a usable file."""
        return not self.missing and not self.bad

    def counts(self) -> pd.DataFrame:
        """Expected, present, missing and bad files per source and folder split."""
        table = self.expected.assign(
            missing=self.expected["wavname"].isin(self.missing),
            bad=self.expected["wavname"].isin(list(self.bad)),
        )
        out = table.groupby(["source", "folder"]).agg(
            expected=("wavname", "size"), missing=("missing", "sum"), bad=("bad", "sum")
        )
        out.insert(1, "usable", out["expected"] - out["missing"] - out["bad"])
        return out

    def report(self, limit: int = 20) -> str:
        """A readable report: the counts, then up to ``limit`` missing and bad files by name."""
        lines = [f"RELATE audio in {self.where}", self.counts().to_string()]
        n_usable = len(self.expected) - len(self.missing) - len(self.bad)
        lines.append(f"{n_usable} of {len(self.expected)} rated clips usable")
        for title, items in (
            ("missing", [(w, "no such file") for w in self.missing]),
            ("bad", sorted(self.bad.items())),
        ):
            if items:
                lines.append(f"{len(items)} {title}:")
                lines += [f"  {w}: {why}" for w, why in items[:limit]]
                if len(items) > limit:
                    lines.append(f"  ... and {len(items) - limit} more")
        return "\n".join(lines)


def clip_problem(data: bytes, name: str) -> str | None:
    """Why a file's bytes are not a usable RELATE clip (None when they are)."""
    try:
        info = decode_audio_info(data, name)
        if info.sample_rate != RELATE_SAMPLE_RATE or info.channels != 1:
            return (
                f"{info.sample_rate} Hz with {info.channels} channel(s), expected "
                f"{RELATE_SAMPLE_RATE} Hz mono"
            )
        decode_audio(data, RELATE_SAMPLE_RATE, name)
    except AudioError as err:
        return str(err).removeprefix(f"{name}: ")
    return None


def _folder_reader(root: Path) -> Callable[[str], bytes | None]:
    def read(wavname: str) -> bytes | None:
        path = resolve_audio_path(wavname, root)
        return path.read_bytes() if path.is_file() else None

    return read


def _zip_readers(archive: zipfile.ZipFile, prefix: str) -> Callable[[str], bytes | None]:
    members = set(archive.namelist())

    def read(wavname: str) -> bytes | None:
        member = resolve_audio_path(wavname, prefix).as_posix()
        return archive.read(member) if member in members else None

    return read


def _check_all(
    check: AudioCheck,
    read: Callable[[str], bytes | None],
    num_workers: int,
    progress: bool | None,
) -> None:
    def one(wavname: str) -> tuple[str, str | None, bool]:
        data = read(wavname)
        return wavname, None if data is None else clip_problem(data, wavname), data is None

    names = check.expected["wavname"].tolist()
    with ThreadPoolExecutor(max(1, num_workers)) as pool:
        results: Iterator = pool.map(one, names)
        for wavname, problem, absent in progress_bar(
            results, total=len(names), progress=progress, desc="checking RELATE audio"
        ):
            if absent:
                check.missing.append(wavname)
            elif problem is not None:
                check.bad[wavname] = problem


def check_relate_audio(
    source: str | os.PathLike,
    relate_root: str | os.PathLike | None = None,
    *,
    num_workers: int = 4,
    progress: bool | None = None,
) -> AudioCheck:
    """Check RELATE's audio, unpacked or as its zip, against every rated wavname.

    Parameters
    ----------
    source : path-like
        A folder (the audio root, or a folder above it: see :func:`find_audio_root`) or
        ``RELATE_wave.zip``.
    relate_root : path-like, optional
        RELATE's rating files (found as :func:`humanclap.data.resolve_relate_root` does).
    num_workers : int
        Threads reading and decoding files.
    progress : bool or None
        A progress bar (None: when stderr is a terminal).

    Returns
    -------
    AudioCheck
        Every rated wavname is checked: a missing file, or one that is not decodable 16 kHz
        mono audio, is listed by name.

    Raises
    ------
    FileNotFoundError
        ``source`` does not exist.
    """
    source = Path(source).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such folder or zip")
    expected = rated_wavnames(relate_root)
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            prefix = zip_audio_prefix(archive.namelist())
            check = AudioCheck(f"{source} (at '{prefix or ''}' inside)", expected)
            if prefix is None:
                check.missing = expected["wavname"].tolist()
                return check
            _check_all(check, _zip_readers(archive, prefix), 1, progress)
        return check
    root = find_audio_root(source) if source.is_dir() else None
    check = AudioCheck(f"{source}" + (f" (audio root {root})" if root else ""), expected)
    if root is None:
        check.missing = expected["wavname"].tolist()
        return check
    _check_all(check, _folder_reader(root), num_workers, progress)
    return check
