"""What the columns of a score table are called: the score's column is named after its model.

A table scored by two models keeps both scores side by side, and a file says which model made
its numbers: :func:`score_column` gives ``clapscore_<slug>`` (the slug of the model's spec: lower
case, every run of other characters than letters and digits one ``_``; a spec that is a path
keeps only the file or folder name), and every scored row carries the model's ``model`` (its
spec) and ``model_fingerprint`` (:attr:`humanclap.models.ClapModel.fingerprint`: a hash of the
backend, architecture and weights). Pure Python: the command line names columns before any
model loads.

Examples: ``tiny`` -> ``clapscore_tiny``; ``laion:630k-audioset-best`` ->
``clapscore_laion_630k_audioset_best``; ``hf:sarulab-speech/human-clap-wsce-mae`` ->
``clapscore_hf_sarulab_speech_human_clap_wsce_mae``; ``/runs/best.pt`` -> ``clapscore_best``;
``hf:/runs/folder`` -> ``clapscore_hf_folder``.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePath

__all__ = [
    "AUDIO_COLUMN",
    "CHECKPOINT_SUFFIXES",
    "MODEL_COLUMNS",
    "SCORE_PREFIX",
    "TEXT_COLUMN",
    "score_column",
    "score_columns_of",
]

#: The start of every score column's name.
SCORE_PREFIX = "clapscore_"
#: The caption and audio columns of a table of pairs by default (``score_pairs``, and
#: ``humanclap score --pairs``'s ``--text-col`` and ``--audio-col``).
TEXT_COLUMN = "text"
AUDIO_COLUMN = "audio"
#: The columns that say which model made a row's score.
MODEL_COLUMNS: tuple[str, str] = ("model", "model_fingerprint")
#: File suffixes taken for checkpoint files (a spec ending so names a file, not a repo).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")
_SPEC_PREFIX = re.compile(r"^([a-z][a-z0-9_]*):(.+)$")


def _is_path(text: str) -> bool:
    """Whether ``text`` names a file or folder: absolute, ``./``-relative or a checkpoint file
    (a Hub repo id such as ``owner/name`` is not a path)."""
    return (
        os.path.isabs(text)
        or text.startswith(("./", "../", "~"))
        or text.lower().endswith(CHECKPOINT_SUFFIXES)
        or os.path.exists(text)
    )


def score_column(spec: str | os.PathLike) -> str:
    """The name of the score column of a model spec, ``clapscore_<slug>`` (module doc).

    Parameters
    ----------
    spec : str or path-like
        A model spec as given to :func:`humanclap.models.load` (or :attr:`ClapModel.spec`).

    Returns
    -------
    str
        E.g. ``"clapscore_laion_630k_audioset_best"``.

    Raises
    ------
    ValueError
        The spec has no letter or digit to name a column by.
    """
    text = os.fspath(spec).strip()
    match = _SPEC_PREFIX.match(text)
    prefix, rest = (match[1] + "_", match[2]) if match else ("", text)
    if _is_path(rest):
        path = PurePath(rest.rstrip("/\\"))
        rest = path.stem if path.suffix.lower() in CHECKPOINT_SUFFIXES else path.name
    slug = re.sub(r"[^0-9a-z]+", "_", (prefix + rest).lower()).strip("_")
    if not slug:
        raise ValueError(f"spec {os.fspath(spec)!r}: no letter or digit to name its column by")
    return SCORE_PREFIX + slug


def score_columns_of(columns: list[str]) -> list[str]:
    """The score columns (``clapscore_*``) among ``columns``, in order."""
    return [c for c in map(str, columns) if c.startswith(SCORE_PREFIX)]
