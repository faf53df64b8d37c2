"""The one rule that turns a table's audio cell into a file: ``<audio_dir>/<name>``.

RELATE names its clips by ``wavname`` (``"/audiocaps/train/8215.wav"``), relative to the folder
its audio was unpacked into, with a leading slash. Every layer that reads audio by name goes
through :func:`resolve_audio_path`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["resolve_audio_path"]


def resolve_audio_path(
    value: str | os.PathLike,
    audio_dir: str | os.PathLike | None,
    *,
    relative_to: str | os.PathLike | None = None,
) -> Path:
    """The file an audio cell names.

    Parameters
    ----------
    value : str or path-like
        A ``wavname`` (``"/audiocaps/train/8215.wav"``) or any path.
    audio_dir : path-like, optional
        With it, ``value`` is always relative to it (leading ``/`` or ``\\`` stripped, so
        RELATE's wavnames work as they are); without, an absolute ``value`` is used as given
        and a relative one is relative to ``relative_to``.
    relative_to : path-like, optional
        Without ``audio_dir``, the folder relative paths start from, e.g. the folder of the CSV
        that names them (``humanclap score``); default: the working directory.

    Returns
    -------
    Path
    """
    value = os.fspath(value)
    if audio_dir is None:
        path = Path(value)
        return path if relative_to is None or path.is_absolute() else Path(relative_to) / path
    return Path(audio_dir) / value.lstrip("/\\")
