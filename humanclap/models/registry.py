"""The backend registry: how a spec or a file becomes a :class:`~humanclap.models.base.ClapModel`.

A backend registers itself with :func:`register_backend` (its spec prefix, the spec forms shown in
error messages, a builder, the model class that rebuilds its checkpoints and, optionally, its own
checkpoint file format); :func:`load` dispatches a spec on its prefix and a path to
:func:`load_checkpoint`. The registry knows no backend: :mod:`humanclap.models.backends` registers
the tiny, LAION-CLAP and transformers ones. Pre-trained models that need more than model code
(data, training) are found through :func:`pretrained_builder` (the ``humanclap.pretrained``
entry points, or :func:`register_pretrained`).
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from humanclap.models.base import ClapModel
from humanclap.models.checkpoint import (
    UnsafeCheckpointError,
    is_model_checkpoint,
    load_weights_only,
)

__all__ = [
    "BACKENDS",
    "CHECKPOINT_SUFFIXES",
    "PRETRAINED",
    "PRETRAINED_GROUP",
    "Backend",
    "load",
    "load_checkpoint",
    "looks_like_path",
    "pretrained_builder",
    "register_backend",
    "register_pretrained",
    "unknown_spec",
    "valid_spec_forms",
]

#: File name endings that make a spec string a path.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")


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
        Return the class whose :meth:`ClapModel.from_checkpoint` rebuilds saved models.
    native_format : callable ``(obj) -> bool``, optional
        True for the content of a file in the backend's own checkpoint format (e.g.
        LAION-CLAP's), read with :func:`~humanclap.models.checkpoint.load_weights_only`.
    load_native : callable ``(path, obj) -> ClapModel``, optional
        Build the model from such a file (``obj``: its content, already read).
    """

    prefix: str
    forms: tuple[str, ...]
    build: Callable[..., ClapModel]
    model_class: Callable[[], type[ClapModel]]
    native_format: Callable[[Any], bool] | None = None
    load_native: Callable[[Path, Any], ClapModel] | None = None


#: Registered backends by spec prefix.
BACKENDS: dict[str, Backend] = {}


def register_backend(
    prefix: str,
    forms: tuple[str, ...] | list[str],
    build: Callable[..., ClapModel],
    model_class: Callable[[], type[ClapModel]],
    *,
    native_format: Callable[[Any], bool] | None = None,
    load_native: Callable[[Path, Any], ClapModel] | None = None,
    replace: bool = False,
) -> Backend:
    """Add a backend to :data:`BACKENDS` (``replace=True`` to overwrite an existing prefix).

    See :class:`Backend` for the arguments; ``native_format`` and ``load_native`` go together.
    """
    if not prefix or ":" in prefix:
        raise ValueError(f"prefix: expected a non-empty name without ':', got {prefix!r}")
    if prefix in BACKENDS and not replace:
        raise ValueError(f"prefix: backend {prefix!r} is already registered")
    if (native_format is None) != (load_native is None):
        raise ValueError("native_format and load_native: give both or neither")
    backend = Backend(prefix, tuple(forms), build, model_class, native_format, load_native)
    BACKENDS[prefix] = backend
    return backend


# ----------------------------------------------------------------------------- pre-trained
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


# ----------------------------------------------------------------------------- specs
def valid_spec_forms() -> list[str]:
    """All spec forms understood by :func:`load`, for messages."""
    forms = [form for backend in BACKENDS.values() for form in backend.forms]
    forms.append("<path to a file written by ClapModel.save> (any backend)")
    return forms


def unknown_spec(spec: object, why: str) -> ValueError:
    """The error for a spec :func:`load` does not understand: ``why``, then the valid forms."""
    listing = "\n  ".join(valid_spec_forms())
    return ValueError(f"spec {spec!r}: {why}. Valid forms:\n  {listing}")


def looks_like_path(spec: str | os.PathLike) -> bool:
    """Whether a spec names a file: a path-like, a string with a path separator or a checkpoint
    suffix (:data:`CHECKPOINT_SUFFIXES`), or the name of an existing file."""
    if isinstance(spec, os.PathLike):
        return True
    return (
        spec.lower().endswith(CHECKPOINT_SUFFIXES)
        or os.sep in spec
        or (os.altsep is not None and os.altsep in spec)
        or Path(spec).is_file()
    )


# ----------------------------------------------------------------------------- loading
def _load_native(path: Path, ckpt: Any) -> ClapModel:
    """A file in a backend's own format (:attr:`Backend.native_format`), or ValueError."""
    for backend in BACKENDS.values():
        if backend.native_format is not None and backend.native_format(ckpt):
            return backend.load_native(path, ckpt)
    keys = sorted(map(str, ckpt))[:10] if isinstance(ckpt, dict) else type(ckpt).__name__
    native = [b.prefix for b in BACKENDS.values() if b.native_format is not None]
    raise ValueError(
        f"{path}: expected a dict with 'spec', 'config', 'state_dict' (ClapModel.save) or a "
        f"checkpoint in a backend's own format ({', '.join(native) or 'none registered'}); "
        f"got {keys}"
    )


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> ClapModel:
    """Rebuild a model saved with :meth:`ClapModel.save` (dispatching on its ``spec``), or one in
    a backend's own checkpoint format (LAION-CLAP's ``{"state_dict": ...}`` / a bare state dict).

    Parameters
    ----------
    path : path-like
    device : str or torch.device

    Returns
    -------
    ClapModel
        In eval mode on ``device``.

    Raises
    ------
    FileNotFoundError
    ValueError
        Refused or unreadable by :func:`~humanclap.models.checkpoint.load_weights_only` (pickled
        code: :class:`~humanclap.models.checkpoint.UnsafeCheckpointError`, naming the global),
        an unknown format or backend, or weights that do not fit; names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:  # tensors, dicts and numpy numbers only; no code from the file runs
        ckpt = load_weights_only(path)
    except UnsafeCheckpointError:
        raise  # names the path and the refused global already
    except ValueError as err:
        raise ValueError(f"{path}: not a readable model checkpoint ({err})") from err
    if not is_model_checkpoint(ckpt):
        return _load_native(path, ckpt).to(device).eval()
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
    """Load a CLAP model by spec (see :mod:`humanclap.models` for the forms), in eval mode on
    ``device``.

    Parameters
    ----------
    spec : str or path-like
        ``"tiny"``, ``"tiny:random"``, ``"tiny:random:<seed>"``, ``"laion:<name>"``,
        ``"laion:random[:<seed>]"``, ``"laion:<path>"``, ``"hf:<repo id>"``, ``"hf:<folder>"``,
        ``"hf:random[:<seed>]"``, or a model file (``ClapModel.save`` or LAION-CLAP's format).
        A string starting with a backend prefix and ``:`` that is not an existing file goes to
        that backend.
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
        isinstance(spec, os.PathLike) or (isinstance(spec, str) and looks_like_path(spec))
    ):
        if kwargs:
            raise TypeError(f"load({spec!r}): a saved model takes no options, got {sorted(kwargs)}")
        return load_checkpoint(spec, device)
    if not isinstance(spec, str) or not spec:
        raise unknown_spec(spec, "expected a non-empty string or a path")
    prefix = spec.split(":", 1)[0]
    if prefix not in BACKENDS:
        raise unknown_spec(spec, f"unknown backend {prefix!r}")
    model = BACKENDS[prefix].build(spec, **kwargs)
    return model.to(device).eval()
