"""Deprecated alias of the agreement functions now in :mod:`humanclap.stats` (same names)."""

from humanclap.stats import (
    CORRELATIONS,
    METRICS,
    bootstrap_report,
    correlation_report,
    grouped_report,
    paired_comparison,
    seed_comparison,
)
from humanclap.utils.deprecation import warn_moved_module

__all__ = [
    "CORRELATIONS",
    "METRICS",
    "bootstrap_report",
    "correlation_report",
    "grouped_report",
    "paired_comparison",
    "seed_comparison",
]

warn_moved_module("humanclap.metrics", "humanclap.stats")
