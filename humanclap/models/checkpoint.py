"""Model checkpoint files: what :meth:`~humanclap.models.base.ClapModel.save` writes, and the one
safe reader of checkpoint files.

A checkpoint written by ``ClapModel.save`` is a dict ``{"spec", "config", "state_dict"}`` (see
:data:`CHECKPOINT_KEYS`) of CPU tensors and primitive types, written atomically with
``torch.save``. Every checkpoint file humanclap reads, its own or another format (LAION-CLAP's),
goes through :func:`load_weights_only`: ``torch.load(..., weights_only=True)``, which refuses
pickled Python objects. Which backend rebuilds a file is decided by
:func:`humanclap.models.registry.load_checkpoint`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from humanclap.utils import atomic_torch_save

try:
    from numpy._core.multiarray import scalar as _numpy_scalar
except ImportError:  # numpy < 2
    from numpy.core.multiarray import scalar as _numpy_scalar

__all__ = [
    "CHECKPOINT_KEYS",
    "checkpoint_dict",
    "is_model_checkpoint",
    "load_weights_only",
    "save_checkpoint",
]

#: Keys of a checkpoint written by :meth:`ClapModel.save` (values: tensors and primitives).
CHECKPOINT_KEYS: tuple[str, ...] = ("spec", "config", "state_dict")


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

    The file is readable with ``torch.load(path, weights_only=True)``.
    """
    return atomic_torch_save(checkpoint, path)


def is_model_checkpoint(obj: Any) -> bool:
    """True for a dict holding all of :data:`CHECKPOINT_KEYS` (a ``ClapModel.save`` file)."""
    return isinstance(obj, dict) and all(key in obj for key in CHECKPOINT_KEYS)


def _numpy_scalar_globals() -> list[Any]:
    """numpy scalar/dtype constructors, allowlisted for ``weights_only`` loading.

    LAION's training stores the optimiser's learning rate as ``numpy.float64`` (cosine schedule
    computed with numpy), pickled as ``numpy.core.multiarray.scalar(numpy.dtype(...), bytes)``.
    These build plain numbers from bytes and run no other code.
    """
    allowed: list[Any] = [
        np.dtype,
        (_numpy_scalar, "numpy.core.multiarray.scalar"),
        (_numpy_scalar, "numpy._core.multiarray.scalar"),
    ]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles dtypes by class
    for bits in ("8", "16", "32", "64"):
        for kind in ("Int", "UInt", "Float"):
            cls = getattr(dtypes, f"{kind}{bits}DType", None)
            if cls is not None:
                allowed.append(cls)
    if getattr(dtypes, "BoolDType", None) is not None:
        allowed.append(dtypes.BoolDType)
    return allowed


def load_weights_only(path: str | os.PathLike) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, numpy scalars allowed.

    Parameters
    ----------
    path : path-like
        A checkpoint file (``ClapModel.save``'s, LAION-CLAP's, or any other torch file).

    Returns
    -------
    object
        The file's content: tensors (on the CPU), containers and numbers only.

    Raises
    ------
    FileNotFoundError
    ValueError
        The file holds anything else than tensors, containers and numbers (e.g. pickled Python
        objects), or is not a torch file; names the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    context = getattr(torch.serialization, "safe_globals", None)
    try:
        with context(_numpy_scalar_globals()) if context else contextlib.nullcontext():
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{path}: cannot be read with torch.load(weights_only=True) ({err}). Checkpoints "
            "holding pickled Python objects are refused; if you trust the file, re-save only "
            "its tensors: torch.save({'state_dict': torch.load(path, weights_only=False)"
            "['state_dict']}, new_path)"
        ) from err
