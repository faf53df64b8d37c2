"""Reading ``save_pretrained`` folders (:func:`load_folder`) and hub repositories
(:func:`load_repo`) into :class:`~humanclap.models.hf.HfClap`: weights with
``ClapModel.from_pretrained``, the processor from the folder or ``laion/clap-htsat-fused``'s
defaults, and humanclap's own settings (``humanclap.json``). :func:`released_base` reads a
released checkpoint's ``config.json`` and names the public model it was fine-tuned from."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from humanclap.models.hf.config import (
    LONG_CLIPS,
    SETTINGS_FILE,
    as_clap_config,
    check_clap_config,
    default_feature_settings,
    htsat_base_differences,
    make_feature_extractor,
)
from humanclap.models.hf.hub import (
    FUSED_REPO,
    UNFUSED_REPO,
    has_weights,
    hub_config,
    hub_folder,
    is_repo_id,
)
from humanclap.models.hf.model import HfClap
from humanclap.models.hf.vocab import tokenizer_for
from humanclap.models.transformers_compat import dtype_kwargs
from humanclap.utils import read_json_object

__all__ = ["load_folder", "load_repo", "released_base"]

_PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
#: Bytes to which torch's CPU allocator aligns tensors.
_ALIGNMENT = 64


def _read_settings(folder: Path) -> dict[str, Any]:
    """``humanclap.json`` of a folder written by :meth:`HfClap.save_pretrained` ({} if none)."""
    path = folder / SETTINGS_FILE
    settings = read_json_object(path)
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


def _own_memory(module: nn.Module) -> None:
    """Give every parameter and buffer that is not 64-byte aligned storage of its own.

    safetensors leaves the tensors in its memory map of the file, at whatever byte offsets they
    have there; the CPU kernels take other paths for unaligned data, so such a model's
    embeddings differ in the last bits from those of the model that was saved (one thread:
    ~2e-7). Copied, they are the same bit for bit, and the file is no longer held.
    """
    with torch.no_grad():
        for param in module.parameters():
            if param.data_ptr() % _ALIGNMENT:
                param.data = param.data.clone()
        for sub in module.modules():
            for name, buffer in sub.named_buffers(recurse=False):
                if buffer.data_ptr() % _ALIGNMENT:
                    setattr(sub, name, buffer.clone())


def _weights(folder: Path, config: Any) -> Any:
    """``ClapModel.from_pretrained(folder)`` (float32, local files only) in memory of its own
    (:func:`_own_memory`), in eval mode; ValueError when parameters are missing or have the
    wrong shape."""
    from transformers import ClapModel as TransformersClap  # lazy: transformers is slow

    clap, info = TransformersClap.from_pretrained(
        str(folder),
        config=config,
        local_files_only=True,
        output_loading_info=True,
        **dtype_kwargs(torch.float32),
    )
    params = {name for name, _ in clap.named_parameters()}
    missing = sorted(k for k in info.get("missing_keys", []) if k in params)
    mismatched = list(info.get("mismatched_keys", []))
    if missing or mismatched:
        raise ValueError(
            f"{folder}: weights do not fit the ClapModel of config.json (missing "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, wrong shape {mismatched[:5]})"
        )
    _own_memory(clap)
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


def _config_dict(source: Any, revision: str | None) -> tuple[dict[str, Any], str]:
    """``released_base``'s ``source`` -> (the ``config.json`` dict, a name for messages)."""
    if isinstance(source, HfClap):
        return source.clap.config.to_dict(), source.spec
    if isinstance(source, dict):
        return source, "config"
    if hasattr(source, "audio_config") and hasattr(source, "to_dict"):
        return source.to_dict(), "config"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "source: expected a ClapConfig, its dict, an HfClap, a folder or config.json, or "
            f"'hf:<folder>' / 'hf:<repo id>', got {type(source).__name__}"
        )
    text = os.fspath(source)
    text = text[len("hf:") :] if text.startswith("hf:") else text
    if text == "random" or text.startswith("random:"):
        raise ValueError(f"{source}: a random model was fine-tuned from nothing")
    path = Path(text).expanduser()
    if path.is_dir():
        path = path / "config.json"
    elif not path.exists() and is_repo_id(text):
        path = hub_config(text, revision)
    if not path.is_file():
        raise FileNotFoundError(f"{source}: no config.json there ({path})")
    return read_json_object(path), str(path)


def released_base(source: Any, *, revision: str | None = None) -> str:
    """The public model a released checkpoint (e.g. ``sarulab-speech/human-clap-wsce-mae``) was
    fine-tuned from, read off its ``config.json``: ``"hf:laion/clap-htsat-fused"`` when
    ``audio_config.enable_fusion`` is true, else ``"hf:laion/clap-htsat-unfused"``.

    Both bases share one architecture (HTS-AT tiny, roberta-base, D = 512) and differ only in
    fusion; a configuration whose parameter shapes differ from it matches neither.

    Parameters
    ----------
    source : ClapConfig, dict, HfClap, path-like or str
        A configuration (or ``config.json``'s dict), a model, a folder holding ``config.json``
        or the file itself, ``"hf:<folder>"``, or ``"hf:<repo id>"`` / ``"<repo id>"`` (only
        its ``config.json`` is read: from the local Hugging Face cache, or downloaded alone when
        online).
    revision : str, optional
        For a repository id: branch, tag or commit.

    Returns
    -------
    str
        A ``models.load`` spec of the base.

    Raises
    ------
    FileNotFoundError
        No ``config.json`` at that path; :class:`~humanclap.models.hf.HfModelNotFoundError` for
        a repository that is neither cached nor downloadable.
    ValueError
        Not a ClapModel's configuration, or one whose parameter shapes are not the bases'
        (each difference named).
    """
    config, name = _config_dict(source, revision)
    if config.get("model_type", "clap") != "clap":
        raise ValueError(f"{name}: model_type {config['model_type']!r}, not a ClapModel ('clap')")
    clap_config = as_clap_config(config)
    fusion = bool(clap_config.audio_config.enable_fusion)
    base = FUSED_REPO if fusion else UNFUSED_REPO
    differences = htsat_base_differences(clap_config)
    if differences:
        raise ValueError(
            f"{name}: not the architecture of {base} (enable_fusion={fusion}), so neither "
            f"laion/clap-htsat base fits: {'; '.join(differences)}"
        )
    return f"hf:{base}"
