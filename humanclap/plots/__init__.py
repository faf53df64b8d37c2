"""The book's figures (seaborn / matplotlib).

Every function takes tidy DataFrames, draws one figure and returns its :class:`matplotlib.figure.Figure`;
none computes statistics of its own (those come from :mod:`humanclap.stats`).

Submodules (every public name is re-exported here, e.g. ``humanclap.plots.forest``):

- :mod:`humanclap.plots.style` -- the plotting style (``setup``), ``SOURCE_PALETTE`` and
  ``mark_simulated`` (the tag on every figure of the embedded world).
- :mod:`humanclap.plots.ratings` -- score distributions, pair means, screening bars, listener bias.
- :mod:`humanclap.plots.agreement` -- forest plots, scatter with marginals, cell heatmaps, effects.
- :mod:`humanclap.plots.training` -- learning curves and per-recipe points over seeds.
- :mod:`humanclap.plots.audio` -- the spectrogram of a clip.
- :mod:`humanclap.plots.export` -- a figure as the book shows it: a PNG at twice its displayed
  resolution, the size of its smallest text, alt text checked, an HTML ``<figure>``.
- :mod:`humanclap.plots.tables` -- the one table formatter (``format_table``) and
  ``csv_download``.
"""

from humanclap.plots.agreement import cell_heatmap, effects, forest, scatter_marginals
from humanclap.plots.audio import spectrogram
from humanclap.plots.export import (
    FigureImage,
    check_alt_text,
    figure_html,
    figure_image,
    smallest_text_pt,
)
from humanclap.plots.ratings import (
    listener_bias,
    pair_mean_distributions,
    score_distribution_heatmap,
    screening_bars,
)
from humanclap.plots.style import (
    FIG_WIDTH,
    MIN_TEXT_PX,
    SIMULATED_TAG,
    SOURCE_PALETTE,
    mark_simulated,
    setup,
)
from humanclap.plots.tables import csv_download, format_table, table_text
from humanclap.plots.training import learning_curves, recipe_points

__all__ = [
    "FIG_WIDTH",
    "MIN_TEXT_PX",
    "FigureImage",
    "SIMULATED_TAG",
    "SOURCE_PALETTE",
    "cell_heatmap",
    "check_alt_text",
    "figure_html",
    "figure_image",
    "smallest_text_pt",
    "csv_download",
    "effects",
    "forest",
    "format_table",
    "learning_curves",
    "recipe_points",
    "listener_bias",
    "mark_simulated",
    "pair_mean_distributions",
    "scatter_marginals",
    "score_distribution_heatmap",
    "screening_bars",
    "setup",
    "spectrogram",
    "table_text",
]
