"""humanclap.plots.ratings: the listener-bias panel's count axis (ticks that never collide)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from humanclap import plots  # noqa: E402
from humanclap.plots.ratings import _count_axis, _jitter  # noqa: E402


def _bias(counts: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"n_ratings": counts, "bias": rng.normal(size=len(counts))})


def _shown_labels(ax: plt.Axes) -> list:
    """The x tick labels inside the axis's range that carry text, after drawing."""
    ax.figure.canvas.draw()
    lo, hi = sorted(ax.get_xlim())
    return [
        t
        for t, v in zip(ax.get_xticklabels(), ax.get_xticks(), strict=True)
        if t.get_text() and lo <= v <= hi
    ]


def _assert_no_collisions(ax: plt.Axes) -> list[str]:
    labels = _shown_labels(ax)
    renderer = ax.figure.canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 <= right.x0, "tick labels overlap"
    return [t.get_text() for t in labels]


def test_relate_like_counts_get_a_linear_axis_with_plain_integer_labels() -> None:
    # RELATE: every listener rates 3 to 18 pairs, in steps of 3
    counts = np.repeat([3, 6, 9, 12, 15, 18], [20, 40, 50, 40, 10, 800]).astype(float)
    fig = plots.listener_bias(_bias(counts))
    ax = fig.axes[1]
    assert ax.get_xscale() == "linear"
    texts = _assert_no_collisions(ax)
    assert texts and all(t.lstrip("−-").isdigit() for t in texts), texts
    assert not any("^" in t or "times" in t for t in texts)  # no 3×10^0 mathtext
    plt.close(fig)


def test_wide_counts_get_a_log_axis_labelled_1_2_5() -> None:
    counts = np.geomspace(1, 500, 300).round()
    fig = plots.listener_bias(_bias(counts))
    ax = fig.axes[1]
    assert ax.get_xscale() == "log"
    texts = _assert_no_collisions(ax)
    assert {"1", "10", "100"} <= set(texts), texts
    assert set(texts) <= {"1", "2", "5", "10", "20", "50", "100", "200", "500"}
    # no minor tick carries a label
    assert not any(t.get_text() for t in ax.xaxis.get_minorticklabels())
    plt.close(fig)


@pytest.mark.parametrize(("low", "high", "log"), [(1, 20, False), (1, 21, True), (3, 18, False)])
def test_count_axis_switches_to_log_above_a_factor_of_20(low: int, high: int, log: bool) -> None:
    fig, ax = plt.subplots()
    assert _count_axis(ax, np.array([low, high, np.nan, 0.0])) is log
    plt.close(fig)


def test_jitter_only_spreads_integer_counts_and_stays_within_its_width() -> None:
    ints = np.array([3.0, 6.0, 6.0, 18.0])
    spread = _jitter(ints, 0.3)
    assert spread.shape == (4,) and np.all(np.abs(spread) <= 0.3) and np.any(spread != 0)
    np.testing.assert_array_equal(spread, _jitter(ints, 0.3))  # deterministic
    np.testing.assert_array_equal(_jitter(np.array([2.5, 3.0]), 0.3), np.zeros(2))
    np.testing.assert_array_equal(_jitter(np.array([]), 0.3), np.zeros(0))


def test_points_keep_their_values_up_to_the_jitter() -> None:
    counts = np.array([3.0, 6.0, 9.0, 18.0])
    bias = _bias(counts)
    fig = plots.listener_bias(bias)
    offsets = fig.axes[1].collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], bias["bias"])
    assert np.all(np.abs(offsets[:, 0] - counts) <= 0.3)
    plt.close(fig)
