"""Deprecated alias of the agreement functions now in :mod:`humanclap.stats` (same names)."""

import warnings

from humanclap.stats import (
    CORRELATIONS,
    METRICS,
    bootstrap_report,
    correlation_report,
    grouped_report,
    paired_comparison,
    seed_comparison,
)

__all__ = [
    "CORRELATIONS",
    "METRICS",
    "bootstrap_report",
    "correlation_report",
    "grouped_report",
    "paired_comparison",
    "seed_comparison",
]

warnings.warn(
    "humanclap.metrics is deprecated: use humanclap.stats (same names)",
    DeprecationWarning,
    stacklevel=2,
)
