"""Model checkpoint files: what :meth:`~humanclap.models.base.ClapModel.save` writes, and the one
safe reader of checkpoint files.

A checkpoint written by ``ClapModel.save`` is a dict ``{"spec", "config", "state_dict"}`` (see
:data:`CHECKPOINT_KEYS`) of CPU tensors and primitive types, written atomically with
``torch.save``. Every checkpoint file humanclap reads, its own or another format (LAION-CLAP's),
goes through :func:`load_weights_only`, which runs no code from the file:

- a ``.safetensors`` file (or one whose bytes are a safetensors header) is read with
  ``safetensors.torch.load_file``;
- a torch file (zip format, or the legacy pickle format) is read by ``torch.load`` with a
  restricted unpickler (:func:`restricted_pickle_module`) whose ``find_class`` hands out only
  the globals of :func:`allowed_globals`: torch's tensor rebuild functions, storage types and
  dtypes, ``torch.device``, ``collections.OrderedDict`` and numpy's scalar, dtype and array
  constructors (under ``numpy.core`` and ``numpy._core``, the names numpy 1.x and 2.x write).
  Any other global (a function, a class of pickled objects) raises
  :class:`UnsafeCheckpointError` naming the file and the global before anything runs. Unlike
  ``torch.load(weights_only=True)`` this reads every pickle protocol (LAION's released files
  are protocol 4);
- TorchScript archives (they hold code) and torch's pre-1.0 tar format are refused.

Which backend rebuilds a file is decided by :func:`humanclap.models.registry.load_checkpoint`.
"""

from __future__ import annotations

import _compat_pickle
import collections
import copy
import functools
import os
import pickle
import tarfile
import types
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import Tensor

from humanclap.utils import atomic_torch_save

try:  # numpy >= 2 (numpy 1.26 has a stub numpy._core.multiarray too)
    from numpy._core import multiarray as _np_multiarray
except ImportError:  # numpy < 1.26
    from numpy.core import multiarray as _np_multiarray
try:  # numpy >= 2
    from numpy._core.numeric import _frombuffer as _np_frombuffer
except ImportError:  # numpy < 2: not in the numpy._core stub
    from numpy.core.numeric import _frombuffer as _np_frombuffer

__all__ = [
    "CHECKPOINT_KEYS",
    "UnsafeCheckpointError",
    "allowed_globals",
    "checkpoint_dict",
    "is_model_checkpoint",
    "load_weights_only",
    "restricted_pickle_module",
    "save_checkpoint",
]

#: Keys of a checkpoint written by :meth:`ClapModel.save` (values: tensors and primitives).
CHECKPOINT_KEYS: tuple[str, ...] = ("spec", "config", "state_dict")

_SAFETENSORS_SUFFIX = ".safetensors"


class UnsafeCheckpointError(ValueError):
    """A checkpoint's pickle names a global (function or class) outside :func:`allowed_globals`;
    nothing of it was run."""


def checkpoint_dict(
    spec: str, config: dict[str, Any], state_dict: dict[str, Tensor]
) -> dict[str, Any]:
    """The dict :meth:`ClapModel.save` writes.

    Parameters
    ----------
    spec : str
        How the model was obtained; :func:`humanclap.models.load` dispatches on its prefix.
    config : dict
        The model's :attr:`~ClapModel.config` (primitives only).
    state_dict : dict of str to Tensor
        The model's weights; copied to the CPU, detached.

    Returns
    -------
    dict
        ``{"spec": spec, "config": config, "state_dict": {name: CPU tensor}}``.
    """
    return {
        "spec": spec,
        "config": config,
        "state_dict": {k: v.detach().to("cpu").clone() for k, v in state_dict.items()},
    }


