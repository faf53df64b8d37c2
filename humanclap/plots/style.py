"""The book's plotting style and the colour of each audio source."""

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


def setup() -> None:
    """The book's plotting style."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.bbox": "tight", "axes.titleweight": "bold"})


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
            0.995, 1.01, tag, ha="right", va="bottom", fontsize=8.5, color="#b3261e",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.25", "fc": "#fdecea", "ec": "#b3261e", "lw": 0.8},
        )  # fmt: skip
        text._humanclap_tag = True
    return fig
