"""CLAP models behind one interface (:class:`ClapModel`), loaded by spec with :func:`load`.

Specs
-----
``"tiny"``
    The tiny CLAP pre-trained on the embedded synthetic world (trained on first use, then
    cached; ``load("tiny", world=root)`` names another world). See :mod:`humanclap.models.tiny`.
``"tiny:random"`` / ``"tiny:random:<seed>"``
    The same architecture, untrained, initialised deterministically from ``seed`` (default 0,
    or ``load("tiny:random", seed=3)``).
``"laion:<name>"``, ``"laion:random[:<seed>]"``, ``"laion:<path>"``
    LAION-CLAP (laion_clap 1.1.7): released checkpoints, random weights, checkpoint files. See
    :mod:`humanclap.models.laion`.
``"hf:<repo id>"``, ``"hf:<folder>"``, ``"hf:random"`` / ``"hf:random:<seed>"``
    transformers' ``ClapModel`` (e.g. the Human-CLAP fine-tunes ``sarulab-speech/human-clap-*``),
    ``save_pretrained`` folders, or random weights. See :mod:`humanclap.models.hf`.
a path (``str`` or :class:`~pathlib.Path`) to a file written by :meth:`ClapModel.save`
    Any backend: the saved ``spec`` says which one rebuilds it. A file in LAION-CLAP's own
    checkpoint format loads as a ``"laion"`` model.

Backends register themselves in :data:`BACKENDS` with :func:`register_backend` (prefix, the spec
forms shown in error messages, a builder, and a lazy accessor for the model class used to
rebuild checkpoints). Heavy dependencies (laion_clap, transformers) are imported only when a
backend is used.
"""

from __future__ import annotations

import importlib.metadata
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from humanclap import similarity
from humanclap.models.base import (
    ClapModel,
    pad_or_crop,
    random_seed,
    stable_hash,
)

__all__ = [
    "BACKENDS",
    "PRETRAINED",
    "pretrained_builder",
    "register_pretrained",
    "Backend",
    "ClapModel",
    "load",
    "load_checkpoint",
    "pad_or_crop",
    "register_backend",
    "stable_hash",
    "valid_spec_forms",
]

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


@dataclass(frozen=True)
class Backend:
    """One model family.

    Attributes
    ----------
    prefix : str
        The part of a spec before the first ``:`` (``"tiny"``, ``"laion"``, ``"hf"``).
    forms : tuple of str
        Spec forms with a short description, listed when a spec is not understood.
    build : callable ``(spec: str, **kwargs) -> ClapModel``
        Make the model a spec names (on CPU; :func:`load` moves it).
    model_class : callable ``() -> type[ClapModel]``
        Return the class whose :meth:`ClapModel.from_checkpoint` rebuilds saved models (a
        function, so the backend's module is imported only when needed).
    """

    prefix: str
    forms: tuple[str, ...]
    build: Callable[..., ClapModel]
    model_class: Callable[[], type[ClapModel]]


#: Registered backends by spec prefix.
BACKENDS: dict[str, Backend] = {}


def register_backend(
    prefix: str,
    forms: tuple[str, ...] | list[str],
    build: Callable[..., ClapModel],
    model_class: Callable[[], type[ClapModel]],
    *,
    replace: bool = False,
) -> Backend:
    """Add a backend to :data:`BACKENDS` (``replace=True`` to overwrite an existing prefix)."""
    if not prefix or ":" in prefix:
        raise ValueError(f"prefix: expected a non-empty name without ':', got {prefix!r}")
    if prefix in BACKENDS and not replace:
        raise ValueError(f"prefix: backend {prefix!r} is already registered")
    backend = Backend(prefix, tuple(forms), build, model_class)
    BACKENDS[prefix] = backend
    return backend


#: Builders of pre-trained models that need more than the model code (data, training), by
#: spec: filled by :func:`register_pretrained` or from the ``humanclap.pretrained`` entry points.
PRETRAINED: dict[str, Callable[..., ClapModel]] = {}
PRETRAINED_GROUP = "humanclap.pretrained"


