"""The book's figure style and how a figure is shown: font sizes set once, figures drawn at the
width of the content column and saved at twice it, text at least 10 px as displayed, a colour bar
on every heatmap and spectrogram, alt text required, figures numbered per chapter."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import humanclap.plots as hp  # noqa: E402
from humanclap.book import chapter as chapter_module  # noqa: E402
from humanclap.book.figures import FIGURE_METADATA, figure_anchor, figure_label  # noqa: E402
from humanclap.data import Dataset  # noqa: E402
from humanclap.plots import style  # noqa: E402

#: The content column of the built book in the browser check's 1280-px window (CSS px).
COLUMN_PX = 688
SOURCES = ["audiocaps", "audioldm", "audioldm2", "tango", "tango2"]


@pytest.fixture(autouse=True)
def _style():
    hp.setup()
    yield
    plt.close("all")


def _figures() -> dict[str, plt.Figure]:
    rng = np.random.default_rng(0)
    n = 300
    pairs = pd.DataFrame(
        {
            "clapscore": rng.normal(0.3, 0.2, n),
            "mean_score": rng.uniform(0, 10, n),
            "source": rng.choice(SOURCES, n),
        }
    )
    ratings = pd.DataFrame(
        {"source": rng.choice(SOURCES, 2000), "score": rng.integers(0, 11, 2000)}
    )
    cats = ["Human sounds", "Animal", "Music", "Natural sounds", "Sounds of things"]
    cells = pd.DataFrame(
        [(s, c, rng.normal(), rng.uniform()) for s in SOURCES for c in cats],
        columns=["source", "category", "coef", "p"],
    )
    groups = pd.DataFrame({"label": [f"source: group {i}" for i in range(8)]})
    groups["estimate"] = rng.uniform(0, 1, len(groups))
    groups["lo"], groups["hi"] = groups["estimate"] - 0.1, groups["estimate"] + 0.1
    effects = pd.DataFrame(
        [(c, col, rng.normal()) for c in ["count", "swap", "missing"] for col in ["a", "b"]],
        columns=["condition", "col", "effect"],
    )
    effects["lo"], effects["hi"] = effects["effect"] - 0.2, effects["effect"] + 0.2
    history = pd.DataFrame(
        [(e, s, 1 / (e + 1), 1 / (e + 2), 0.3 + 0.01 * e) for s in "012" for e in range(5)],
        columns=["epoch", "seed", "train_loss", "val_loss", "val_srcc"],
    )
    runs = pd.DataFrame([(r, rng.uniform(0.3, 0.4)) for r in "abc" for _ in range(5)])
    runs.columns = ["name", "srcc"]
    summary = runs.groupby("name")["srcc"].mean().rename("mean").reset_index()
    summary["lo"], summary["hi"] = summary["mean"] - 0.02, summary["mean"] + 0.02
    screening = pd.DataFrame({"source": SOURCES, "kept": 900, "anchors": 50, "screened": 20})
    bias = pd.DataFrame({"bias": rng.normal(size=200), "n_ratings": rng.integers(3, 200, 200)})
    audio = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    return {
        "scatter_marginals": hp.scatter_marginals(pairs, "clapscore", "mean_score", title="t"),
        "score_distribution_heatmap": hp.score_distribution_heatmap(ratings, by="source"),
        "cell_heatmap": hp.cell_heatmap(cells, "source", "category", cbar_label="residual"),
        "forest": hp.forest(groups, "label", ref=0.3, ref_label="overall", xlabel="SRCC"),
        "effects": hp.effects(effects, xlabel="shift (SD)"),
        "pair_mean_distributions": hp.pair_mean_distributions(pairs, by="source"),
        "screening_bars": hp.screening_bars(screening, "source", "kept", ["anchors", "screened"]),
        "listener_bias": hp.listener_bias(bias, title="bias"),
        "learning_curves": hp.learning_curves(history, title="curves"),
        "recipe_points": hp.recipe_points(runs, summary, value="srcc", ref=0.3, ref_label="base"),
        "spectrogram": hp.spectrogram(audio, 16000, title="a tone"),
    }


def test_setup_sets_the_font_sizes_and_resolution_once() -> None:
    for key, size in style.FONT_SIZES.items():
        assert plt.rcParams[key] == size, key
    assert min(style.FONT_SIZES.values()) * 96 / 72 >= 12  # 12 px at the natural size
    assert plt.rcParams["figure.dpi"] == style.CSS_DPI == 96
    assert plt.rcParams["savefig.dpi"] == 2 * style.CSS_DPI
    assert plt.rcParams["figure.figsize"] == [hp.FIG_WIDTH, 4.0]


def test_every_figure_fits_the_column_with_text_of_at_least_10_px() -> None:
    """Each figure, tagged as the simulated chapters tag them, is at most the column's width at
    its natural size and its smallest text is at least 10 px when shown in the column."""
    for name, fig in _figures().items():
        hp.mark_simulated(fig)
        image = hp.figure_image(fig)
        assert image.css_width <= COLUMN_PX, (name, image.css_width)
        shown = image.min_text_px * min(COLUMN_PX, image.css_width) / image.width_px
        assert shown >= hp.MIN_TEXT_PX, (name, shown)
        assert image.min_text_pt >= 9.0, name


def test_figure_image_is_a_palette_png_at_twice_the_displayed_width() -> None:
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    ax.set_title("title", fontsize=11)
    ax.tick_params(labelsize=7)  # the smallest text
    image = hp.figure_image(fig)
    png = Image.open(io.BytesIO(image.png))
    assert png.mode == "P" and png.size == (image.width_px, image.height_px)
    assert image.pixel_ratio == 2 and image.css_width == round(image.width_px / 2)
    assert image.min_text_pt == 7.0 and image.min_text_px == pytest.approx(7 * 192 / 72)
    assert 300 < image.css_width <= 4 * 96 + 10  # at most the figure's width plus padding
    assert image.data_uri.startswith("data:image/png;base64,iVBOR")


def test_smallest_text_counts_only_drawn_text() -> None:
    fig, ax = plt.subplots()
    ax.set_xlabel("x", fontsize=12)
    ax.tick_params(labelsize=11)
    fig.text(0.5, 0.5, "", fontsize=3)  # empty: not drawn
    fig.text(0.5, 0.5, "hidden", fontsize=4).set_visible(False)
    other = fig.add_subplot(2, 2, 4)
    other.tick_params(labelsize=5)
    other.axis("off")  # its tick labels are not drawn
    assert hp.smallest_text_pt(fig) == 11.0
    empty = plt.figure()
    assert np.isnan(hp.smallest_text_pt(empty))


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("score_distribution_heatmap", "% of ratings"),
        ("cell_heatmap", "residual"),
        ("spectrogram", "power (dB)"),
    ],
)
def test_heatmaps_and_spectrograms_have_a_labelled_colour_bar(name: str, label: str) -> None:
    fig = _figures()[name]
    bars = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
    assert len(bars) == 1, name
    assert bars[0]._colorbar.ax.get_ylabel() == label


def test_spectrogram_colour_scale_spans_the_top_80_db() -> None:
    fig = hp.spectrogram(np.random.default_rng(0).normal(size=16000), 16000)
    (image,) = fig.axes[0].images
    lo, hi = image.get_clim()
    assert hi - lo == pytest.approx(hp.audio.TOP_DB) and hi == image.get_array().max()


def test_cell_heatmap_needs_a_colour_bar_label() -> None:
    table = pd.DataFrame({"r": ["a"], "c": ["x"], "coef": [0.1], "p": [0.5]})
    with pytest.raises(ValueError, match="cbar_label"):
        hp.cell_heatmap(table, "r", "c")


@pytest.mark.parametrize(
    ("alt", "message"),
    [
        (None, "needs alt text"),
        ("  ", "needs alt text"),
        ("../../_images/0f3a.png", "looks like a file name or path"),
        ("plot.svg", "looks like a file name or path"),
        ("a heatmap", "too short"),
    ],
)
def test_alt_text_must_describe_the_figure(alt: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hp.check_alt_text(alt)


def test_alt_text_is_normalised() -> None:
    assert (
        hp.check_alt_text(" A heatmap of  scores\nby source. ") == "A heatmap of scores by source."
    )


def test_figure_html_has_the_alt_text_caption_and_text_size() -> None:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xlabel("x < 1 & y")
    image = hp.figure_image(fig)
    html = hp.figure_html(
        image,
        label="Figure 2.3",
        caption="Scores <by> source",
        alt='A "line" of y against x.',
        anchor="figure-2-3",
    )
    assert html.startswith('<figure class="humanclap-figure" id="figure-2-3"')
    assert 'alt="A &quot;line&quot; of y against x."' in html
    assert f'width="{image.css_width}" height="{image.css_height}"' in html
    assert f'data-min-text-px="{image.min_text_px:.2f}"' in html
    assert html.endswith(
        "<figcaption><strong>Figure 2.3.</strong> Scores &lt;by&gt; source</figcaption></figure>"
    )


def test_figure_labels_and_anchors() -> None:
    assert figure_label("2", 3) == "Figure 2.3"
    assert figure_label("A", 1) == "Figure A.1"
    assert figure_label(None, 4) == "Figure 4"
    assert figure_anchor("Figure 2.3") == "figure-2-3"


def _chapter(kind: str, number: str | None) -> chapter_module.Chapter:
    return chapter_module.Chapter({}, Dataset(kind, Path("."), None), None, number=number)


def test_chapter_numbers_its_figures_and_requires_alt_text(monkeypatch) -> None:
    shown: list = []
    monkeypatch.setattr(
        chapter_module, "display", lambda obj, **kw: shown.append((obj, kw.get("metadata")))
    )
    ch = _chapter("relate", "2")
    for i in (1, 2):
        fig, ax = plt.subplots()
        ax.set_xlabel("x")
        ch.figure(fig, caption=f"Panel {i}", alt="A set of axes with an x label only.")
        assert not plt.fignum_exists(fig.number)
    (first, meta1), (second, meta2) = shown
    assert first["text/plain"] == "Figure 2.1. Panel 1"
    assert second["text/plain"] == "Figure 2.2. Panel 2"
    assert 'id="figure-2-2"' in second["text/html"]
    assert meta2[FIGURE_METADATA]["label"] == "Figure 2.2"
    assert meta2[FIGURE_METADATA]["min_text_pt"] == 9.0
    assert meta2[FIGURE_METADATA]["alt"] == "A set of axes with an x label only."

    fig = plt.figure()
    with pytest.raises(TypeError, match="alt"):
        ch.figure(fig, caption="no alt")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="file name or path"):
        ch.figure(fig, caption="a path", alt="figures/panel.png")
    with pytest.raises(ValueError, match="caption"):
        ch.figure(plt.figure(), caption=" ", alt="A set of axes with nothing drawn.")
    assert ch.figures_shown == 2 and len(shown) == 2  # refused figures take no number
    assert not plt.fignum_exists(fig.number)  # closed all the same


def test_simulated_chapter_tags_the_caption_and_the_figure(monkeypatch) -> None:
    shown: list = []
    monkeypatch.setattr(chapter_module, "display", lambda obj, **kw: shown.append(obj))
    ch = _chapter("synthetic", "A")
    fig, _ = plt.subplots()
    ch.figure(fig, caption="The world", alt="A set of axes standing in for a figure.")
    assert shown[0]["text/plain"] == "Figure A.1. Simulated: The world"
    assert "<strong>Figure A.1.</strong> Simulated: The world" in shown[0]["text/html"]
    assert any(t.get_text() == hp.SIMULATED_TAG for t in fig.texts)
