"""The fine sound-event types of the pairs ``humanclap agree`` reports on.

:func:`default_events` maps each pair's caption to AudioSet ontology classes
(:func:`humanclap.data.caption_events`, rolled up to :data:`EVENT_DEPTH`) and returns one row per
(pair, event type). A pair whose caption names no class is kept as ``"(none)"``
(:func:`humanclap.data.explode_events`); nothing is dropped. When the ontology file cannot be
found (offline, nothing cached) there are no event rows, and the report says so. Any other
function returning the same table can stand in:
``agreement_report(..., events=my_events(pairs))``.
"""

from __future__ import annotations

import os

import pandas as pd

from humanclap.data import OntologyError, caption_events, explode_events, load_ontology

__all__ = ["EVENT_COLUMNS", "EVENT_DEPTH", "NO_ONTOLOGY", "default_events"]

#: Columns of an events table: one row per (pair, sound-event type); a pair may have several.
EVENT_COLUMNS: tuple[str, ...] = ("wavname", "text", "event")
#: Ontology depth of the event types (0: the 7 top-level categories; 2: Speech, Dog, Engine ...).
EVENT_DEPTH = 2
#: What a report says when :func:`default_events` found no ontology.
NO_ONTOLOGY = (
    "no sound-event types: the AudioSet ontology was not found (offline and not cached); set "
    "$HUMANCLAP_ONTOLOGY to a copy of ontology.json, or run once online"
)


def default_events(
    pairs: pd.DataFrame, ontology: str | os.PathLike | None = None, depth: int = EVENT_DEPTH
) -> pd.DataFrame | None:
    """The fine sound-event types of ``pairs``, or ``None`` when the ontology is unavailable.

    Parameters
    ----------
    pairs : pd.DataFrame
        One row per pair with ``wavname`` and ``text``, shape (n_pairs, k).
    ontology : path-like, optional
        ``ontology.json`` (default: found or downloaded as :func:`humanclap.data.load_ontology`
        does).
    depth : int
        Ontology depth the matched classes are rolled up to.

    Returns
    -------
    pd.DataFrame or None
        Columns :data:`EVENT_COLUMNS`, shape (n_rows, 3).
    """
    try:
        onto = load_ontology(ontology)
    except OntologyError:
        return None
    events = caption_events(pairs["text"].astype(str).unique(), onto, depth=depth)
    exploded = explode_events(pairs[["wavname", "text"]], events)
    return exploded[list(EVENT_COLUMNS)].reset_index(drop=True)
