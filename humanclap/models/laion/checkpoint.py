"""LAION-CLAP's checkpoint files: reading them (:func:`load_laion_checkpoint`), recognising them
(:func:`is_laion_checkpoint`), and finding or downloading the released ones
(:data:`CHECKPOINTS`, :func:`laion_checkpoint_path`: the Hub repository ``lukewys/laion_clap`` at
its pinned commit, through :func:`humanclap.models.hub_fetch.hub_files`). Writing them is
:meth:`LaionClap.save_laion <humanclap.models.laion.LaionClap.save_laion>`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from humanclap.models.checkpoint import load_weights_only
from humanclap.models.hub_fetch import HubFileNotFoundError, hf_hub_cache_dir, hub_files
from humanclap.models.laion.arch import infer_arch
from humanclap.models.laion.model import LaionClap

__all__ = [
    "CHECKPOINTS",
    "ENV_LAION_DIR",
    "LAION_REPO",
    "LaionCheckpoint",
    "LaionCheckpointNotFoundError",
    "is_laion_checkpoint",
    "laion_checkpoint_path",
    "load_laion_checkpoint",
]

#: Environment variable naming a folder with released checkpoints (looked at first).
ENV_LAION_DIR = "HUMANCLAP_LAION_DIR"
#: The Hub repository of the released checkpoints (pinned in :mod:`humanclap.models.hub_pins`).
LAION_REPO = "lukewys/laion_clap"


@dataclass(frozen=True)
class LaionCheckpoint:
    """A released LAION-CLAP checkpoint: a file of the Hub repository :data:`LAION_REPO`."""

    filename: str
    amodel: str
    fusion: bool


#: Checkpoints ``"laion:<name>"`` knows (names as in laion_clap's ``load_ckpt`` and README).
CHECKPOINTS: dict[str, LaionCheckpoint] = {
    "630k-best": LaionCheckpoint("630k-best.pt", "HTSAT-tiny", False),
    "630k-audioset-best": LaionCheckpoint("630k-audioset-best.pt", "HTSAT-tiny", False),
    "630k-fusion-best": LaionCheckpoint("630k-fusion-best.pt", "HTSAT-tiny", True),
    "630k-audioset-fusion-best": LaionCheckpoint(
        "630k-audioset-fusion-best.pt", "HTSAT-tiny", True
    ),
    "music_audioset_epoch_15_esc_90.14": LaionCheckpoint(
        "music_audioset_epoch_15_esc_90.14.pt", "HTSAT-base", False
    ),
    "music_speech_epoch_15_esc_89.25": LaionCheckpoint(
        "music_speech_epoch_15_esc_89.25.pt", "HTSAT-base", False
    ),
    "music_speech_audioset_epoch_15_esc_89.98": LaionCheckpoint(
        "music_speech_audioset_epoch_15_esc_89.98.pt", "HTSAT-base", False
    ),
}


class LaionCheckpointNotFoundError(FileNotFoundError):
    """A named checkpoint is not on disk and could not be downloaded (offline or failed)."""


# ----------------------------------------------------------------------------- reading
def is_laion_checkpoint(obj: Any) -> bool:
    """True for ``{"state_dict": {...}}`` or a bare state dict with LAION-CLAP's keys."""
    if not isinstance(obj, dict):
        return False
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict):
        return False
    return any(
        isinstance(k, str) and k.removeprefix("module.").startswith("audio_branch.") for k in state
    )


def _laion_state(path: Path, obj: Any) -> dict[str, Tensor]:
    """The state dict of a file's content, or ValueError naming ``path``."""
    if not is_laion_checkpoint(obj):
        keys = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(
            f"{path}: not a LAION-CLAP checkpoint (expected {{'state_dict': ...}} or a state "
            f"dict with 'audio_branch.*' keys; got {keys})"
        )
    state = obj["state_dict"] if "state_dict" in obj else obj
    bad = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if bad:
        raise ValueError(f"{path}: state_dict entries that are not tensors: {bad[:5]}")
    return state


