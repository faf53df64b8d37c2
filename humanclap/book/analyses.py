"""Analyses that more than one chapter runs: fine-tuning several recipes over several seeds, then
scoring the test pairs (agreement by group is :mod:`humanclap.agree`'s, as ``humanclap agree``
reports it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from humanclap import stats
from humanclap.models import ClapModel
from humanclap.models import load as load_model
from humanclap.score import clapscore
from humanclap.train import FinetuneResult, finetune

__all__ = [
    "released_scores",
    "finetune_runs",
    "runs_table",
    "split_pairs",
    "test_scores",
]


def split_pairs(pairs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The ``train``, ``validation`` and ``test`` pairs, each with a fresh index."""
    return {
        split: pairs[pairs["split"] == split].reset_index(drop=True)
        for split in ("train", "validation", "test")
    }


def finetune_runs(
    base: ClapModel,
    train_pairs: pd.DataFrame,
    val_pairs: pd.DataFrame,
    recipes: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    **common: Any,
) -> dict[str, list[FinetuneResult]]:
    """Fine-tune ``base`` with every recipe and seed (:func:`humanclap.train.finetune`).

    Parameters
    ----------
    base : ClapModel
    train_pairs, val_pairs : pd.DataFrame
    recipes : mapping of name to keyword arguments
        What differs between recipes (``loss``, ``lambdas``, ``mask_false_negatives`` ...).
    seeds : sequence of int
        One run per seed and recipe.
    **common
        Keyword arguments of every run (``lr``, ``num_epochs``, ``out_dir="auto"`` ...).

    Returns
    -------
    dict
        ``{name: [result per seed]}``, in the order of ``recipes`` and ``seeds``.
    """
    return {
        name: [
            finetune(base, train_pairs, val_pairs, seed=s, **{**common, **recipe}) for s in seeds
        ]
        for name, recipe in recipes.items()
    }


def test_scores(
    runs: Mapping[str, Sequence[FinetuneResult]], pairs: pd.DataFrame
) -> dict[str, np.ndarray]:
    """CLAPScore of each run's model on ``pairs`` (``text`` and ``audio`` columns).

    Returns
    -------
    dict
        ``{name: array of shape (n_seeds, N)}``.
    """
    return {
        name: np.stack(
            [clapscore(r.model, pairs["text"], pairs["audio"], progress=False) for r in results]
        )
        for name, results in runs.items()
    }


def runs_table(
    runs: Mapping[str, Sequence[FinetuneResult]],
    scores: Mapping[str, np.ndarray],
    target: np.ndarray,
    seeds: Sequence[int],
) -> pd.DataFrame:
    """One row per run: recipe name, seed, best epoch, best validation SRCC and the test
    SRCC / LCC / KTAU / MSE of its scores (``scores[name][i]`` for ``seeds[i]``) against
    ``target``."""
    rows = []
    for name, results in runs.items():
        for i, (seed, result) in enumerate(zip(seeds, results, strict=True)):
            report = stats.correlation_report(scores[name][i], target)
            rows.append(
                {
                    "name": name,
                    "seed": seed,
                    "best_epoch": result.best_epoch,
                    "val_srcc": result.best_val_srcc,
                    **{k: v for k, v in report.items() if k != "n"},
                }
            )
    return pd.DataFrame(rows)


def released_scores(
    specs: Sequence[str],
    pairs: pd.DataFrame,
    target: np.ndarray,
    device: str,
    simulated: bool,
) -> pd.DataFrame:
    """The test SRCC of released models (e.g. ``hf:sarulab-speech/human-clap-*``).

    A model that cannot be loaded (offline, not downloadable) gets a NaN SRCC and the first
    line of the error as its note; on the simulated world the note says the model was trained
    on RELATE.

    Returns
    -------
    pd.DataFrame
        Columns ``model``, ``srcc``, ``note``; one row per spec.
    """
    rows = []
    for spec in specs:
        try:
            other = load_model(spec, device=device)
        except (OSError, ValueError, RuntimeError) as err:
            rows.append({"model": spec, "srcc": np.nan, "note": str(err).splitlines()[0]})
            continue
        scores = clapscore(other, pairs["text"], pairs["audio"], progress=False)
        note = "trained on RELATE, scored on the simulation" if simulated else ""
        srcc = stats.correlation_report(scores, target)["srcc"]
        rows.append({"model": spec, "srcc": srcc, "note": note})
    return pd.DataFrame(rows, columns=["model", "srcc", "note"])