def register_pretrained(name: str, build: Callable[..., ClapModel]) -> None:
    """Make ``load(name)`` call ``build(**kwargs)`` (e.g. ``"tiny"``, see :mod:`humanclap.pretrained`)."""
    PRETRAINED[name] = build


def pretrained_builder(name: str) -> Callable[..., ClapModel]:
    """The builder registered for ``name``, looked up in the ``humanclap.pretrained`` entry
    points on first use (a package declares it in its ``pyproject.toml``)."""
    if name not in PRETRAINED:
        for point in importlib.metadata.entry_points(group=PRETRAINED_GROUP, name=name):
            PRETRAINED[name] = point.load()
    if name not in PRETRAINED:
        raise LookupError(
            f"load({name!r}): no pre-trained model {name!r} is registered (its entry point in "
            f"the {PRETRAINED_GROUP!r} group is missing: is humanclap installed, e.g. "
            "`pip install -e .`?)"
        )
    return PRETRAINED[name]


def valid_spec_forms() -> list[str]:
    """All spec forms understood by :func:`load`, for messages."""
    forms = [form for backend in BACKENDS.values() for form in backend.forms]
    forms.append("<path to a file written by ClapModel.save> (any backend)")
    return forms


def _unknown_spec(spec: object, why: str) -> ValueError:
    listing = "\n  ".join(valid_spec_forms())
    return ValueError(f"spec {spec!r}: {why}. Valid forms:\n  {listing}")


def _looks_like_path(spec: str | os.PathLike) -> bool:
    if isinstance(spec, os.PathLike):
        return True
    return (
        spec.lower().endswith(_CHECKPOINT_SUFFIXES)
        or os.sep in spec
        or (os.altsep is not None and os.altsep in spec)
        or Path(spec).is_file()
    )


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> ClapModel:
    """Rebuild a model saved with :meth:`ClapModel.save` (dispatching on its ``spec``), or one in
    LAION-CLAP's own checkpoint format (``{"state_dict": ...}`` / a bare state dict)."""
    from humanclap.models import laion

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:  # torch.load(weights_only=True), numpy scalars allowed (LAION's optimiser state)
        ckpt = laion.load_weights_only(path)
    except ValueError as err:
        raise ValueError(f"{path}: not a readable model checkpoint ({err})") from err
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in ("spec", "config", "state_dict")):
        if laion.is_laion_checkpoint(ckpt):  # LAION-CLAP's own format
            return laion.load_laion_checkpoint(path, checkpoint=ckpt).to(device).eval()
        keys = sorted(map(str, ckpt))[:10] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(
            f"{path}: expected a dict with 'spec', 'config', 'state_dict' (ClapModel.save) or a "
            f"LAION-CLAP checkpoint; got {keys}"
        )
    spec = ckpt["spec"]
    prefix = str(spec).split(":", 1)[0]
    if prefix not in BACKENDS:
        raise ValueError(
            f"{path}: saved spec {spec!r} names no registered backend (known: {sorted(BACKENDS)})"
        )
    cls = BACKENDS[prefix].model_class()
    try:
        model = cls.from_checkpoint(spec, ckpt["config"], ckpt["state_dict"])
    except (RuntimeError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path}: cannot rebuild the {prefix!r} model ({err})") from err
    return model.to(device).eval()