def _saved_tokenizer(obj: dict[str, Any]) -> str | None:
    """The tokenizer vocabulary that :meth:`LaionClap.save_laion` recorded, if any."""
    meta = obj.get("humanclap") if isinstance(obj.get("humanclap"), dict) else None
    if meta and isinstance(meta.get("config"), dict):
        saved = meta["config"].get("arch", {})
        if saved.get("tokenizer") in ("roberta-base", "gpt2-bpe"):
            return saved["tokenizer"]
    return None


def load_laion_checkpoint(
    path: str | os.PathLike,
    spec: str | None = None,
    *,
    checkpoint: Any = None,
    provenance: dict[str, Any] | None = None,
) -> LaionClap:
    """Build a :class:`LaionClap` from a LAION-format checkpoint file.

    The file is read by :func:`~humanclap.models.checkpoint.load_weights_only`: a torch file of
    any pickle protocol (``{"state_dict": ...}`` with an optimiser state and numpy numbers, as
    LAION's training writes, or a bare state dict), or a ``.safetensors`` state dict.

    Parameters
    ----------
    path : path-like
    spec : str, optional
        Default ``"laion:<path>"``.
    checkpoint : object, optional
        The file's content when already read (with
        :func:`~humanclap.models.checkpoint.load_weights_only`).
    provenance : dict, optional

    Raises
    ------
    FileNotFoundError
    ValueError
        Refused or unreadable by :func:`~humanclap.models.checkpoint.load_weights_only`
        (pickled code: :class:`~humanclap.models.checkpoint.UnsafeCheckpointError`), not a
        LAION-CLAP state dict, an unsupported architecture (PANN, non-RoBERTa), or weights that
        do not fit (names the keys).
    """
    path = Path(path)
    obj = load_weights_only(path) if checkpoint is None else checkpoint
    state = _laion_state(path, obj)
    try:
        arch = infer_arch(state)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    tokenizer = _saved_tokenizer(obj)
    if tokenizer is not None:
        arch["tokenizer"] = tokenizer
    spec = spec or f"laion:{path}"
    info = {"checkpoint": str(path)}
    info.update(provenance or {})
    if isinstance(obj.get("epoch"), (int, float)):
        info.setdefault("epoch", obj["epoch"])
    model = LaionClap(arch, spec, provenance=info)
    model.load_laion_state_dict(state, str(path))
    return model


# ----------------------------------------------------------------------------- released files
def laion_checkpoint_path(name: str, *, progress: bool | None = None) -> Path:
    """Local path of the released checkpoint ``name`` (a key of :data:`CHECKPOINTS`).

    ``$HUMANCLAP_LAION_DIR/<file>`` when that folder holds it (a folder of checkpoints fetched
    by other means: huggingface_hub cannot look there); else the file of :data:`LAION_REPO` at
    its pinned commit, from the Hugging Face cache or, when online, downloaded by
    huggingface_hub (resumable, time-outs, progress bar) and checked against its pinned or
    first-use sha256 (:func:`humanclap.models.hub_fetch.hub_files`). ``progress``: the download
    bar (None: when stderr is a terminal).

    Raises
    ------
    LaionCheckpointNotFoundError
        Not cached and offline (at once), or the download failed; names the file, the
        repository, the Hugging Face cache and ``$HUMANCLAP_LAION_DIR``.
    humanclap.models.hub_fetch.HubIntegrityError
        The downloaded file is not the pinned one (it is removed from the cache).
    """
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown LAION-CLAP checkpoint {name!r}; known: {sorted(CHECKPOINTS)}")
    entry = CHECKPOINTS[name]
    env = os.environ.get(ENV_LAION_DIR)
    if env and (Path(env).expanduser() / entry.filename).is_file():
        return Path(env).expanduser() / entry.filename
    try:
        return hub_files(LAION_REPO, [entry.filename], progress=progress)[entry.filename]
    except HubFileNotFoundError as err:
        where = f"${ENV_LAION_DIR}={env} has no such file" if env else f"${ENV_LAION_DIR} unset"
        raise LaionCheckpointNotFoundError(
            f"LAION-CLAP checkpoint {entry.filename} not found ({where}): {err}. Fetch it on a "
            f"machine that is online (`hf download {LAION_REPO} {entry.filename}`) and copy its "
            f"cache folder models--{LAION_REPO.replace('/', '--')} into {hf_hub_cache_dir()}, or "
            f"put the file in a folder named by the environment variable {ENV_LAION_DIR}."
        ) from None
