"""The book's plotting style and the colour of each audio source."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

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
