"""A fine-tuning run as seen before it trains: its folder and whether it is finished there
(:func:`plan_run`), as :func:`humanclap.train.finetune` resolves them, so that
:mod:`humanclap.train.jobs` submits only the runs that are not finished.

The identity is computed by the same :func:`humanclap.train.recipe.run_args` as
:func:`~humanclap.train.finetune` (from its arguments split the same way: its own parameters,
the rest fields of a :class:`~humanclap.train.Recipe`); a test checks that both name the same
folder.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from humanclap.models import ClapModel
from humanclap.train.finetune import finetune, prepare_run_pairs
from humanclap.train.recipe import out_path, resolve_recipe, run_identity
from humanclap.train.state import read_state

__all__ = [
    "RunPlan",
    "describe_run",
    "gather_results",
    "plan_run",
    "run_finished",
    "split_run_pairs",
]

#: :func:`finetune`'s own arguments; a run's other keywords are fields of its Recipe.
_CALL_ARGS = frozenset(inspect.signature(finetune).parameters) - {
    "model", "train_pairs", "val_pairs", "recipe_fields",
}  # fmt: skip


def split_run_pairs(
    kwargs: Mapping[str, Any], train_pairs: pd.DataFrame, val_pairs: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A run's own ``train_pairs`` / ``val_pairs`` where it names them, else the shared ones,
    and its other keyword arguments."""
    rest = dict(kwargs)
    return rest.pop("train_pairs", train_pairs), rest.pop("val_pairs", val_pairs), rest


def describe_run(kwargs: Mapping[str, Any]) -> str:
    """The keywords that tell a study's runs apart, for messages."""
    keys = ("loss", "lambdas", "seed", "target", "mask_false_negatives", "lr")
    return ", ".join(f"{k}={kwargs[k]!r}" for k in keys if k in kwargs)


def gather_results(handles: Sequence[Any], names: Sequence[str]) -> list[Any]:
    """Every run's result (``handle.result()``; None for a None handle: a run not started); the
    first failure is raised once all runs have ended, with a note naming each failed run
    (``names[i]``) and the end of its error (a job's error can carry its whole log).

    Parameters
    ----------
    handles : sequence of Future, submitit Job or None
    names : sequence of str
        How each run is named in the notes.
    """
    results, failures = [], []
    for i, handle in enumerate(handles):
        try:
            results.append(None if handle is None else handle.result())
        except Exception as exc:  # noqa: BLE001 -- re-raised below, after the other runs
            failures.append((i, exc))
            results.append(None)
    if failures:
        first = failures[0][1]
        for i, exc in failures:
            first.add_note(f"{names[i]} failed: {type(exc).__name__}: {str(exc)[-2000:]}")
        raise first
    return results


@dataclass(frozen=True)
class RunPlan:
    """A run as the submitting process sees it.

    Attributes
    ----------
    kwargs : dict
        The run's keyword arguments of :func:`finetune`.
    run_dir : Path or None
        Its folder (None: the run has no ``out_dir``).
    args_hash : str or None
        Its identity (:func:`humanclap.train.recipe.run_args`, hashed).
    args : dict or None
        The identity itself.
    finished : bool
        Its folder holds the finished run (and ``resume`` is not False).
    """

    kwargs: dict[str, Any]
    run_dir: Path | None = None
    args_hash: str | None = None
    args: dict[str, Any] | None = None
    finished: bool = False


def run_finished(run_dir: Path, args: Mapping[str, Any], args_hash: str) -> bool:
    """Whether ``run_dir`` holds this run, finished. Its ``state.pt`` is memory-mapped, so that
    only its small entries are read."""
    state_file = run_dir / "state.pt"
    if not state_file.is_file():
        return False
    try:
        state = torch.load(state_file, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 -- read_state reads it again and names the file and cause
        state = None
    if not isinstance(state, dict) or state.get("args_hash") != args_hash:
        state = read_state(run_dir, args, args_hash)  # raises, naming what differs
    return bool(state and state["done"])


def plan_run(
    model: ClapModel, train_pairs: pd.DataFrame, val_pairs: pd.DataFrame, kwargs: Mapping[str, Any]
) -> RunPlan:
    """The run's folder and whether it is finished, as :func:`finetune` resolves them (its
    identity from the same :func:`~humanclap.train.recipe.run_args`), without training.

    Raises
    ------
    TypeError, ValueError
        What :func:`finetune` raises for bad arguments or pairs, and a folder that holds a run
        with other arguments (naming what differs).
    """
    train_pairs, val_pairs, rest = split_run_pairs(kwargs, train_pairs, val_pairs)
    if rest.get("out_dir") is None:
        return RunPlan(dict(kwargs))
    fields = {k: v for k, v in rest.items() if k not in _CALL_ARGS}
    recipe = resolve_recipe(rest.get("recipe"), fields)
    device = torch.device(rest["device"]) if rest.get("device") is not None else model.device
    train, val = prepare_run_pairs(train_pairs, val_pairs, rest.get("audio_dir"))
    _, args, args_hash = run_identity(model, train, val, recipe, device, rest.get("progress"))
    run_dir = out_path(rest["out_dir"], args_hash)
    finished = rest.get("resume", True) is not False and run_finished(run_dir, args, args_hash)
    return RunPlan(dict(kwargs), run_dir, args_hash, args, finished)
