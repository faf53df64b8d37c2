"""The fine-tuning study's design, shared by chapters 3, 4 and 5: each recipe's learning rate
and the weight λ of wSCE + λ·MAE chosen on the validation split with a stated tie rule
(:func:`humanclap.book.analyses.choice_table`).

The choice runs in stages, each on the runs of a few selection seeds:

1. **learning rate**: every recipe is trained at every learning rate of a small grid; its
   learning rate is the one the tie rule chooses, the smaller one preferred;
2. **λ** (:func:`select_recipe`, the paper's wSCE + λ·MAE): at the learning rate chosen for the
   paper's λ = 1, every λ of the grid is trained; λ is the one the tie rule chooses, the value
   closer to the paper's preferred (on a log scale);
3. the chosen recipes are then trained with every seed of the study (the selection seeds' runs
   are the same runs, read back from the cache).

A stage trains its runs through a :class:`Trainer` (:func:`humanclap.book.finetune_runs` with
the study's common arguments) or reads them from a table of a GPU run (:class:`TableTrainer`),
so the same function makes the choice in every chapter. The test split's planned contrasts are
in :mod:`humanclap.book.comparisons`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from humanclap.book.analyses import choice_table, finetune_runs
from humanclap.book.results import run_summary
from humanclap.losses import parse_loss_name
from humanclap.models import ClapModel

__all__ = [
    "RecipeChoice",
    "TableTrainer",
    "Trainer",
    "choose_lrs",
    "lambda_name",
    "lambda_preference",
    "lr_grid_recipes",
    "lr_name",
    "lr_preference",
    "select_recipe",
]


def lr_name(name: str, lr: float) -> str:
    """A recipe's name at one learning rate of the grid: ``"mae | lr 0.0003"``."""
    return f"{name} | lr {lr:g}"


def lambda_name(loss: str, lam: float) -> str:
    """The name of ``loss`` with the weight ``lam`` on its second term: ``"wsce+mae, λ=3"``."""
    return f"{loss}, λ={lam:g}"


def _grid(values: Sequence[float], name: str) -> list[float]:
    grid = [float(v) for v in values]
    if not grid or any(not math.isfinite(v) or v <= 0 for v in grid):
        raise ValueError(f"{name}: expected positive numbers, got {list(values)!r}")
    if len(set(grid)) != len(grid):
        raise ValueError(f"{name}: a value is listed twice in {list(values)!r}")
    return grid


def lr_preference(lr_grid: Sequence[float]) -> list[float]:
    """The learning rates in order of preference for the tie rule: the smaller first."""
    return sorted(_grid(lr_grid, "lr_grid"))


def lambda_preference(lambda_grid: Sequence[float], paper: float = 1.0) -> list[float]:
    """The λ values in order of preference for the tie rule: the closer to the paper's on a log
    scale first (equally close: the smaller first)."""
    return sorted(_grid(lambda_grid, "lambda_grid"), key=lambda v: (abs(math.log(v / paper)), v))


def lr_grid_recipes(
    recipes: Mapping[str, Mapping[str, Any]], lr_grid: Sequence[float]
) -> dict[str, dict[str, Any]]:
    """Every recipe at every learning rate of the grid, named by :func:`lr_name`."""
    return {
        lr_name(name, lr): {**recipe, "lr": lr}
        for name, recipe in recipes.items()
        for lr in lr_preference(lr_grid)
    }


