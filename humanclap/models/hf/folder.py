"""Reading ``save_pretrained`` folders (:func:`load_folder`) and hub repositories
(:func:`load_repo`) into :class:`~humanclap.models.hf.HfClap`: weights with
``ClapModel.from_pretrained``, the processor from the folder or ``laion/clap-htsat-fused``'s
defaults, and humanclap's own settings (``humanclap.json``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from humanclap.models.hf.config import (
    LONG_CLIPS,
    SETTINGS_FILE,
    check_clap_config,
    default_feature_settings,
    make_feature_extractor,
)
from humanclap.models.hf.hub import FUSED_REPO, has_weights, hub_folder
from humanclap.models.hf.model import HfClap
from humanclap.models.hf.vocab import tokenizer_for

__all__ = ["load_folder", "load_repo"]

_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")


def _read_settings(folder: Path) -> dict[str, Any]:
    """``humanclap.json`` of a folder written by :meth:`HfClap.save_pretrained` ({} if none)."""
    path = folder / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if settings.get("long_clips", LONG_CLIPS) != LONG_CLIPS:
        raise ValueError(f"{path}: long_clips {settings['long_clips']!r} != {LONG_CLIPS!r}")
    return settings


def _check_folder(folder: Path) -> None:
    """FileNotFoundError unless ``folder`` holds ``config.json`` and weights."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    if not (folder / "config.json").is_file() or not has_weights(folder):
        raise FileNotFoundError(
            f"{folder}: expected a save_pretrained folder (config.json and model.safetensors or "
            "pytorch_model.bin)"
        )


def _clap_config(folder: Path) -> Any:
    """The folder's ``ClapConfig``; ValueError when ``config.json`` is not a ClapModel's."""
    from transformers import ClapConfig  # lazy: transformers takes seconds to import

    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8"))["model_type"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{folder}/config.json: unreadable or without model_type ({err})") from err
    if model_type != "clap":
        raise ValueError(
            f"{folder}/config.json: model_type {model_type!r}, not a transformers ClapModel ('clap')"
        )
    try:
        config = ClapConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError) as err:
        raise ValueError(f"{folder}/config.json: not a ClapModel config ({err})") from err
    check_clap_config(config)
    return config


def _feature_extractor(folder: Path, fusion: bool) -> tuple[Any, str]:
    """The folder's feature extractor, else ``laion/clap-htsat-fused``'s settings; and its source."""
    from transformers import ClapFeatureExtractor  # lazy: transformers takes seconds to import

    if any((folder / n).is_file() for n in _PROCESSOR_FILES):
        feature_extractor = ClapFeatureExtractor.from_pretrained(str(folder), local_files_only=True)
        return feature_extractor, str(folder)
    feature_extractor = make_feature_extractor(default_feature_settings(fusion))
    return feature_extractor, f"{FUSED_REPO} preprocessor_config.json" + (
        "" if fusion else " (rand_trunc)"
    )


def _weights(folder: Path, config: Any) -> Any:
    """``ClapModel.from_pretrained(folder)`` (float32, local files only), in eval mode; ValueError
    when parameters are missing or have the wrong shape."""
    from transformers import ClapModel as TransformersClap  # lazy: transformers is slow

    clap, info = TransformersClap.from_pretrained(
        str(folder),
        config=config,
        local_files_only=True,
        dtype=torch.float32,
        output_loading_info=True,
    )
    params = {name for name, _ in clap.named_parameters()}
    missing = sorted(k for k in info.get("missing_keys", []) if k in params)
    mismatched = list(info.get("mismatched_keys", []))
    if missing or mismatched:
        raise ValueError(
            f"{folder}: weights do not fit the ClapModel of config.json (missing "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, wrong shape {mismatched[:5]})"
        )
    return clap.eval()


def load_folder(
    folder: str | os.PathLike,
    spec: str | None = None,
    *,
    provenance: dict[str, Any] | None = None,
    fuse_short_clips: bool | None = None,
    max_text_tokens: int | None = None,
) -> HfClap:
    """Build an :class:`HfClap` from a ``save_pretrained`` folder (weights read with
    ``ClapModel.from_pretrained(folder, local_files_only=True)``; processor: see
    :mod:`humanclap.models.hf`).

    Parameters
    ----------
    folder : path-like
    spec : str, optional
        Default ``"hf:<folder>"``.
    provenance : dict, optional
        Added to the model's provenance (source, feature extractor and tokenizer sources).
    fuse_short_clips, max_text_tokens : optional
        Default: the folder's ``humanclap.json``, else True and the text tower's limit.

    Raises
    ------
    FileNotFoundError
        No such folder, or no ``config.json`` / weights in it.
    ValueError
        Not a ClapModel, or weights that leave parameters missing (names them).
    """
    folder = Path(folder).expanduser()
    _check_folder(folder)
    settings = _read_settings(folder)
    config = _clap_config(folder)
    fusion = bool(config.audio_config.enable_fusion)
    feature_extractor, fe_source = _feature_extractor(folder, fusion)
    tokenizer, tok_source = tokenizer_for(settings.get("tokenizer", "roberta-base"), folder)
    clap = _weights(folder, config)
    info_out: dict[str, Any] = {
        "source": str(folder),
        "feature_extractor": fe_source,
        "tokenizer": tok_source,
    }
    if isinstance(settings.get("provenance"), dict):
        info_out["saved"] = settings["provenance"]
    info_out.update(provenance or {})
    if fuse_short_clips is None:
        fuse_short_clips = bool(settings.get("fuse_short_clips", True))
    if max_text_tokens is None and settings.get("max_text_tokens") is not None:
        max_text_tokens = int(settings["max_text_tokens"])
    return HfClap(
        clap,
        feature_extractor,
        tokenizer,
        spec or f"hf:{folder}",
        provenance=info_out,
        fuse_short_clips=fuse_short_clips,
        max_text_tokens=max_text_tokens,
    )


def load_repo(repo_id: str, *, revision: str | None = None, **options: Any) -> HfClap:
    """``"hf:<repo id>"``: :func:`~humanclap.models.hf.hub.hub_folder` then :func:`load_folder`."""
    folder = hub_folder(repo_id, revision)
    provenance: dict[str, Any] = {"repo": repo_id}
    if folder.parent.name == "snapshots":
        provenance["revision"] = folder.name
    return load_folder(folder, f"hf:{repo_id}", provenance=provenance, **options)
