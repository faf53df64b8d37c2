"""Statistics of ratings and of model--human agreement: pure functions, no plotting, no IO.

Submodules (one concern each; every public name is re-exported here, e.g.
``humanclap.stats.bootstrap_report``):

- :mod:`humanclap.stats.agreement` -- SRCC / LCC / KTAU / MSE against humans, bootstrap intervals.
- :mod:`humanclap.stats.bootstrap` -- the vectorised resampling behind those intervals: captions
  by default (``clusters=``, all the pairs of a caption together), or pairs (``unit="pair"``).
- :mod:`humanclap.stats.seeds` -- several-seed recipes against a reference (two-level bootstrap).
- :mod:`humanclap.stats.multiple` -- Holm (planned families) and Benjamini-Hochberg q-values (rankings).
- :mod:`humanclap.stats.interrater` -- reliability of the pair means (ANOVA ICCs, split halves).
- :mod:`humanclap.stats.ceiling` -- noise ceiling per group (LCC; SRCC by simulation); one listener
  against the rest.
- :mod:`humanclap.stats.listeners` -- each listener's severity and consistency vs the others.
- :mod:`humanclap.stats.mixed` -- mixed models with a listener random intercept; the cell model.
- :mod:`humanclap.stats.effects` -- model vs listeners: calibrated residuals, standardised effects.
- :mod:`humanclap.stats.decomposition` -- agreement within groups versus between them.
- :mod:`humanclap.stats.means` -- a mean with a caption-resampled bootstrap interval.
- :mod:`humanclap.stats.power` -- the smallest SRCC difference a recipe comparison detects.
"""

from humanclap.stats._checks import PAIR
from humanclap.stats.agreement import (
    CORRELATIONS,
    METRICS,
    bootstrap_report,
    correlation_report,
    grouped_report,
    paired_comparison,
)
from humanclap.stats.ceiling import (
    noise_ceiling_table,
    one_vs_rest,
    srcc_ceiling,
    srcc_ceiling_by,
)
from humanclap.stats.decomposition import within_between
from humanclap.stats.effects import calibrated_residuals, standardized_effects
from humanclap.stats.interrater import reliability, reliability_by, split_half
from humanclap.stats.listeners import listener_bias
from humanclap.stats.means import mean_ci
from humanclap.stats.mixed import cell_gaps, cell_model, mixed_model, mixed_model_table
from humanclap.stats.multiple import bh_qvalues, holm
from humanclap.stats.power import minimum_detectable_difference, srcc_difference_se
from humanclap.stats.seeds import seed_comparison

__all__ = [
    "CORRELATIONS",
    "METRICS",
    "PAIR",
    "bh_qvalues",
    "bootstrap_report",
    "calibrated_residuals",
    "cell_gaps",
    "cell_model",
    "correlation_report",
    "grouped_report",
    "holm",
    "listener_bias",
    "mean_ci",
    "minimum_detectable_difference",
    "mixed_model",
    "mixed_model_table",
    "noise_ceiling_table",
    "one_vs_rest",
    "paired_comparison",
    "reliability",
    "reliability_by",
    "seed_comparison",
    "split_half",
    "srcc_difference_se",
    "srcc_ceiling",
    "srcc_ceiling_by",
    "standardized_effects",
    "within_between",
]
