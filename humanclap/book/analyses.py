"""Analyses that more than one chapter runs: agreement by group with each group's noise
ceiling, and fine-tuning several recipes over several seeds, then scoring the test pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from humanclap import stats
from humanclap.data import explode_categories
from humanclap.models import ClapModel
from humanclap.models import load as load_model
from humanclap.score import clapscore
from humanclap.train import FinetuneResult, finetune

__all__ = [
    "GROUPINGS",
    "released_scores",
    "add_origin",
    "finetune_runs",
    "grouped_agreement",
    "runs_table",
    "split_pairs",
    "test_scores",
]

#: The groupings of pairs every chapter reports: natural vs synthesized, the five sources, and
#: the AudioSet top-level categories (a clip with several counts in each).
GROUPINGS: tuple[str, ...] = ("origin", "source", "category")


def add_origin(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an ``origin`` column: ``"natural"`` (AudioCaps) or ``"synthesized"``."""
    origin = np.where(frame["source"] == "audiocaps", "natural", "synthesized")
    return frame.assign(origin=origin)


def split_pairs(pairs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The ``train``, ``validation`` and ``test`` pairs, each with a fresh index."""
    return {
        split: pairs[pairs["split"] == split].reset_index(drop=True)
        for split in ("train", "validation", "test")
    }


def _by(frame: pd.DataFrame, grouping: str) -> pd.DataFrame:
    return explode_categories(frame) if grouping == "category" else frame


def grouped_agreement(
    pairs: pd.DataFrame,
    scores: Sequence[str],
    *,
    ratings: pd.DataFrame | None = None,
    groupings: Sequence[str] = GROUPINGS,
    target: str = "target",
    metrics: Sequence[str] = stats.METRICS,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Agreement of each score with the human score within each group of pairs.

    Parameters
    ----------
    pairs : pd.DataFrame
        One row per pair, with the ``scores`` columns, ``target`` and the grouping columns
        (``origin``: see :func:`add_origin`; ``category`` is exploded).
    scores : sequence of str
        Columns of model scores.
    ratings : pd.DataFrame, optional
        The pairs' ratings (one row per rating): adds each group's noise ceiling on LCC
        (``ceiling_lcc``, :func:`humanclap.stats.reliability_by`).
    groupings, target, metrics, n_boot, seed
        As in :func:`humanclap.stats.grouped_report`.

    Returns
    -------
    pd.DataFrame
        :func:`humanclap.stats.grouped_report`'s rows for every grouping and score, with
        ``grouping``, ``group`` and ``score`` columns, ``ceiling_lcc`` with ``ratings``, and a
        ``label`` (``"<grouping>: <group>"``).
    """
    tables = []
    for grouping in groupings:
        ceilings = None
        if ratings is not None:
            ceilings = stats.reliability_by(_by(ratings, grouping), grouping)
        for score in scores:
            report = stats.grouped_report(
                _by(pairs, grouping), score, target, by=grouping, n_boot=n_boot, seed=seed,
                metrics=tuple(metrics),
            )  # fmt: skip
            if ceilings is not None:
                report = report.merge(ceilings[[grouping, "ceiling_lcc"]], on=grouping, how="left")
            report.insert(0, "grouping", grouping)
            report = report.rename(columns={grouping: "group"}).assign(score=score)
            tables.append(report)
    groups = pd.concat(tables, ignore_index=True)
    groups["label"] = groups["grouping"] + ": " + groups["group"].astype(str)
    return groups


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
