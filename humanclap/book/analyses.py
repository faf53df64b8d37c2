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
from humanclap.train import FinetuneResult, cosine_scores, executor_from_environ, finetune_many

__all__ = [
    "choice_table",
    "choose_on_validation",
    "released_scores",
    "finetune_runs",
    "validation_table",
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
    *,
    workers: int | str = "auto",
    executor: Any = None,
    **common: Any,
) -> dict[str, list[FinetuneResult]]:
    """Fine-tune ``base`` with every recipe and seed (:func:`humanclap.train.finetune_many`).

    Parameters
    ----------
    base : ClapModel
    train_pairs, val_pairs : pd.DataFrame
    recipes : mapping of name to keyword arguments
        What differs between recipes (``loss``, ``lambdas``, ``mask_false_negatives`` ...,
        and ``train_pairs`` / ``val_pairs`` for a recipe trained on other pairs, such as
        listener-normalised targets). All the recipes' runs share one pool of processes.
    seeds : sequence of int
        One run per seed and recipe.
    workers : int or "auto"
        Runs trained at once in separate processes ("auto": one per CPU core for a small
        model on a CPU, one after another on a GPU; see
        :func:`humanclap.train.finetune_many`); the weights are those of the same runs
        trained alone on one thread.
    executor : submitit executor, str or None
        Where the runs train (:func:`humanclap.train.finetune_many`). None: as the environment
        says (:func:`humanclap.train.executor_from_environ`: ``$HUMANCLAP_EXECUTOR`` =
        ``process``, the default, ``local`` or ``slurm``, with ``$HUMANCLAP_SLURM_<OPTION>``;
        ``make relate EXECUTOR=slurm SLURM_PARTITION=...`` sets them), so that the chapters
        choose it without a parameter of their own.
    **common
        Keyword arguments of every run (``lr``, ``num_epochs``, ``out_dir="auto"`` ...).

    Returns
    -------
    dict
        ``{name: [result per seed]}``, in the order of ``recipes`` and ``seeds``.
    """
    runs = [{**recipe, "seed": s} for recipe in recipes.values() for s in seeds]
    executor = executor_from_environ() if executor is None else executor
    results = iter(
        finetune_many(
            base, train_pairs, val_pairs, runs, workers=workers, executor=executor, **common
        )
    )
    return {name: [next(results) for _ in seeds] for name in recipes}