def load(spec: str | os.PathLike, device: str | torch.device = "cpu", **kwargs: Any) -> ClapModel:
    """Load a CLAP model by spec (see the module doc for the forms), in eval mode on ``device``.

    Parameters
    ----------
    spec : str or path-like
        ``"tiny"``, ``"tiny:random"``, ``"tiny:random:<seed>"``, ``"laion:<name>"``,
        ``"laion:random[:<seed>]"``, ``"laion:<path>"``, or a model file (``ClapModel.save`` or
        LAION-CLAP's format). A string starting with a backend prefix and ``:`` that is not an
        existing file goes to that backend.
    device : str or torch.device
    **kwargs
        Passed to the backend's builder, e.g. ``world=`` / ``cache_dir=`` / ``progress=`` for
        ``"tiny"``, ``seed=`` / ``config=`` for ``"tiny:random"``, ``seed=`` / ``amodel=`` /
        ``fusion=`` / ``tokenizer=`` for ``"laion:random"``, ``progress=`` for ``"laion:<name>"``.

    Raises
    ------
    ValueError
        The spec is not understood (the message lists the valid forms).
    FileNotFoundError
        The spec is a path and the file does not exist.
    """
    prefix = spec.split(":", 1)[0] if isinstance(spec, str) and ":" in spec else None
    backend_spec = prefix in BACKENDS and not Path(spec).exists()  # "laion:/x/ckpt.pt"
    if not backend_spec and (
        isinstance(spec, os.PathLike) or (isinstance(spec, str) and _looks_like_path(spec))
    ):
        if kwargs:
            raise TypeError(f"load({spec!r}): a saved model takes no options, got {sorted(kwargs)}")
        return load_checkpoint(spec, device)
    if not isinstance(spec, str) or not spec:
        raise _unknown_spec(spec, "expected a non-empty string or a path")
    prefix = spec.split(":", 1)[0]
    if prefix not in BACKENDS:
        raise _unknown_spec(spec, f"unknown backend {prefix!r}")
    model = BACKENDS[prefix].build(spec, **kwargs)
    return model.to(device).eval()


# ----------------------------------------------------------------------------- tiny backend
def _tiny_class() -> type[ClapModel]:
    from humanclap.models.tiny import TinyClap

    return TinyClap


def _build_tiny(spec: str, **kwargs: Any) -> ClapModel:
    from dataclasses import replace

    from humanclap.models import tiny

    parts = spec.split(":")
    if parts == ["tiny"]:
        return pretrained_builder("tiny")(**kwargs)
    if len(parts) in (2, 3) and parts[1] == "random":
        config = kwargs.pop("config", None) or tiny.TinyConfig()
        seed = random_seed(spec, parts[1:], kwargs, lambda why: _unknown_spec(spec, why))
        if kwargs:
            raise TypeError(f"load({spec!r}): unexpected option(s) {sorted(kwargs)}")
        if seed is not None:
            config = replace(config, init_seed=int(seed))
        return tiny.TinyClap(config, spec=spec)
    raise _unknown_spec(spec, "not a tiny form")


register_backend(
    "tiny",
    (
        "'tiny': the tiny CLAP pre-trained on the embedded synthetic world (cached; world=...)",
        "'tiny:random' or 'tiny:random:<seed>': the tiny architecture, untrained",
    ),
    _build_tiny,
    _tiny_class,
)


# ----------------------------------------------------------------------------- laion backend
def _laion_class() -> type[ClapModel]:
    from humanclap.models.laion import LaionClap

    return LaionClap


def _build_laion(spec: str, **kwargs: Any) -> ClapModel:
    from humanclap.models import laion

    try:
        return laion.build(spec, **kwargs)
    except laion.UnknownSpecError as err:
        raise _unknown_spec(spec, str(err)) from None


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
    _laion_class,
)


# ----------------------------------------------------------------------------- hf backend
def _hf_class() -> type[ClapModel]:
    from humanclap.models.hf import HfClap

    return HfClap


def _build_hf(spec: str, **kwargs: Any) -> ClapModel:
    from humanclap.models import hf

    try:
        return hf.build(spec, **kwargs)
    except hf.UnknownSpecError as err:
        raise _unknown_spec(spec, str(err)) from None


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
    _hf_class,
)


# ----------------------------------------------------------------------------- deprecated names
_MOVED = {"retrieval_at_k": ("humanclap.similarity", similarity.retrieval_at_k)}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        where, obj = _MOVED[name]
        warnings.warn(
            f"humanclap.models.{name} is deprecated: use {where}.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return obj
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
