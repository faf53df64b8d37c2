"""The Hugging Face hub for the ``"hf"`` backend: snapshot folders of repositories
(:func:`hub_folder`), a repository's ``config.json`` alone (:func:`hub_config`), what a repository
id is (:func:`is_repo_id`), and ``laion/clap-htsat-fused``'s tokenizer files
(:func:`fused_tokenizer_folder`). Everything goes through
:mod:`humanclap.models.hub_fetch`: huggingface_hub at the pinned (or first-use) commit, every
file verified; offline (:func:`humanclap.utils.is_offline` with ``hub=True``) nothing is
requested."""

from __future__ import annotations

import re
from pathlib import Path

from humanclap.models.hub_fetch import (
    HubFileNotFoundError,
    hf_hub_cache_dir,
    hub_files,
    hub_snapshot,
)

__all__ = [
    "FUSED_REPO",
    "UNFUSED_REPO",
    "HfModelNotFoundError",
    "fused_tokenizer_folder",
    "has_tokenizer",
    "has_weights",
    "hub_config",
    "hub_folder",
    "is_repo_id",
    "not_found",
]

#: Where the Human-CLAP checkpoints take their processor from; the base of fusion models.
FUSED_REPO = "laion/clap-htsat-fused"
#: The same architecture without fusion (``audio_config.enable_fusion: false``).
UNFUSED_REPO = "laion/clap-htsat-unfused"

_TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json")
_HUB_PATTERNS = ["*.json", "*.txt", "*.safetensors"]
_BIN_PATTERNS = ["pytorch_model*.bin"]
_TOKENIZER_PATTERNS = ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"]
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


class HfModelNotFoundError(FileNotFoundError):
    """A ``"hf:<repo id>"`` model is not on disk and cannot be downloaded (offline or failed)."""


def not_found(repo_id: str, why: str) -> HfModelNotFoundError:
    """The error for a repository that is not available: ``why``, then how to make it so."""
    return HfModelNotFoundError(
        f"hf:{repo_id}: {why}. Make it available by downloading it on a machine that is online "
        f"(`hf download {repo_id}`, or load('hf:{repo_id}') there) and copying its cache folder "
        f"models--{repo_id.replace('/', '--')} into {hf_hub_cache_dir()} (set $HF_HUB_CACHE to "
        "use another cache); or save it with ClapModel/ClapProcessor.save_pretrained (or "
        "HfClap.save_pretrained) and load 'hf:<that folder>'."
    )


def is_repo_id(text: str) -> bool:
    """Whether ``text`` has the form of a hub repository id (``"name"`` or ``"owner/name"``)."""
    return bool(_REPO_ID.match(text)) and "--" not in text and ".." not in text


def has_weights(folder: Path) -> bool:
    """Whether ``folder`` holds ``*.safetensors`` or ``pytorch_model*.bin`` weights."""
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def has_tokenizer(folder: Path) -> bool:
    """Whether ``folder`` holds ``vocab.json`` + ``merges.txt``, or ``tokenizer.json``."""
    return (
        all((folder / n).is_file() for n in _TOKENIZER_FILES[:2])
        or (folder / "tokenizer.json").is_file()
    )


def _snapshot(repo_id: str, patterns: list[str], revision: str | None) -> Path:
    """:func:`~humanclap.models.hub_fetch.hub_snapshot`, its not-found error made this
    backend's (naming the repository and how to make it available)."""
    try:
        return hub_snapshot(repo_id, patterns, revision=revision)
    except HubFileNotFoundError as err:
        raise not_found(repo_id, str(err)) from None


def hub_folder(repo_id: str, revision: str | None = None) -> Path:
    """Local folder with ``repo_id``'s config, weights and processor files.

    The snapshot at the pinned (or first-use) commit, or ``revision``: from the Hugging Face
    cache, or (online) downloaded by ``snapshot_download`` (``*.json``, ``*.txt``,
    ``*.safetensors``; ``pytorch_model*.bin`` only when there are no safetensors); every file
    checked against its pinned or recorded sha256.

    Raises
    ------
    HfModelNotFoundError
        Not cached and offline, not found, or the download failed (names the repo, the endpoint
        and how to make it available).
    humanclap.models.hub_fetch.HubIntegrityError
        A file is not the pinned one (it is removed from the cache).
    """
    folder = _snapshot(repo_id, _HUB_PATTERNS, revision)
    if not any(folder.glob("*.safetensors")):
        folder = _snapshot(repo_id, _BIN_PATTERNS, revision)
    if not (folder / "config.json").is_file() or not has_weights(folder):
        raise not_found(
            repo_id, f"the snapshot {folder} has no config.json and weights (not a ClapModel?)"
        )
    return folder


def hub_config(repo_id: str, revision: str | None = None) -> Path:
    """``repo_id``'s ``config.json`` alone: the cached one, or (online) downloaded without the
    weights; verified like every Hub file.

    Raises
    ------
    HfModelNotFoundError
        Not cached and offline, not found, or the download failed.
    """
    try:
        return hub_files(repo_id, ["config.json"], revision=revision)["config.json"]
    except HubFileNotFoundError as err:
        raise not_found(repo_id, str(err)) from None


def fused_tokenizer_folder() -> Path | None:
    """``laion/clap-htsat-fused``'s tokenizer files (HF cache, or downloaded when online); None
    when they are not to be had."""
    try:
        folder = hub_snapshot(FUSED_REPO, _TOKENIZER_PATTERNS)
    except HubFileNotFoundError:
        return None
    return folder if has_tokenizer(folder) else None
