"""The ``"laion"`` backend's builder: a ``"laion:..."`` spec -> :class:`LaionClap`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from humanclap.models.base import random_seed
from humanclap.models.laion.checkpoint import (
    CHECKPOINTS,
    LAION_REPO,
    laion_checkpoint_path,
    load_laion_checkpoint,
)
from humanclap.models.laion.model import LaionClap
from humanclap.models.registry import looks_like_path
from humanclap.models.tokenizer import roberta_tokenizer, tokenizer_vocab

__all__ = ["UnknownSpecError", "build"]


class UnknownSpecError(ValueError):
    """A ``"laion:..."`` spec that names no checkpoint, file or random form."""


def _random_model(spec: str, seed: int, amodel: str, fusion: bool, tokenizer: Any) -> LaionClap:
    """The architecture with random weights, initialised from ``seed`` (global RNG untouched)."""
    if tokenizer is None:
        tokenizer = roberta_tokenizer(allow_gpt2=True)
    arch = {"amodel": amodel, "fusion": fusion, "tokenizer": tokenizer_vocab(tokenizer)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LaionClap(
            arch, spec, provenance={"weights": "random", "seed": seed}, tokenizer=tokenizer
        )


def _released_model(spec: str, name: str, progress: bool | None) -> LaionClap:
    """``"laion:<name>"``: the released checkpoint, checked to hold the architecture it should."""
    path = laion_checkpoint_path(name, progress=progress)
    entry = CHECKPOINTS[name]
    model = load_laion_checkpoint(
        path, f"laion:{name}", provenance={"checkpoint": entry.filename, "repo": LAION_REPO}
    )
    arch = model.config["arch"]
    if (arch["amodel"], arch["fusion"]) != (entry.amodel, entry.fusion):
        raise ValueError(
            f"{path}: holds a {arch['amodel']} (fusion={arch['fusion']}) model, but "
            f"{entry.filename} is a {entry.amodel} (fusion={entry.fusion}) one: wrong file?"
        )
    return model


def build(spec: str, **kwargs: Any) -> LaionClap:
    """The ``"laion"`` backend's builder (see :mod:`humanclap.models.laion` for the spec forms).

    Keyword arguments: for ``"laion:random"``: ``seed`` (int, default 0), ``amodel``
    (default ``"HTSAT-tiny"``), ``fusion`` (default False), ``tokenizer`` (a transformers
    tokenizer, default :func:`~humanclap.models.tokenizer.roberta_tokenizer` with the GPT-2
    fallback); for named checkpoints: ``progress`` (download bar; None: when stderr is a terminal).

    Raises
    ------
    UnknownSpecError
        The spec names no checkpoint, file or random form.
    TypeError
        Options the spec's form does not take.
    """
    if not spec.startswith("laion:") or spec == "laion:":
        raise UnknownSpecError("expected 'laion:<name>', 'laion:random' or 'laion:<path>'")
    rest = spec[len("laion:") :]
    if rest == "random" or rest.startswith("random:"):
        seed = random_seed(spec, rest.split(":"), kwargs, UnknownSpecError)
        amodel = kwargs.pop("amodel", "HTSAT-tiny")
        fusion = bool(kwargs.pop("fusion", False))
        tokenizer = kwargs.pop("tokenizer", None)
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        return _random_model(spec, int(seed or 0), amodel, fusion, tokenizer)
    name = rest.removesuffix(".pt")
    if name in CHECKPOINTS:
        progress = kwargs.pop("progress", None)
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        return _released_model(spec, name, progress)
    if kwargs:
        raise TypeError(f"load({spec!r}): a checkpoint file takes no options, got {sorted(kwargs)}")
    if looks_like_path(rest):
        return load_laion_checkpoint(Path(rest).expanduser(), spec)
    raise UnknownSpecError(
        f"unknown LAION-CLAP checkpoint {rest!r} (known names: {', '.join(sorted(CHECKPOINTS))})"
    )
