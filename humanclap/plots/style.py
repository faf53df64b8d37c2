"""The book's plotting style (font sizes, the figures' width and resolution) and the colour of
each audio source."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure

#: What a figure drawn from the embedded world says in its top-right corner.
SIMULATED_TAG = "SIMULATED world: a method check, not RELATE"

#: One colour per audio source, used in every chapter: natural audio in grey, the four
#: text-to-audio systems in four clearly distinct colour-blind-safe hues (Okabe & Ito).
SOURCE_PALETTE = {
    "audiocaps": "#8c8c8c",
    "audioldm": "#0072B2",
    "audioldm2": "#E69F00",
    "tango": "#009E73",
    "tango2": "#CC79A7",
}
# The embedded world's sources (humanclap.data.SIMULATED_SOURCES: "sim-audioldm" ...) in the
# colours of the folders they are stored in.
SOURCE_PALETTE.update({f"sim-{name}": SOURCE_PALETTE[name] for name in list(SOURCE_PALETTE)[1:]})


#: CSS pixels per inch: a figure is drawn at the size it is shown, one inch = 96 CSS px.
CSS_DPI = 96
#: The width figures are drawn at, in inches: the book's content column less the saved
#: figure's padding (662 CSS px, 672 with it, of 688), so that a figure is shown at its natural size, not
#: scaled down. The column, measured in the built book in Chromium: 688 px in a 1280-px window
#: (the browser check's), 736 at 800 px, 755 at 1024 px, 790 from 1440 px.
FIG_WIDTH = 6.9
#: The saved PNG has this many image pixels per CSS pixel (sharp on high-density screens).
PIXEL_RATIO = 2
#: The smallest text a reader gets, in CSS px as displayed (``make check-book`` checks it).
MIN_TEXT_PX = 10.0
#: Font sizes in points, set once here; at 96 CSS px per inch a point is 4/3 px, so the
#: smallest (9 pt, tick labels and legends) is 12 px at the figure's natural size and stays
#: above :data:`MIN_TEXT_PX` down to 83% of it.
FONT_SIZES = {
    "font.size": 10.0,
    "axes.labelsize": 10.0,
    "axes.titlesize": 11.0,
    "figure.titlesize": 11.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
}


def setup() -> None:
    """The book's plotting style: seaborn's whitegrid, the font sizes of :data:`FONT_SIZES`,
    figures :data:`FIG_WIDTH` inches wide shown at :data:`CSS_DPI` and saved at
    :data:`PIXEL_RATIO` times that resolution."""
    sns.set_theme(context="notebook", style="whitegrid")
    plt.rcParams.update(
        {
            **FONT_SIZES,
            "figure.dpi": CSS_DPI,
            "figure.figsize": (FIG_WIDTH, 4.0),
            "savefig.dpi": CSS_DPI * PIXEL_RATIO,
            "savefig.bbox": "tight",
            "savefig.pad_inches": 0.05,
            "savefig.facecolor": "white",
            "axes.titleweight": "bold",
        }
    )


def mark_simulated(fig: Figure, tag: str = SIMULATED_TAG) -> Figure:
    """Write ``tag`` just above the figure's top-right corner (once), in the book's warning
    colour; a tight bounding box (the notebook's inline figures, ``savefig.bbox: tight``) makes
    room for it, so it never covers a title.

    Parameters
    ----------
    fig : Figure
        A figure of numbers from the embedded simulated world.
    tag : str
        The text shown.

    Returns
    -------
    Figure
        ``fig``, tagged.
    """
    if not any(getattr(t, "_humanclap_tag", False) for t in fig.texts):
        text = fig.text(
            0.995, 1.01, tag, ha="right", va="bottom", fontsize=9, color="#b3261e",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.25", "fc": "#fdecea", "ec": "#b3261e", "lw": 0.8},
        )  # fmt: skip
        text._humanclap_tag = True
    return fig