def save_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``checkpoint`` (from :func:`checkpoint_dict`) to ``path`` atomically; return ``path``.

    The file is readable with :func:`load_weights_only` and ``torch.load(path,
    weights_only=True)``.
    """
    return atomic_torch_save(checkpoint, path)


def is_model_checkpoint(obj: Any) -> bool:
    """True for a dict holding all of :data:`CHECKPOINT_KEYS` (a ``ClapModel.save`` file)."""
    return isinstance(obj, dict) and all(key in obj for key in CHECKPOINT_KEYS)


# ----------------------------------------------------------------------------- the allowlist
def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as pickle protocol 2 uses it for ``bytes`` (latin-1 text only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode: only latin-1 text, got {encoding!r}")
    return text.encode("latin1")


def _numpy_dtype(obj: Any, align: bool = False, _copy: bool = True) -> np.dtype:
    """``numpy.dtype`` as numpy pickles it, always a copy (state is set on it afterwards)."""
    return np.dtype(obj, bool(align), True)


@functools.cache
def allowed_globals() -> types.MappingProxyType[str, Any]:
    """The globals a checkpoint may name, by ``"module.name"``: what a state dict, an optimiser
    state and numpy numbers need, and nothing else.

    Returns
    -------
    mapping of str to object
        Read-only. torch: ``torch._utils._rebuild_tensor``, ``_rebuild_tensor_v2``,
        ``_rebuild_tensor_v3``, ``_rebuild_parameter``; the storage types
        ``torch.<Name>Storage`` and ``torch.storage.UntypedStorage`` (as
        :class:`torch.serialization.StorageType`, which only carries a dtype); every
        ``torch.<dtype>``; ``torch.device``.
        ``collections.OrderedDict``. ``_codecs.encode`` (latin-1 text to bytes only: pickle
        protocol 2's ``bytes``). numpy: ``numpy.dtype`` (always a copy), ``numpy.ndarray``,
        and ``multiarray.scalar``, ``multiarray._reconstruct``, ``numeric._frombuffer`` under
        both ``numpy.core`` (numpy 1.x files) and ``numpy._core`` (numpy 2 files), mapped to
        the functions of the numpy installed.
    """
    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "_codecs.encode": _latin1_bytes,
        "torch.device": torch.device,
        "torch.storage.UntypedStorage": torch.serialization.StorageType("ByteStorage"),
        "numpy.dtype": _numpy_dtype,
        "numpy.ndarray": np.ndarray,
    }
    for rebuild in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3"):
        allowed[f"torch._utils.{rebuild}"] = getattr(torch._utils, rebuild)
    allowed["torch._utils._rebuild_parameter"] = torch._utils._rebuild_parameter
    for name, value in vars(torch).items():
        if isinstance(value, torch.dtype):
            allowed[f"torch.{name}"] = value
        elif name.endswith("Storage") and name not in ("TypedStorage", "UntypedStorage"):
            try:  # the legacy typed storages: FloatStorage, LongStorage, ...
                allowed[f"torch.{name}"] = torch.serialization.StorageType(name)
            except KeyError:
                pass
    for numpy_core in ("numpy.core", "numpy._core"):
        allowed[f"{numpy_core}.multiarray.scalar"] = _np_multiarray.scalar
        allowed[f"{numpy_core}.multiarray._reconstruct"] = _np_multiarray._reconstruct
        allowed[f"{numpy_core}.numeric._frombuffer"] = _np_frombuffer
    return types.MappingProxyType(allowed)


def _fresh(obj: Any) -> Any:
    """What ``find_class`` hands out for an allowed global: immutable objects (C types, builtin
    functions, dtypes) as they are; Python functions and storage types as a new object, so that
    a pickle's BUILD instruction cannot change torch's, numpy's or humanclap's own."""
    if isinstance(obj, types.FunctionType):
        return functools.partial(obj)
    if isinstance(obj, torch.serialization.StorageType):
        return copy.copy(obj)
    return obj


# ----------------------------------------------------------------------------- the unpickler
class _RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that finds only :func:`allowed_globals`; ``source`` (the file) is
    named in its errors. Persistent ids (torch's storages) are resolved by ``torch.load``."""

    source = "<checkpoint>"

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names (protocols 0-2)
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        allowed = allowed_globals().get(f"{module}.{name}")
        if allowed is None:
            raise UnsafeCheckpointError(
                f"{self.source}: refuses to load the global {module}.{name} (only tensors, "
                "numpy scalars and dicts are allowed); the file may be unsafe"
            )
        return _fresh(allowed)


def restricted_pickle_module(source: str | os.PathLike = "<checkpoint>") -> types.ModuleType:
    """A module-like object for ``torch.load(..., pickle_module=...)``: ``Unpickler`` (finds only
    :func:`allowed_globals`, naming ``source`` in its errors) and ``load``.

    Parameters
    ----------
    source : str or path-like
        The file read, for messages.

    Returns
    -------
    module
        With ``Unpickler`` (a ``pickle.Unpickler`` subclass; torch subclasses it and sets its
        ``persistent_load``) and ``load(file, **kwargs)``.
    """
    unpickler = type("Unpickler", (_RestrictedUnpickler,), {"source": str(source)})

    def load(file: BinaryIO, **kwargs: Any) -> Any:
        return unpickler(file, **kwargs).load()

    module = types.ModuleType("humanclap_restricted_pickle")
    module.Unpickler = unpickler
    module.load = load
    return module


# ----------------------------------------------------------------------------- reading
def _is_safetensors(path: Path) -> bool:
    """A ``.safetensors`` name, or bytes that start like one (header length, then ``{``)."""
    if path.suffix.lower() == _SAFETENSORS_SUFFIX:
        return True
    with open(path, "rb") as handle:
        head = handle.read(9)
    return (
        len(head) == 9
        and head[8:9] == b"{"
        and int.from_bytes(head[:8], "little") < path.stat().st_size
    )


def _load_safetensors(path: Path) -> dict[str, Tensor]:
    """The state dict of a safetensors file, on the CPU."""
    try:
        import safetensors.torch  # lazy: optional (comes with transformers), .safetensors only
    except ImportError as err:
        raise ImportError(
            f"{path}: reading .safetensors files needs the safetensors package "
            "(pip install safetensors; it comes with transformers)"
        ) from err
    try:
        return safetensors.torch.load_file(str(path), device="cpu")
    except Exception as err:  # safetensors' own SafetensorError, OSError, ...
        raise ValueError(f"{path}: not a readable safetensors file ({err})") from err


def _refuse_code_archives(path: Path) -> None:
    """ValueError for a TorchScript archive (``torch.load`` would run it through
    ``torch.jit.load``) or torch's pre-1.0 tar format (extracted to disk before reading)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any(name.split("/", 1)[-1] == "constants.pkl" for name in names):
            raise UnsafeCheckpointError(
                f"{path}: a TorchScript archive (it holds code); refused. Save the model's "
                "state_dict() instead"
            )
        return
    try:
        with tarfile.open(path, mode="r:"):
            pass
    except tarfile.TarError:
        return
    raise ValueError(f"{path}: torch's pre-1.0 tar checkpoint format is not supported")


def load_weights_only(path: str | os.PathLike) -> Any:
    """Read a checkpoint file without running any code from it.

    Parameters
    ----------
    path : path-like
        A checkpoint file: ``ClapModel.save``'s, LAION-CLAP's (any pickle protocol, numpy 1.x
        or 2.x numbers in its optimiser state), another torch file of tensors, or a
        ``.safetensors`` file.

    Returns
    -------
    object
        The file's content: tensors (on the CPU), dicts, lists, tuples, numbers, strings and
        numpy scalars/arrays only. A safetensors file gives ``{name: Tensor}``.

    Raises
    ------
    FileNotFoundError
    UnsafeCheckpointError
        (a ValueError) The file names a global outside :func:`allowed_globals` (pickled Python
        objects, functions), or is a TorchScript archive; names the path and the global.
    ValueError
        Not a readable checkpoint (corrupt, not a torch or safetensors file); names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if _is_safetensors(path):
        return _load_safetensors(path)
    _refuse_code_archives(path)
    try:
        return torch.load(
            path,
            map_location="cpu",
            pickle_module=restricted_pickle_module(path),
            weights_only=False,  # replaced by the restricted unpickler's allowlist
        )
    except UnsafeCheckpointError:
        raise
    except Exception as err:
        raise ValueError(
            f"{path}: not a readable checkpoint ({type(err).__name__}: {err}). If you trust the "
            "file, re-save only its tensors: torch.save({'state_dict': torch.load(path, "
            "weights_only=False)['state_dict']}, new_path)"
        ) from err
