"""The ``"hf"`` backend's builder: a ``"hf:..."`` spec -> :class:`~humanclap.models.hf.HfClap`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from humanclap.models.base import random_seed
from humanclap.models.hf.config import (
    as_clap_config,
    check_clap_config,
    default_feature_settings,
    make_feature_extractor,
    random_config,
)
from humanclap.models.hf.folder import load_folder, load_repo
from humanclap.models.hf.hub import is_repo_id
from humanclap.models.hf.model import HfClap
from humanclap.models.tokenizer import roberta_tokenizer

__all__ = ["UnknownSpecError", "build"]


class UnknownSpecError(ValueError):
    """A ``"hf:..."`` spec that names no repository, folder or random form."""


def _random_model(
    spec: str,
    seed: int,
    config: Any,
    fusion: bool | None,
    tokenizer: Any,
    options: dict[str, Any],
) -> HfClap:
    """``ClapModel(config)`` initialised from ``seed`` (the global RNG is left untouched)."""
    from transformers import ClapModel as TransformersClap  # lazy: transformers is slow

    if config is None:
        config = random_config(True if fusion is None else fusion)
    else:
        config = as_clap_config(config)
        enabled = bool(config.audio_config.enable_fusion)
        if fusion is not None and bool(fusion) != enabled:
            raise ValueError(f"fusion={fusion} contradicts config (enable_fusion={enabled})")
    check_clap_config(config)
    if tokenizer is None:
        tokenizer = roberta_tokenizer(allow_gpt2=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clap = TransformersClap(config).eval()
    fe = make_feature_extractor(default_feature_settings(bool(config.audio_config.enable_fusion)))
    return HfClap(
        clap, fe, tokenizer, spec, provenance={"weights": "random", "seed": seed}, **options
    )


def _build_random(spec: str, rest: str, kwargs: dict[str, Any], options: dict[str, Any]) -> HfClap:
    """``"hf:random[:<seed>]"`` with ``seed``, ``config``, ``fusion``, ``tokenizer`` options."""
    seed = random_seed(spec, rest.split(":"), kwargs, UnknownSpecError)
    config = kwargs.pop("config", None)
    fusion = kwargs.pop("fusion", None)
    tokenizer = kwargs.pop("tokenizer", None)
    if kwargs:
        raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
    return _random_model(spec, int(seed or 0), config, fusion, tokenizer, options)


def build(spec: str, **kwargs: Any) -> HfClap:
    """The ``"hf"`` backend's builder (see :mod:`humanclap.models.hf` for the spec forms).

    Keyword arguments, all forms: ``fuse_short_clips`` (bool; default True, or the folder's
    ``humanclap.json``), ``max_text_tokens`` (int). ``"hf:random[:<seed>]"``: ``seed`` (int,
    default 0), ``config`` (``ClapConfig`` or dict; default ``ClapConfig()`` with fusion),
    ``fusion`` (bool, default True), ``tokenizer`` (a transformers tokenizer). ``"hf:<repo id>"``:
    ``revision`` (branch, tag or commit).

    Raises
    ------
    UnknownSpecError
        The spec names no repository, folder or random form.
    FileNotFoundError
        A path that is not a folder.
    TypeError
        Options the spec's form does not take.
    """
    if not spec.startswith("hf:") or spec == "hf:":
        raise UnknownSpecError("expected 'hf:<repo id>', 'hf:<folder>' or 'hf:random[:<seed>]'")
    rest = spec[len("hf:") :]
    options = {k: kwargs.pop(k) for k in ("fuse_short_clips", "max_text_tokens") if k in kwargs}
    if rest == "random" or rest.startswith("random:"):
        return _build_random(spec, rest, kwargs, options)
    path = Path(rest).expanduser()
    if path.is_dir():
        if kwargs:
            raise TypeError(f"load({spec!r}): a folder takes no option(s) {sorted(kwargs)}")
        return load_folder(path, spec, **options)
    if path.exists() or rest.startswith((".", "/", "~")) or (os.altsep and os.altsep in rest):
        raise FileNotFoundError(
            f"{spec}: {rest} is not a folder (expected a save_pretrained folder or a hub "
            "repository id such as 'sarulab-speech/human-clap-wsce-mae')"
        )
    if not is_repo_id(rest):
        raise UnknownSpecError(f"{rest!r} is neither a folder nor a hub repository id")
    revision = kwargs.pop("revision", None)
    if kwargs:
        raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
    return load_repo(rest, revision=revision, **options)
