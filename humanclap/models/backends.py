"""The one place where the built-in backends register themselves with
:func:`humanclap.models.registry.register_backend`: ``"tiny"``
(:mod:`~humanclap.models.tiny`), ``"laion"`` (:mod:`~humanclap.models.laion`) and ``"hf"``
(:mod:`~humanclap.models.hf`). Imported by :mod:`humanclap.models`; importing the backends is
cheap (laion_clap and transformers are imported only when a model is built)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from humanclap.models import hf, laion
from humanclap.models.base import ClapModel, random_seed
from humanclap.models.registry import pretrained_builder, register_backend, unknown_spec
from humanclap.models.tiny import TinyClap, TinyConfig

__all__: list[str] = []


# ----------------------------------------------------------------------------- tiny
def _build_tiny(spec: str, **kwargs: Any) -> ClapModel:
    """``"tiny"`` (the pre-trained model, see :mod:`humanclap.pretrained`) or
    ``"tiny:random[:<seed>]"`` (options ``seed``, ``config``: a :class:`TinyConfig`)."""
    parts = spec.split(":")
    if parts == ["tiny"]:
        return pretrained_builder("tiny")(**kwargs)
    if len(parts) in (2, 3) and parts[1] == "random":
        config = kwargs.pop("config", None) or TinyConfig()
        seed = random_seed(spec, parts[1:], kwargs, lambda why: unknown_spec(spec, why))
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        if seed is not None:
            config = replace(config, init_seed=int(seed))
        return TinyClap(config, spec=spec)
    raise unknown_spec(spec, "not a tiny form")


register_backend(
    "tiny",
    (
        "'tiny': the tiny CLAP pre-trained on the embedded synthetic world (cached; world=...)",
        "'tiny:random' or 'tiny:random:<seed>': the tiny architecture, untrained",
    ),
    _build_tiny,
    lambda: TinyClap,
)


# ----------------------------------------------------------------------------- laion
def _build_laion(spec: str, **kwargs: Any) -> ClapModel:
    try:
        return laion.build(spec, **kwargs)
    except laion.UnknownSpecError as err:
        raise unknown_spec(spec, str(err)) from None


def _load_laion_file(path: Path, checkpoint: Any) -> ClapModel:
    return laion.load_laion_checkpoint(path, checkpoint=checkpoint)


register_backend(
    "laion",
    (
        "'laion:<name>': a released LAION-CLAP checkpoint, e.g. 'laion:630k-audioset-best' "
        "(looked for in $HUMANCLAP_LAION_DIR and <cache>/laion, downloaded when online)",
        "'laion:random' or 'laion:random:<seed>': LAION-CLAP's architecture, untrained "
        "(amodel=..., fusion=...)",
        "'laion:<path>' or <path>: a checkpoint in LAION-CLAP's format",
    ),
    _build_laion,
    lambda: laion.LaionClap,
    native_format=laion.is_laion_checkpoint,
    load_native=_load_laion_file,
)


# ----------------------------------------------------------------------------- hf
def _build_hf(spec: str, **kwargs: Any) -> ClapModel:
    try:
        return hf.build(spec, **kwargs)
    except hf.UnknownSpecError as err:
        raise unknown_spec(spec, str(err)) from None


register_backend(
    "hf",
    (
        "'hf:<repo id>': a transformers ClapModel on the Hugging Face hub, e.g. "
        "'hf:sarulab-speech/human-clap-wsce-mae' (local HF cache first, downloaded when online)",
        "'hf:<folder>': a save_pretrained folder (HfClap.save_pretrained or transformers')",
        "'hf:random' or 'hf:random:<seed>': transformers' ClapModel (clap-htsat-fused "
        "architecture), untrained (config=..., fusion=...)",
    ),
    _build_hf,
    lambda: hf.HfClap,
)