def validation_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Each recipe's validation record over seeds, from :func:`humanclap.book.run_summary`.

    A run whose best epoch is 0 never improved on its starting model: it returns the input
    weights unchanged (its learning rate or loss could not make progress from there).

    Parameters
    ----------
    summary : pd.DataFrame
        One row per run: ``name``, ``seed``, ``best_epoch``, ``best_val_srcc``.

    Returns
    -------
    pd.DataFrame
        One row per recipe, in order of appearance: ``name``, ``val_srcc`` (mean of the runs'
        best validation SRCC), ``val_srcc_sd`` (across seeds), ``n_seeds``, ``never_trained``
        (runs with best epoch 0).
    """
    missing = {"name", "seed", "best_epoch", "best_val_srcc"} - set(summary.columns)
    if missing:
        raise ValueError(f"summary: missing column(s) {sorted(missing)}")
    grouped = summary.groupby("name", sort=False)
    table = pd.DataFrame(
        {
            "val_srcc": grouped["best_val_srcc"].mean(),
            "val_srcc_sd": grouped["best_val_srcc"].std(ddof=1),
            "n_seeds": grouped["seed"].nunique(),
            "never_trained": grouped["best_epoch"].apply(lambda e: int((e == 0).sum())),
        }
    )
    return table.rename_axis("name").reset_index()


def choice_table(
    summary: pd.DataFrame, candidates: Sequence[str], tolerance: float | str = "se"
) -> pd.DataFrame:
    """The candidates' validation record and which one the tie rule chooses.

    The rule (validation split only; the test split is read after it):

    1. each candidate's value is the mean over seeds of its runs' best validation SRCC;
    2. the smallest difference that counts is ``tolerance``: by default (``"se"``) the seeds'
       standard error of the difference of two candidates' means,
       ``sqrt(2 * pooled variance / n)``, with the between-seed variance pooled over the
       candidates (each with at least 2 seeds) and ``n`` their mean number of seeds (0 when no
       candidate has 2 seeds);
    3. every candidate within ``tolerance`` of the highest mean is tied with it, and the first
       of the tied candidates **in the order given** is chosen: list them by preference (for a
       learning rate the smaller first, for a weight the one closer to the paper's first).

    With ``tolerance=0`` it is the highest mean, ties going to the first listed.

    Parameters
    ----------
    summary : pd.DataFrame
        As for :func:`validation_table`.
    candidates : sequence of str
        Recipe names, in order of preference; each must have runs in ``summary``.
    tolerance : float or "se"
        The smallest difference of mean validation SRCC that counts.

    Returns
    -------
    pd.DataFrame
        One row per candidate, in the order given: the columns of :func:`validation_table`,
        ``tied`` (within ``tolerance`` of the highest mean) and ``chosen`` (exactly one True);
        ``attrs["tolerance"]`` holds the tolerance used.
    """
    table = validation_table(summary).set_index("name")
    absent = [name for name in candidates if name not in table.index]
    if not candidates or absent:
        raise ValueError(f"candidates: no runs for {absent or 'an empty list'}")
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"candidates: listed twice: {list(candidates)}")
    table = table.loc[list(candidates)].reset_index()
    if table["val_srcc"].isna().all():
        raise ValueError("candidates: every validation SRCC is undefined")
    tol = _tolerance(table, tolerance)
    best = table["val_srcc"].max()
    table["tied"] = table["val_srcc"] >= best - tol
    table["chosen"] = False
    table.loc[table.index[table["tied"]][0], "chosen"] = True
    table.attrs["tolerance"] = tol
    return table


def _tolerance(table: pd.DataFrame, tolerance: float | str) -> float:
    """``tolerance`` of :func:`choice_table` as a number (``"se"``: the pooled standard error of
    a difference of two means)."""
    if isinstance(tolerance, str):
        if tolerance != "se":
            raise ValueError(f"tolerance: expected a number >= 0 or 'se', got {tolerance!r}")
        several = table[table["n_seeds"] >= 2]
        if several.empty:
            return 0.0
        pooled = (several["val_srcc_sd"] ** 2).mean()
        return float(np.sqrt(2.0 * pooled / several["n_seeds"].mean()))
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance: expected a number >= 0 or 'se', got {tolerance!r}")
    return float(tolerance)


def choose_on_validation(
    summary: pd.DataFrame, candidates: Sequence[str], tolerance: float | str = "se"
) -> str:
    """The candidate :func:`choice_table`'s tie rule chooses: the first listed of those within
    the seeds' standard error of a difference (``tolerance``) of the highest mean best
    validation SRCC.

    Only the validation split enters the choice. List ``candidates`` by preference.

    Returns
    -------
    str
    """
    table = choice_table(summary, candidates, tolerance)
    return str(table.loc[table["chosen"], "name"].iloc[0])


def test_scores(
    runs: Mapping[str, Sequence[FinetuneResult]], pairs: pd.DataFrame
) -> dict[str, np.ndarray]:
    """CLAPScore of each run's model on ``pairs`` (``text`` and ``audio`` columns).

    Computed by :func:`humanclap.train.cosine_scores`: the cosine that
    :func:`humanclap.score.clapscore` gives, without its disk cache (each run's model is scored
    once), with a fixed front end's features shared by all the runs.

    Returns
    -------
    dict
        ``{name: array of shape (n_seeds, N)}``.
    """
    return {
        name: np.stack(
            [cosine_scores(r.model, pairs[["text", "audio"]], progress=False) for r in results]
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
