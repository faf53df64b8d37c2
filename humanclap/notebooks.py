"""Deprecated: the papermill runner moved to :mod:`humanclap.book.runner` (same names)."""

from humanclap.book.runner import (
    NotebookError,
    RunResult,
    book_notebooks,
    declared_parameters,
    load_params,
    run_notebook,
    run_notebooks,
)
from humanclap.utils.deprecation import warn_moved_module

__all__ = [
    "NotebookError",
    "RunResult",
    "book_notebooks",
    "declared_parameters",
    "load_params",
    "run_notebook",
    "run_notebooks",
]

warn_moved_module("humanclap.notebooks", "humanclap.book.runner")
