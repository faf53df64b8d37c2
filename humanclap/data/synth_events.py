"""Deprecated: the event classes moved to :mod:`humanclap.data.synthetic.events` (the table),
:mod:`humanclap.data.synthetic.phrasing` (wording) and :mod:`humanclap.data.synthetic.render`
(:func:`synth_event`); every name is also in :mod:`humanclap.data.synthetic`."""

from humanclap.data.synthetic.events import (
    CATEGORIES,
    CATEGORY_ORDER,
    CONFUSABLE,
    EVENT_CLASSES,
    EventClass,
    SynthFn,
)
from humanclap.data.synthetic.params import SAMPLE_RATE
from humanclap.data.synthetic.phrasing import Phrasing, count_words, phrase_event
from humanclap.data.synthetic.render import synth_event
from humanclap.utils.deprecation import warn_moved_module

__all__ = [
    "CATEGORIES",
    "CATEGORY_ORDER",
    "CONFUSABLE",
    "EVENT_CLASSES",
    "SAMPLE_RATE",
    "EventClass",
    "Phrasing",
    "SynthFn",
    "count_words",
    "phrase_event",
    "synth_event",
]

warn_moved_module(
    "humanclap.data.synth_events", "humanclap.data.synthetic's modules events, phrasing and render"
)
