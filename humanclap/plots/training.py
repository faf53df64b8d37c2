"""Figures of fine-tuning runs: learning curves and per-recipe results over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from humanclap.plots.style import FIG_WIDTH


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
    ncols = min(2, len(metrics))
    nrows = -(-(len(metrics) + 1) // ncols)  # one more cell for the legend
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(FIG_WIDTH, 2.7 * nrows), squeeze=False, layout="constrained"
    )
    cells = list(axes.flat)
    for ax, metric in zip(cells, metrics, strict=False):
        sns.lineplot(data=history, x="epoch", y=metric, hue=hue, marker="o", ax=ax)
        ax.set_title(
            metric.replace("_", " ").replace("val ", "validation ").replace("srcc", "SRCC")
        )
        ax.set_ylabel("")
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
    legend_ax = cells[len(metrics)]
    legend_ax.axis("off")
    legend_ax.legend(handles, labels, title=hue, loc="center", frameon=False)
    for ax in cells[len(metrics) + 1 :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
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
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.45 * len(order) + 1.5), layout="constrained")
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
    handles, labels = ax.get_legend_handles_labels()  # below the axes: the figure keeps its width
    fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels),
        frameon=False,
    )  # fmt: skip
    return fig
