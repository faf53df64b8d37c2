"""The Hugging Face hub for the ``"hf"`` backend: snapshot folders of repositories in the local
cache or downloaded (:func:`hub_folder`), a repository's ``config.json`` alone
(:func:`hub_config`), what a repository id is (:func:`is_repo_id`), and
``laion/clap-htsat-fused``'s tokenizer files (:func:`fused_tokenizer_folder`). Offline (:func:`humanclap.utils.is_offline` with ``hub=True``)
nothing is requested."""

from __future__ import annotations

import os
import re
from pathlib import Path

from humanclap.models.tokenizer import hf_hub_cache_dir
from humanclap.utils import is_offline, offline_reason

__all__ = [
    "FUSED_REPO",
    "UNFUSED_REPO",
    "HfModelNotFoundError",
    "cached_snapshot",
    "download_snapshot",
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
_DEFAULT_ETAG_TIMEOUT = 10.0
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


class HfModelNotFoundError(FileNotFoundError):
    """A ``"hf:<repo id>"`` model is not on disk and cannot be downloaded (offline or failed)."""


def _etag_timeout() -> float:
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or _DEFAULT_ETAG_TIMEOUT)
    except ValueError:
        return _DEFAULT_ETAG_TIMEOUT


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


def cached_snapshot(repo_id: str, probe: str, revision: str | None = None) -> Path | None:
    """The local HF cache's snapshot folder of ``repo_id`` holding ``probe``; no network."""
    from huggingface_hub import try_to_load_from_cache  # lazy: huggingface_hub is slow to import

    cache = hf_hub_cache_dir()
    if not cache.is_dir():
        return None
    hit = try_to_load_from_cache(repo_id, probe, cache_dir=cache, revision=revision)
    return Path(hit).parent if isinstance(hit, str) and Path(hit).is_file() else None


def download_snapshot(repo_id: str, patterns: list[str], revision: str | None) -> Path:
    """``snapshot_download`` of ``patterns`` into the HF cache (metadata time-out
    ``$HF_HUB_ETAG_TIMEOUT``, default 10 s); HfModelNotFoundError naming the repo on failure."""
    from huggingface_hub import snapshot_download  # lazy: huggingface_hub is slow to import
    from huggingface_hub.errors import (  # lazy: huggingface_hub is slow to import
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                cache_dir=hf_hub_cache_dir(),
                allow_patterns=patterns,
                etag_timeout=_etag_timeout(),
                endpoint=os.environ.get("HF_ENDPOINT") or None,
            )
        )
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise not_found(repo_id, f"no such (public) repository on the hub ({err})") from None
    except RevisionNotFoundError as err:
        raise not_found(repo_id, f"revision {revision!r} not found ({err})") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as err:
        raise not_found(repo_id, f"download failed and not cached ({err})") from None


def hub_folder(repo_id: str, revision: str | None = None) -> Path:
    """Local folder with ``repo_id``'s config, weights and processor files.

    Offline (``$HUMANCLAP_OFFLINE`` / ``$HF_HUB_OFFLINE`` / ``$TRANSFORMERS_OFFLINE``): the
    cached snapshot, no network. Online: ``snapshot_download`` (already-cached files are not
    fetched again).

    Raises
    ------
    HfModelNotFoundError
        Not cached and offline, not found, or the download failed (names the repo and how to
        make it available).
    """
    if is_offline(hub=True):
        folder = cached_snapshot(repo_id, "config.json", revision)
        if folder is None:
            raise not_found(
                repo_id,
                "not in the local Hugging Face cache, and not downloading: offline "
                f"({offline_reason(hub=True)})",
            )
        if not has_weights(folder):
            raise not_found(repo_id, f"the cached snapshot {folder} has no weights")
        return folder
    folder = download_snapshot(repo_id, _HUB_PATTERNS, revision)
    if not any(folder.glob("*.safetensors")):
        folder = download_snapshot(repo_id, _BIN_PATTERNS, revision)
    if not (folder / "config.json").is_file() or not has_weights(folder):
        raise not_found(repo_id, f"{folder} has no config.json and weights (not a ClapModel?)")
    return folder


def hub_config(repo_id: str, revision: str | None = None) -> Path:
    """``repo_id``'s ``config.json`` alone: the cached one, or (online) downloaded without the
    weights.

    Raises
    ------
    HfModelNotFoundError
        Not cached and offline, not found, or the download failed.
    """
    if is_offline(hub=True):
        folder = cached_snapshot(repo_id, "config.json", revision)
        if folder is None:
            raise not_found(
                repo_id,
                "config.json is not in the local Hugging Face cache, and not downloading: "
                f"offline ({offline_reason(hub=True)})",
            )
    else:
        folder = download_snapshot(repo_id, ["config.json"], revision)
    if not (folder / "config.json").is_file():
        raise not_found(repo_id, f"{folder} has no config.json (not a ClapModel?)")
    return folder / "config.json"


def fused_tokenizer_folder() -> Path | None:
    """``laion/clap-htsat-fused``'s tokenizer files: local cache, or downloaded when online."""
    for probe in ("vocab.json", "tokenizer.json"):
        folder = cached_snapshot(FUSED_REPO, probe)
        if folder is not None and has_tokenizer(folder):
            return folder
    if is_offline(hub=True):
        return None
    try:
        folder = download_snapshot(FUSED_REPO, _TOKENIZER_PATTERNS, None)
    except HfModelNotFoundError:
        return None
    return folder if has_tokenizer(folder) else None
