"""Figures of estimates and of model--human agreement: forest, scatter, cell heatmap, effects."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from humanclap.plots.style import FIG_WIDTH, SOURCE_PALETTE

#: Colour of a heatmap cell without an estimate.
_MISSING = "#ececec"


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
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.42 * len(labels) + 1.5), layout="constrained")
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
        _legend_below(fig, ax)
    return fig


def _legend_below(fig: plt.Figure, ax: plt.Axes) -> None:
    """The axes' legend in one row below the figure, where it covers no data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(labels), 3), frameon=False,
    )  # fmt: skip


def scatter_marginals(
    df: pd.DataFrame,
    x: str,
    y: str,
    hue: str | None = "source",
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> plt.Figure:
    """Scatter of ``y`` against ``x`` with each variable's distribution in the margins.

    Parameters
    ----------
    df : DataFrame
        One row per point (e.g. pair) with columns ``x``, ``y`` [and ``hue``].
    hue : str or None
        Colour column; the audio sources get :data:`SOURCE_PALETTE`. The legend sits below
        the figure, in one row, so that it covers no point.
    xlim, ylim : (float, float), optional
        Axis limits (e.g. ``(0, 10)`` for a rating). Default: the data's range with a 4%
        margin (the marginal densities do not widen the axes).
    """
    palette = SOURCE_PALETTE if hue == "source" else None
    if palette is not None:
        palette = {k: v for k, v in palette.items() if k in set(df[hue])}
    grid = sns.jointplot(
        data=df,
        x=x,
        y=y,
        hue=hue,
        palette=palette,
        height=0.85 * FIG_WIDTH,
        s=14,
        alpha=0.6,
        edgecolor=None,
        marginal_kws={"common_norm": False, "fill": False, "cut": 0},
    )
    grid.ax_joint.set_xlim(*(xlim or _padded_range(df[x])))
    grid.ax_joint.set_ylim(*(ylim or _padded_range(df[y])))
    grid.set_axis_labels(xlabel or x, ylabel or y)
    legend = grid.ax_joint.get_legend()
    if legend is not None:
        n = len(legend.get_texts())
        sns.move_legend(
            grid.ax_joint, "upper center", bbox_to_anchor=(0.5, -0.13), ncol=min(n, 5),
            frameon=False, title=None, markerscale=1.6, handletextpad=0.2, columnspacing=1.0,
        )  # fmt: skip
    if title:
        grid.figure.suptitle(title, y=1.07)  # above the corner tag of a simulated figure
    return grid.figure


def _padded_range(values: pd.Series, margin: float = 0.04) -> tuple[float, float]:
    """The range of the finite ``values`` widened by ``margin`` of its width on each side."""
    finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    pad = margin * (hi - lo) if hi > lo else 0.5
    return lo - pad, hi + pad


def cell_heatmap(
    table: pd.DataFrame,
    rows: str,
    cols: str,
    value: str = "coef",
    p: str | None = "p",
    title: str = "",
    center: float = 0.0,
    cbar_label: str = "",
    missing_label: str | None = "not estimated (too few ratings)",
) -> plt.Figure:
    """A diverging heatmap of one value per (row, column) cell, starred where ``p`` < 0.05,
    with a colour bar labelled ``cbar_label``.

    Parameters
    ----------
    table : DataFrame
        One row per cell with columns ``rows``, ``cols``, ``value`` [and ``p``]; NaN cells
        (e.g. too few ratings) and combinations absent from the table are drawn grey and
        unlabelled.
    missing_label : str or None
        What a grey cell means, shown (with the count of grey cells) in a legend below the
        figure when there is one; None shows no legend.
    cbar_label : str
        What the colours mean, with its unit (required: a colour bar without a label is
        unreadable).

    Raises
    ------
    ValueError
        When ``cbar_label`` is empty.
    """
    if not cbar_label.strip():
        raise ValueError("cell_heatmap: cbar_label is empty; say what the colours mean")
    grid = table.pivot(index=rows, columns=cols, values=value)
    annot = grid.map(lambda v: "" if pd.isna(v) else f"{v:+.2f}")
    if p is not None:
        stars = table.pivot(index=rows, columns=cols, values=p)
        annot = annot + stars.map(lambda v: "*" if pd.notna(v) and v < 0.05 else "")
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.5 * grid.shape[0] + 2.0), layout="constrained")
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
    ax.set_facecolor(_MISSING)  # cells without an estimate (too few ratings) stay grey
    ax.set_xlabel("")
    ax.set_ylabel("")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    plt.setp(ax.get_yticklabels(), rotation=0)
    n_missing = int(grid.isna().to_numpy().sum())
    if missing_label and n_missing:  # between the title and the cells
        patch = Patch(facecolor=_MISSING, edgecolor="#999999", label=(
            f"{missing_label}: {n_missing} of {grid.size} cells"
        ))  # fmt: skip
        ax.legend(
            handles=[patch], loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False,
            handlelength=1.4, handleheight=1.1, borderaxespad=0.2,
        )  # fmt: skip
    ax.set_title(title, pad=28 if missing_label and n_missing else 6)
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
    fig, ax = plt.subplots(figsize=(FIG_WIDTH, 0.55 * len(conditions) + 1.5), layout="constrained")
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
    _legend_below(fig, ax)
    return fig
