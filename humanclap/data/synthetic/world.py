"""Where worlds live and how they are read: the cached world of a (seed, parameters), its
fingerprint, and the audio of one of its clips."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from humanclap.audio import load_audio as _decode_audio
from humanclap.audio import resolve_audio_path
from humanclap.data.synthetic.build import generate
from humanclap.data.synthetic.params import SAMPLE_RATE, default_params, world_key
from humanclap.utils import cache_dir, stable_hash

__all__ = ["ensure_world", "load_audio", "world_fingerprint", "world_key"]


def ensure_world(root: str | os.PathLike | None = None, seed: int = 0, **params: Any) -> Path:
    """Return a cached world for (seed, params), generating it first if missing.

    Parameters
    ----------
    root : path-like, optional
        Folder holding the worlds; default ``<cache>/worlds`` where ``<cache>`` is
        ``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``.
    seed, **params
        As for :func:`generate` (``n_captions`` included).

    Returns
    -------
    pathlib.Path
        ``<root>/<world_key(seed, **params)>``; complete (generated into a temporary folder and
        renamed), so a concurrent caller either sees the whole world or none.
    """
    base = Path(root) if root is not None else cache_dir("worlds")
    key = world_key(seed, **params)
    path = base / key
    if (path / "world.json").is_file():
        return path
    p = dict(params)
    n = p.pop("n_captions", default_params()["n_captions"])
    try:
        generate(path, n_captions=n, seed=seed, overwrite=path.exists(), **p)
    except OSError:
        if (path / "world.json").is_file():  # another process finished first
            return path
        raise
    return path


def load_audio(root: str | os.PathLike, wavname: str) -> np.ndarray:
    """Read the clip ``<root>/<wavname>`` of a world at its rate (16 kHz), mono.

    Decoded by :func:`humanclap.audio.load_audio` (the world's files are 16 kHz mono 16-bit
    PCM, so nothing is resampled); the file is :func:`humanclap.audio.resolve_audio_path`'s.

    Returns
    -------
    numpy.ndarray, shape (num_samples,), float32
        Samples in [-1, 1].

    Raises
    ------
    humanclap.audio.AudioNotFoundError
        No such file (e.g. a world generated with ``write_audio=False``); a
        ``FileNotFoundError``.
    humanclap.audio.AudioError
        The file cannot be decoded (a ``ValueError``).
    """
    return _decode_audio(resolve_audio_path(wavname, root), SAMPLE_RATE)


def world_fingerprint(world_root: str | os.PathLike) -> str:
    """The world's content fingerprint: ``world.json["fingerprint"]`` when present, else a hash
    of ``scores/REL.csv`` and the names and sizes of all WAV files under the root."""
    root = Path(world_root)
    meta = root / "world.json"
    if meta.is_file():
        try:
            value = json.loads(meta.read_text()).get("fingerprint")
        except (json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f"{meta}: not a JSON object ({err})") from err
        if value:
            return str(value)
    rel = root / "scores" / "REL.csv"
    if not rel.is_file():
        raise FileNotFoundError(f"{rel}: no ratings file; is {root} a world/RELATE root?")
    wavs = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*.wav"))
    return stable_hash({"rel": rel.read_bytes().hex(), "wavs": wavs}, length=32)