def choose_lrs(
    summary: pd.DataFrame,
    recipes: Sequence[str],
    lr_grid: Sequence[float],
    tolerance: float | str = "se",
) -> tuple[dict[str, float], pd.DataFrame]:
    """Each recipe's learning rate, chosen on validation by the tie rule (smaller preferred).

    Parameters
    ----------
    summary : pd.DataFrame
        The runs of :func:`lr_grid_recipes` (``name``, ``seed``, ``best_epoch``,
        ``best_val_srcc``).
    recipes : sequence of str
        Recipe names (without the learning rate).
    lr_grid : sequence of float
    tolerance : float or "se"
        As for :func:`~humanclap.book.analyses.choice_table` (per recipe).

    Returns
    -------
    chosen : dict
        ``{recipe: learning rate}``.
    table : pd.DataFrame
        One row per recipe and learning rate: ``recipe``, ``lr``, the columns of
        :func:`~humanclap.book.analyses.choice_table` and ``tolerance``.
    """
    lrs = lr_preference(lr_grid)
    chosen, frames = {}, []
    for recipe in recipes:
        table = choice_table(summary, [lr_name(recipe, lr) for lr in lrs], tolerance)
        table.insert(0, "lr", lrs)
        table.insert(0, "recipe", recipe)
        table["tolerance"] = table.attrs["tolerance"]
        chosen[recipe] = float(table.loc[table["chosen"], "lr"].iloc[0])
        frames.append(table)
    return chosen, pd.concat(frames, ignore_index=True)


