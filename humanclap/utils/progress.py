"""What ``progress=`` means in every humanclap function, and the bar it shows.

``progress=True`` shows a text progress bar on stderr, ``False`` never does, and ``None``
(the default everywhere) shows one only when stderr is a terminal: in a notebook, a log file
or CI nothing is printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm  # text bar: tqdm.auto warns in notebooks without ipywidgets

__all__ = ["progress_bar", "want_progress"]


def want_progress(progress: bool | None) -> bool:
    """``progress`` as a bool: ``None`` means "when stderr is a terminal"."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def progress_bar(iterable: Iterable | None = None, *, progress: bool | None, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar that is disabled unless :func:`want_progress` says otherwise.

    ``kwargs`` go to ``tqdm`` (``total``, ``desc``, ``unit``, ``leave`` ...).
    """
    return tqdm(iterable, disable=not want_progress(progress), **kwargs)
