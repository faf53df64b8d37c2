"""Figures of fine-tuning runs: learning curves and per-recipe results over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns


def learning_curves(
    history: pd.DataFrame,
    hue: str = "seed",
    metrics: Sequence[str] = ("train_loss", "val_loss", "val_srcc"),
    title: str = "",
) -> plt.Figure:
    """One panel per history column against the epoch, one line per ``hue`` value.

    Parameters
    ----------
    history : DataFrame
        Rows of :attr:`humanclap.train.FinetuneResult.history` (``epoch`` and the ``metrics``
        columns), stacked with a ``hue`` column (e.g. the seed or the loss).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        sns.lineplot(
            data=history, x="epoch", y=metric, hue=hue, marker="o", ax=ax, legend=ax is axes[0][-1]
        )
        ax.set_title(metric.replace("_", " "))
        ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def recipe_points(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    value: str,
    recipe: str = "name",
    ref: float | None = None,
    ref_label: str = "",
    xlabel: str = "",
    title: str = "",
) -> plt.Figure:
    """Each training run as a point, and each recipe's mean with its interval.

    Parameters
    ----------
    runs : DataFrame
        One row per run: ``recipe`` and ``value``.
    summary : DataFrame
        One row per recipe: ``recipe``, ``mean``, ``lo``, ``hi`` (e.g.
        :func:`humanclap.stats.seed_comparison`); its order is the figure's order.
    """
    order = list(summary[recipe])
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(order) + 1.5))
    y_of = {name: i for i, name in enumerate(order)}
    ax.errorbar(
        summary["mean"],
        [y_of[n] for n in summary[recipe]],
        xerr=[summary["mean"] - summary["lo"], summary["hi"] - summary["mean"]],
        fmt="D",
        color="k",
        capsize=3,
        label="mean over seeds (95% CI)",
        zorder=3,
    )
    ax.scatter(
        runs[value],
        [y_of[n] + 0.18 for n in runs[recipe]],
        s=18,
        color="#5a8fc0",
        alpha=0.8,
        label="one run",
    )
    if ref is not None:
        ax.axvline(ref, color="#c8553d", ls="--", lw=1.2, label=ref_label or None)
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=True)
    return fig
