"""The agreement figures (humanclap.plots.agreement) and the source colours."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

import humanclap.plots as hp  # noqa: E402

SOURCES = ["audiocaps", "audioldm", "audioldm2", "tango", "tango2"]


@pytest.fixture
def pairs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 100
    return pd.DataFrame(
        {
            "clapscore": rng.uniform(-0.3, 0.8, n),
            "mean_score": rng.uniform(1.0, 9.5, n),
            "source": np.repeat(SOURCES, n // len(SOURCES)),
        }
    )


def test_source_palette_has_five_distinct_colours_and_grey_natural_audio() -> None:
    colours = np.array([to_rgb(hp.SOURCE_PALETTE[s]) for s in SOURCES])
    r, g, b = to_rgb(hp.SOURCE_PALETTE["audiocaps"])
    assert r == g == b  # natural audio in grey
    gaps = [np.abs(colours[i] - colours[j]).sum() for i in range(5) for j in range(i + 1, 5)]
    assert min(gaps) > 0.4  # no two sources in near-identical shades


def test_scatter_axes_follow_the_data_or_the_given_limits(pairs: pd.DataFrame) -> None:
    fig = hp.scatter_marginals(pairs, "clapscore", "mean_score", title="t")
    ax = fig.axes[0]
    lo, hi = pairs["clapscore"].min(), pairs["clapscore"].max()
    pad = 0.04 * (hi - lo)
    assert ax.get_xlim() == pytest.approx((lo - pad, hi + pad))
    assert ax.get_ylim()[0] >= pairs["mean_score"].min() - 0.5
    plt.close(fig)
    fig = hp.scatter_marginals(pairs, "clapscore", "mean_score", ylim=(0, 10))
    assert fig.axes[0].get_ylim() == (0.0, 10.0)
    plt.close(fig)


def test_scatter_legend_sits_below_the_points_with_each_source(pairs: pd.DataFrame) -> None:
    fig = hp.scatter_marginals(pairs, "clapscore", "mean_score")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == SOURCES
    fig.canvas.draw()
    assert legend.get_window_extent().y1 < ax.get_window_extent().y0  # entirely below the axes
    plt.close(fig)


def test_heatmap_explains_its_grey_cells() -> None:
    table = pd.DataFrame(
        {
            "source": ["a", "a", "b", "b"],
            "category": ["x", "y", "x", "y"],
            "coef": [0.5, np.nan, -0.2, np.nan],
            "p": [0.01, np.nan, 0.5, np.nan],
        }
    )
    fig = hp.cell_heatmap(
        table, "source", "category", cbar_label="residual", missing_label="fewer than 20 ratings"
    )
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == ["fewer than 20 ratings: 2 of 4 cells"]
    annotations = {t.get_text() for t in fig.axes[0].texts}
    assert {"+0.50*", "-0.20"} <= annotations
    plt.close(fig)
    full = table.fillna({"coef": 0.1, "p": 0.9})
    fig = hp.cell_heatmap(full, "source", "category", cbar_label="residual")
    assert fig.axes[0].get_legend() is None  # nothing grey, nothing to explain
    plt.close(fig)


def test_forest_legend_is_below_and_markers_are_drawn() -> None:
    table = pd.DataFrame(
        {
            "label": ["a", "b", "c"],
            "estimate": [0.2, 0.4, 0.1],
            "lo": [0.1, 0.3, 0.0],
            "hi": [0.3, 0.5, 0.2],
            "ceiling_srcc": [0.8, np.nan, 0.7],
        }
    )
    fig = hp.forest(
        table, "label", ref=0.25, ref_label="overall", marker="ceiling_srcc", marker_label="ceiling"
    )
    assert fig.axes[0].get_legend() is None and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["overall", "ceiling"]
    marker = fig.axes[0].collections[-1]
    assert marker.get_offsets().tolist() == [[0.8, 0.0], [0.7, 2.0]]  # NaN draws nothing
    plt.close(fig)
