"""The book's figures (seaborn / matplotlib).

Every function takes tidy DataFrames, draws one figure and returns its :class:`matplotlib.figure.Figure`;
none computes statistics of its own (those come from :mod:`humanclap.stats` and
:mod:`humanclap.metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown

__all__ = [
    "SOURCE_PALETTE",
    "banner",
    "cell_heatmap",
    "effects",
    "forest",
    "learning_curves",
    "recipe_points",
    "listener_bias",
    "pair_mean_distributions",
    "scatter_marginals",
    "score_distribution_heatmap",
    "screening_bars",
    "setup",
    "spectrogram",
]

#: One colour per audio source, used in every chapter: natural audio in grey.
SOURCE_PALETTE = {
    "audiocaps": "#8c8c8c",
    "audioldm": "#1f77b4",
    "audioldm2": "#6baed6",
    "tango": "#d62728",
    "tango2": "#fc9272",
}


def setup() -> None:
    """The book's plotting style."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titleweight": "bold"})


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
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(share) + 1.4))
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
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(order) + 1.5))
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
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(data) + 1.5))
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


def forest(
    table: pd.DataFrame,
    label: str,
    estimate: str = "estimate",
    lo: str = "lo",
    hi: str = "hi",
    hue: str | None = None,
    ref: float | None = None,
    ref_label: str = "",
    xlabel: str = "",
    title: str = "",
    xlim: tuple[float, float] | None = None,
    marker: str | None = None,
    marker_label: str = "",
) -> plt.Figure:
    """Point estimates with confidence intervals, one row per ``label`` (a forest plot).

    Parameters
    ----------
    table : DataFrame
        One row per estimate with columns ``label``, ``estimate``, ``lo``, ``hi``.
    hue : str, optional
        Column whose values get separate colours (and a small vertical offset).
    ref : float, optional
        A vertical reference line (for example a noise ceiling).
    marker : str, optional
        Column of a per-row reference value (for example each group's noise ceiling), drawn
        as a short vertical bar on the row; NaN draws nothing. Rows sharing a label should
        share the value (the first is drawn).
    """
    table = table.reset_index(drop=True)
    labels = list(dict.fromkeys(table[label].astype(str)))
    y_of = {lab: i for i, lab in enumerate(labels)}
    hues = list(dict.fromkeys(table[hue])) if hue else [None]
    offsets = np.linspace(-0.2, 0.2, len(hues)) if len(hues) > 1 else [0.0]
    colours = sns.color_palette("deep", len(hues))
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(labels) + 1.5))
    for h, off, colour in zip(hues, offsets, colours, strict=True):
        sub = table if h is None else table[table[hue] == h]
        y = np.array([y_of[str(v)] for v in sub[label]]) + off
        ax.errorbar(
            sub[estimate],
            y,
            xerr=[sub[estimate] - sub[lo], sub[hi] - sub[estimate]],
            fmt="o",
            color=colour,
            capsize=3,
            label=None if h is None else str(h),
        )
    if ref is not None:
        ax.axvline(ref, color="#c8553d", ls="--", lw=1.2, label=ref_label or None)
    if marker is not None:
        first = table.drop_duplicates(label)
        ok = first[marker].notna().to_numpy()
        ax.scatter(
            first[marker][ok],
            [y_of[str(v)] for v in first[label][ok]],
            marker="|",
            s=400,
            linewidths=2.2,
            color="#c8553d",
            label=marker_label or None,
            zorder=3,
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    if xlim:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if hue or ref_label or marker_label:
        ax.legend(loc="best", frameon=True)
    return fig


def listener_bias(
    bias: pd.DataFrame, value: str = "bias", n: str = "n_ratings", title: str = ""
) -> plt.Figure:
    """Each listener's mean deviation from the other listeners of the same pairs, against their count."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
    sns.histplot(bias[value], ax=axes[0], bins=40, color="#5a8fc0")
    axes[0].axvline(0, color="k", lw=1)
    axes[0].set_xlabel("listener's mean deviation from the others (score points)")
    axes[0].set_ylabel("listeners")
    sns.scatterplot(
        data=bias, x=n, y=value, ax=axes[1], s=12, alpha=0.5, color="#5a8fc0", edgecolor=None
    )
    axes[1].axhline(0, color="k", lw=1)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("ratings given by the listener")
    axes[1].set_ylabel("deviation")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def scatter_marginals(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str | None = "source",
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
) -> plt.Figure:
    """Scatter of ``y`` against ``x`` with each variable's distribution in the margins.

    Parameters
    ----------
    df : DataFrame
        One row per point (e.g. pair) with columns ``x``, ``y`` [and ``hue``].
    hue : str or None
        Colour column; the audio sources get :data:`SOURCE_PALETTE`.
    """
    palette = SOURCE_PALETTE if hue == "source" else None
    grid = sns.jointplot(
        data=df,
        x=x,
        y=y,
        hue=hue,
        palette=palette,
        height=5.5,
        s=14,
        alpha=0.6,
        edgecolor=None,
        marginal_kws={"common_norm": False, "fill": False},
    )
    grid.set_axis_labels(xlabel or x, ylabel or y)
    if title:
        grid.figure.suptitle(title, y=1.02)
    return grid.figure


def cell_heatmap(
    table: pd.DataFrame,
    rows: str,
    cols: str,
    value: str = "coef",
    p: str | None = "p",
    title: str = "",
    center: float = 0.0,
    cbar_label: str = "",
) -> plt.Figure:
    """A diverging heatmap of one value per (row, column) cell, starred where ``p`` < 0.05.

    Parameters
    ----------
    table : DataFrame
        One row per cell with columns ``rows``, ``cols``, ``value`` [and ``p``]; NaN cells
        (e.g. too few ratings) are drawn grey and unlabelled.
    """
    grid = table.pivot(index=rows, columns=cols, values=value)
    annot = grid.map(lambda v: "" if pd.isna(v) else f"{v:+.2f}")
    if p is not None:
        stars = table.pivot(index=rows, columns=cols, values=p)
        annot = annot + stars.map(lambda v: "*" if pd.notna(v) and v < 0.05 else "")
    width = max(6.0, 1.1 * grid.shape[1] + 2.5)
    fig, ax = plt.subplots(figsize=(width, 0.5 * grid.shape[0] + 2.0))
    lim = np.nanmax(np.abs(grid.to_numpy() - center)) if np.isfinite(grid.to_numpy()).any() else 1
    sns.heatmap(
        grid,
        annot=annot,
        fmt="",
        cmap="RdBu",
        center=center,
        vmin=center - lim,
        vmax=center + lim,
        linewidths=0.5,
        cbar_kws={"label": cbar_label},
        ax=ax,
    )
    ax.grid(False)
    ax.set_facecolor("#ececec")  # cells without an estimate (too few ratings) stay grey
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    return fig


def effects(
    table: pd.DataFrame,
    condition: str = "condition",
    col: str = "col",
    estimate: str = "effect",
    lo: str = "lo",
    hi: str = "hi",
    xlabel: str = "",
    title: str = "",
) -> plt.Figure:
    """Grouped horizontal bars with intervals: one group per ``condition``, one bar per ``col``.

    Parameters
    ----------
    table : DataFrame
        Long table (e.g. :func:`humanclap.stats.standardized_effects`).
    """
    conditions = list(dict.fromkeys(table[condition]))
    series = list(dict.fromkeys(table[col]))
    height = 0.8 / len(series)
    colours = sns.color_palette("deep", len(series))
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(conditions) + 1.5))
    for j, (name, colour) in enumerate(zip(series, colours, strict=True)):
        sub = table[table[col] == name].set_index(condition).reindex(conditions)
        y = np.arange(len(conditions)) - 0.4 + height * (j + 0.5)
        ax.barh(y, sub[estimate], height=height, color=colour, label=str(name))
        ax.errorbar(
            sub[estimate],
            y,
            xerr=[sub[estimate] - sub[lo], sub[hi] - sub[estimate]],
            fmt="none",
            ecolor="k",
            capsize=2,
            lw=1,
        )
    ax.axvline(0, color="k", lw=1)
    ax.set_yticks(range(len(conditions)), conditions)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="best", frameon=True)
    return fig


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
        :func:`humanclap.metrics.seed_comparison`); its order is the figure's order.
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


def spectrogram(audio: np.ndarray, sample_rate: int, title: str = "") -> plt.Figure:
    """Spectrogram of one clip (512-point FFT, 75% overlap, dB colour scale).

    Parameters
    ----------
    audio : np.ndarray, shape (T,)
        Mono waveform.
    sample_rate : int
        Its rate in Hz.
    """
    fig, ax = plt.subplots(figsize=(8, 2.2))
    ax.specgram(audio, Fs=sample_rate, NFFT=512, noverlap=384, cmap="magma")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Hz")
    ax.grid(False)
    return fig


def banner(world: str, model: str, params: dict, note: str = "") -> Markdown:
    """The box every chapter opens with: the world it ran on, the model and the parameters.

    Parameters
    ----------
    world : str
        What the numbers come from, for example ``"RELATE (real ratings)"`` or
        ``"embedded simulation (not RELATE)"``.
    model : str
        The model whose scores the chapter shows, or ``"none"``.
    params : dict
        The notebook's parameters as it ran.
    note : str
        One more sentence, for example what is simulated.
    """
    shown = ", ".join(f"`{k}={v!r}`" for k, v in params.items())
    lines = [f"> **World:** {world}  ", f"> **Model:** {model}  ", f"> **Parameters:** {shown}"]
    if note:
        lines[-1] += "  "
        lines.append(f"> {note}")
    return Markdown("\n".join(lines))