class Trainer:
    """Trains a stage's recipes at the selection seeds and returns their runs' summary.

    Parameters
    ----------
    base, train_pairs, val_pairs, seeds, **common
        As for :func:`humanclap.book.finetune_runs` (``out_dir="auto"``: every run is cached,
        so a stage asked for again, by this chapter or another, is read back).

    Attributes
    ----------
    summary : pd.DataFrame
        Every run trained so far (:func:`humanclap.book.run_summary` with an ``lr`` column).
    """

    def __init__(
        self,
        base: ClapModel,
        train_pairs: pd.DataFrame,
        val_pairs: pd.DataFrame,
        seeds: Sequence[int],
        **common: Any,
    ) -> None:
        self.base, self.train_pairs, self.val_pairs = base, train_pairs, val_pairs
        self.seeds, self.common = list(seeds), common
        self.summary = pd.DataFrame()

    def __call__(self, recipes: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
        runs = finetune_runs(
            self.base, self.train_pairs, self.val_pairs, recipes, self.seeds, **self.common
        )
        lr = {name: recipe.get("lr", self.common.get("lr")) for name, recipe in recipes.items()}
        summary = run_summary(runs, self.seeds).assign(lr=lambda t: t["name"].map(lr))
        self.summary = pd.concat([self.summary, summary], ignore_index=True).drop_duplicates(
            ["name", "seed"], keep="last"
        )
        return summary


class TableTrainer:
    """Reads a stage's runs from a table written by :class:`Trainer` (a GPU run's results).

    Raises
    ------
    ValueError
        A recipe asked for has no runs in the table (naming it).
    """

    def __init__(self, summary: pd.DataFrame) -> None:
        self.summary = summary

    def __call__(self, recipes: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
        missing = [name for name in recipes if name not in set(self.summary["name"])]
        if missing:
            raise ValueError(f"selection table: no runs for {missing}")
        return self.summary[self.summary["name"].isin(list(recipes))]


@dataclass(frozen=True)
class RecipeChoice:
    """The learning rate and λ of ``loss`` chosen on validation (:func:`select_recipe`).

    Attributes
    ----------
    loss : str
    lr : float
        Chosen for the paper's λ.
    lam : float
        The weight of the second term, chosen at ``lr``.
    paper_lambda : float
    lambda_grid : tuple of float
    lr_table, lambda_table : pd.DataFrame
        The two stages' choice tables (:func:`~humanclap.book.analyses.choice_table`).
    """

    loss: str
    lr: float
    lam: float
    paper_lambda: float
    lambda_grid: tuple[float, ...]
    lr_table: pd.DataFrame
    lambda_table: pd.DataFrame

    @property
    def name(self) -> str:
        """The chosen recipe's name (:func:`lambda_name`)."""
        return lambda_name(self.loss, self.lam)

    @property
    def paper_name(self) -> str:
        return lambda_name(self.loss, self.paper_lambda)

    @property
    def at_edge(self) -> bool:
        """Whether λ is the grid's smallest or largest value (a value beyond might do better)."""
        return len(self.lambda_grid) > 1 and self.lam in (
            min(self.lambda_grid),
            max(self.lambda_grid),
        )

    @property
    def seed_sd(self) -> float:
        """The between-seed SD of best validation SRCC, pooled over the candidates of both
        stages that have at least 2 seeds (each run counted once): ``sqrt(mean(sd**2))``.

        A choice made from fewer seeds (e.g. other losses' learning rates from one seed each)
        can use ``seed_sd * sqrt(2 / n_seeds)``, the standard error of a difference of two
        ``n_seeds`` means, as its tolerance. 0 when no candidate has 2 seeds
        (as :func:`~humanclap.book.analyses.choice_table`'s standard error then is).
        """
        both = pd.concat([self.lr_table, self.lambda_table]).drop_duplicates("name")
        sd = both.loc[both["n_seeds"] >= 2, "val_srcc_sd"]
        return float(np.sqrt((sd**2).mean())) if len(sd) else 0.0

    def recipe(self, lam: float | None = None) -> dict[str, Any]:
        """Keyword arguments of the run (``loss``, ``lambdas``, ``lr``) with λ = ``lam`` (default:
        the chosen one)."""
        lam = self.lam if lam is None else lam
        return {"loss": self.loss, "lambdas": [1.0, float(lam)], "lr": self.lr}

    def recipes(self) -> dict[str, dict[str, Any]]:
        """The paper's λ and the chosen one (once when they are the same), at ``lr``."""
        return {self.paper_name: self.recipe(self.paper_lambda), self.name: self.recipe()}


def select_recipe(
    train: Trainer | TableTrainer,
    *,
    loss: str = "wsce+mae",
    lr_grid: Sequence[float],
    lambda_grid: Sequence[float],
    paper_lambda: float = 1.0,
    tolerance: float | str = "se",
) -> RecipeChoice:
    """Choose the learning rate, then λ, of ``loss`` = term 1 + λ·term 2 on validation.

    Stage 1 trains the paper's λ at every learning rate and chooses one (smaller preferred);
    stage 2 trains every λ of the grid at that learning rate and chooses λ (closer to the
    paper's preferred); both by the tie rule of
    :func:`~humanclap.book.analyses.choice_table`. Trading a joint grid of learning rate and λ
    for two stages costs ``len(lr_grid) + len(lambda_grid) - 1`` recipes instead of their
    product.

    Parameters
    ----------
    train : Trainer or TableTrainer
        Trains (or reads) a stage's recipes at the selection seeds.
    loss : str
        A loss of two terms.
    lr_grid, lambda_grid : sequence of float
        ``lambda_grid`` must hold ``paper_lambda``.
    paper_lambda : float
    tolerance : float or "se"

    Returns
    -------
    RecipeChoice
    """
    if len(parse_loss_name(loss)) != 2:
        raise ValueError(f"loss: expected two terms (term + λ·term), got {loss!r}")
    lambdas = lambda_preference(lambda_grid, paper_lambda)
    if float(paper_lambda) not in lambdas:
        raise ValueError(f"lambda_grid: must hold the paper's λ = {paper_lambda:g}, got {lambdas}")
    paper = lambda_name(loss, paper_lambda)
    first = {paper: {"loss": loss, "lambdas": [1.0, float(paper_lambda)]}}
    stage = lr_grid_recipes(first, lr_grid)
    lrs, lr_table = choose_lrs(train(stage), [paper], lr_grid, tolerance)
    lr = lrs[paper]
    second = {
        lr_name(lambda_name(loss, lam), lr): {"loss": loss, "lambdas": [1.0, lam], "lr": lr}
        for lam in lambdas
    }
    lambda_table = choice_table(train(second), list(second), tolerance)
    lambda_table.insert(0, "lambda", lambdas)
    lambda_table["tolerance"] = lambda_table.attrs["tolerance"]
    lam = float(lambda_table.loc[lambda_table["chosen"], "lambda"].iloc[0])
    return RecipeChoice(loss, lr, lam, float(paper_lambda), tuple(lambdas), lr_table, lambda_table)
