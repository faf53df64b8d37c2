"""Figures of the human ratings: score distributions, pair means, screening, listener bias."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from humanclap.plots.style import FIG_WIDTH, SOURCE_PALETTE


def score_distribution_heatmap(
    ratings: pd.DataFrame,
    by: str,
    score: str = "score",
    order: Sequence[str] | None = None,
    title: str = "",
) -> plt.Figure:
    """Share of each integer score (0..10) within each group, as a heatmap.

    Parameters
    ----------
    ratings : DataFrame
        One row per rating with columns ``by`` and ``score``.
    by : str
        Grouping column (rows of the heatmap).
    order : sequence of str, optional
        Row order; defaults to groups sorted by their mean score.
    """
    share = pd.crosstab(ratings[by], ratings[score], normalize="index").reindex(
        columns=range(11), fill_value=0
    )
    if order is None:
        order = ratings.groupby(by)[score].mean().sort_values().index
    share = share.reindex(order)
    counts = ratings[by].value_counts().reindex(order)
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.45 * len(share) + 1.6), layout="constrained")
    sns.heatmap(
        share * 100, ax=ax, cmap="mako_r", annot=True, fmt=".0f", cbar_kws={"label": "% of ratings"}
    )
    ax.set_yticklabels([f"{g} (n={n:,})" for g, n in counts.items()], rotation=0)
    ax.set_xlabel("score given (0 = does not match at all, 10 = matches exactly)")
    ax.set_ylabel("")
    ax.set_title(title)
    return fig


def pair_mean_distributions(
    pairs: pd.DataFrame,
    by: str,
    value: str = "mean_score",
    order: Sequence[str] | None = None,
    title: str = "",
) -> plt.Figure:
    """Distribution of the per-pair mean score within each group (violins with quartiles)."""
    if order is None:
        order = pairs.groupby(by)[value].median().sort_values().index
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.5 * len(order) + 1.5), layout="constrained")
    palette = SOURCE_PALETTE if by == "source" else None
    sns.violinplot(
        data=pairs,
        x=value,
        y=by,
        order=order,
        ax=ax,
        inner="quart",
        cut=0,
        density_norm="width",
        hue=by if palette else None,
        palette=palette,
        legend=False,
        color=None if palette else "#8fb9d9",
    )
    ax.set_xlim(0, 10)
    ax.set_xlabel("mean score of the pair's listeners")
    ax.set_ylabel("")
    ax.set_title(title)
    return fig


def screening_bars(
    summary: pd.DataFrame, group: str, kept: str, removed: Sequence[str], title: str = ""
) -> plt.Figure:
    """Stacked horizontal bars: rows kept and rows removed for each reason, per group."""
    cols = [kept, *removed]
    data = summary.set_index(group)[cols]
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.45 * len(data) + 1.5), layout="constrained")
    left = np.zeros(len(data))
    colours = ["#4c9f70", "#e0a458", "#c8553d", "#8d6a9f"]
    for col, colour in zip(cols, colours, strict=False):
        ax.barh(
            data.index.astype(str), data[col], left=left, label=col.replace("_", " "), color=colour
        )
        left += data[col].to_numpy()
    ax.legend(loc="lower right", frameon=True)
    ax.set_xlabel("ratings")
    ax.set_title(title)
    ax.invert_yaxis()
    return fig


def listener_bias(
    bias: pd.DataFrame, value: str = "bias", n: str = "n_ratings", title: str = ""
) -> plt.Figure:
    """Each listener's mean deviation from the other listeners of the same pairs, against their count.

    Parameters
    ----------
    bias : DataFrame
        One row per listener with columns ``value`` (mean deviation, score points) and ``n``
        (ratings given).
    value, n : str
        The two columns.
    title : str
        The figure's title.

    Returns
    -------
    Figure
        A histogram of the deviations (left) and the deviations against the number of ratings
        (right; points spread sideways a little when the counts are integers, so that listeners
        with the same count do not hide one another; a log axis only when the counts span more
        than a factor of 20, with plain-number tick labels).
    """
    fig, axes = plt.subplots(
        1, 2, figsize=(FIG_WIDTH, 3.4), gridspec_kw={"width_ratios": [1.2, 1]}, layout="constrained"
    )
    sns.histplot(bias[value], ax=axes[0], bins=40, color="#5a8fc0")
    axes[0].axvline(0, color="k", lw=1)
    axes[0].set_xlabel("mean deviation from the others\n(score points)")
    axes[0].set_ylabel("listeners")
    counts = bias[n].to_numpy(dtype=float)
    log = _count_axis(axes[1], counts)
    x = counts * np.exp(_jitter(counts, 0.04)) if log else counts + _jitter(counts, 0.3)
    axes[1].scatter(x, bias[value], s=12, alpha=0.5, color="#5a8fc0", edgecolors="none")
    axes[1].axhline(0, color="k", lw=1)
    axes[1].set_xlabel("ratings given by the listener")
    axes[1].set_ylabel("mean deviation\n(score points)")
    fig.suptitle(title)
    return fig


def _jitter(counts: np.ndarray, width: float) -> np.ndarray:
    """Sideways spread of up to ``width`` for integer counts (deterministic), else zeros.

    Parameters
    ----------
    counts : np.ndarray, shape (n,)

    Returns
    -------
    np.ndarray, shape (n,)
    """
    finite = counts[np.isfinite(counts)]
    if len(finite) == 0 or not np.all(finite == np.round(finite)):
        return np.zeros(len(counts))
    return np.random.default_rng(0).uniform(-width, width, size=len(counts))


#: Inches of axes a decade needs for ticks at 1, 2 and 5 whose labels never collide.
_DECADE_IN = 1.2


def _count_axis(ax: plt.Axes, counts: np.ndarray) -> bool:
    """Set up an axis of counts: ticks that never collide, labelled as plain numbers.

    A log axis when the positive counts span more than a factor of 20 (ticks at 1, 2, 5, 10,
    20, 50, ... when each decade has at least :data:`_DECADE_IN` inches of the axes, else at
    1, 10, 100, ...), else a linear one with at most 8 integer ticks; no minor tick labels.

    Parameters
    ----------
    ax : Axes
    counts : np.ndarray, shape (n,)
        The values drawn on the x axis.

    Returns
    -------
    bool
        Whether the axis is logarithmic.
    """
    positive = counts[np.isfinite(counts) & (counts > 0)]
    plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    if len(positive) and positive.max() / positive.min() > 20:
        ax.set_xscale("log")
        decades = np.log10(positive.max() / positive.min())
        width = ax.get_position().width * ax.figure.get_figwidth()
        subs = (1.0, 2.0, 5.0) if width / decades >= _DECADE_IN else (1.0,)
        ax.xaxis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        return True
    ax.xaxis.set_major_locator(mticker.MaxNLocator(nbins=8, integer=True))
    ax.xaxis.set_major_formatter(plain)
    return False
