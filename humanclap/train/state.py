"""What makes a fine-tuning run resumable: random-number-generator states, the run folder's
files (``history.csv``, ``best.pt``, ``state.pt``), and the check that a folder holds the same
run.

Every file is written atomically (:mod:`humanclap.utils.atomic`), after every epoch. ``state.pt``
holds only tensors and primitive types, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from humanclap.utils import atomic_torch_save, atomic_write_csv

__all__ = [
    "HISTORY_COLUMNS",
    "STATE_VERSION",
    "history_frame",
    "isolated_rngs",
    "read_state",
    "rng_states",
    "set_rng_states",
    "write_history",
    "write_state",
]

log = logging.getLogger("humanclap.train")

#: Columns of the history (one row per epoch; epoch 0 = before training).
HISTORY_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_srcc",
    "val_lcc",
    "val_ktau",
    "val_mse",
    "lr",
    "seconds",
)
#: Format version of ``state.pt``; bump when its layout or the training recipe changes.
STATE_VERSION = 2


# ----------------------------------------------------------------------------- RNG states
def _python_rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {
        "version": int(version),
        "state": torch.tensor(internal, dtype=torch.int64),
        "gauss_next": gauss,
    }


def _numpy_rng_state() -> dict[str, Any]:
    # the legacy global numpy RNG is what third-party model code may draw from
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "name": str(name),
        "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def rng_states(gen: torch.Generator, device: torch.device) -> dict[str, Any]:
    """The states of the shuffling generator ``gen`` and of torch's, numpy's and Python's
    global generators (and CUDA's on a CUDA device), as tensors and primitives."""
    out: dict[str, Any] = {
        "shuffle": gen.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": _numpy_rng_state(),
        "python": _python_rng_state(),
    }
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def set_rng_states(states: Mapping[str, Any], gen: torch.Generator, device: torch.device) -> None:
    """Restore what :func:`rng_states` saved."""
    gen.set_state(states["shuffle"])
    torch.set_rng_state(states["torch"])
    np_state = states["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = states["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss_next"]))
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


@contextlib.contextmanager
def isolated_rngs(device: torch.device, seed: int | None = None) -> Iterator[None]:
    """Run the block with its own torch, numpy and Python random states (seeded with ``seed``
    when given) and restore the caller's states on exit."""
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(int(seed))
                np.random.seed(int(seed) % 2**32)  # noqa: NPY002
                random.seed(int(seed))
            yield
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)


# ----------------------------------------------------------------------------- run folder
def history_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    """The history rows as a frame with :data:`HISTORY_COLUMNS`."""
    frame = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    return frame.astype({"epoch": int})


def write_history(history: list[dict[str, Any]], path: Path) -> None:
    """``history.csv``, atomically."""
    atomic_write_csv(pd.DataFrame(history, columns=list(HISTORY_COLUMNS)), path, index=False)


def write_state(state: dict[str, Any], path: Path) -> None:
    """``state.pt``, atomically (tensors and primitives only)."""
    atomic_torch_save({"version": STATE_VERSION, **state}, path)


def read_state(out_dir: Path, args: Mapping[str, Any], args_hash: str) -> dict[str, Any] | None:
    """The saved state of the run in ``out_dir``, or None when there is none.

    Raises
    ------
    ValueError
        ``state.pt`` is unreadable, or holds a run with other arguments (the message lists
        what differs).
    """
    state_file = out_dir / "state.pt"
    if not state_file.is_file():
        return None
    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{state_file}: unreadable training state ({err}); delete it or pass resume=False"
        ) from err
    if not isinstance(state, dict) or state.get("args_hash") != args_hash:
        old = state.get("args", {}) if isinstance(state, dict) else {}
        changed = sorted(k for k in set(args) | set(old) if old.get(k) != args.get(k))
        detail = "; ".join(f"{k}: {old.get(k)!r} -> {args.get(k)!r}" for k in changed)
        raise ValueError(
            f"{out_dir}: holds a fine-tuning run with different arguments ({detail}). "
            "Use another out_dir, or resume=False to start afresh there."
        )
    log.info("resuming %s after epoch %d", out_dir, state["epoch"])
    return state
