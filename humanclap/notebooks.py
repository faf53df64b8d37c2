"""Deprecated: the papermill runner moved to :mod:`humanclap.book.runner` (same names)."""

import warnings

from humanclap.book.runner import (
    NotebookError,
    RunResult,
    book_notebooks,
    declared_parameters,
    load_params,
    run_notebook,
    run_notebooks,
)

__all__ = [
    "NotebookError",
    "RunResult",
    "book_notebooks",
    "declared_parameters",
    "load_params",
    "run_notebook",
    "run_notebooks",
]

warnings.warn(
    "humanclap.notebooks is deprecated: use humanclap.book.runner (same names)",
    DeprecationWarning,
    stacklevel=2,
)
