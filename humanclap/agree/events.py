"""The hook that gives ``humanclap agree`` its fine sound-event types.

:func:`default_events` is what the command calls to get the ``event`` grouping of its report.
It returns ``None`` (no ``event`` rows) until the AudioSet-ontology matcher of
:mod:`humanclap.data` is wired in here; any function returning the same table can stand in,
e.g. ``agreement_report(..., events=my_events(pairs))``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["EVENT_COLUMNS", "default_events"]

#: Columns of an events table: one row per (pair, sound-event type); a pair may have several.
EVENT_COLUMNS: tuple[str, ...] = ("wavname", "text", "event")


def default_events(pairs: pd.DataFrame) -> pd.DataFrame | None:
    """The fine sound-event types of ``pairs``, or ``None`` when none are available.

    Parameters
    ----------
    pairs : pd.DataFrame
        One row per pair (:func:`humanclap.data.pair_table`), shape (n_pairs, k).

    Returns
    -------
    pd.DataFrame or None
        Columns :data:`EVENT_COLUMNS`, shape (n_rows, 3); ``None`` for now (no matcher yet).
    """
    return None
