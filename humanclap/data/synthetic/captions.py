"""Captions of the synthetic world: their events, and the grammar that words them.

A caption holds 1-3 sound events of different classes (:mod:`humanclap.data.synthetic.events`)
joined by order words: "followed by", "then", "and then" start a new time segment (a sequence);
"while", "as", "with" put the event in the current one (an overlap). Events may carry a count
("twice", "three times", "several times") and a modifier ("loudly", "in the distance",
"high-pitched"). The caption's order is the order of events in the natural render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from humanclap.data.synthetic.events import CATEGORY_ORDER, EVENT_CLASSES
from humanclap.data.synthetic.phrasing import count_words, phrase_event

__all__ = ["CLASS_NAMES", "Caption", "Event", "event_string", "plan_caption"]


@dataclass
class Event:
    """One sound event of a caption or a clip (``seg``: its time segment; see the module doc)."""

    cls: str
    seg: int
    count: int = 1
    pitch: float = 1.0
    adjective: str | None = None
    caption_pos: int | None = None  # index in the caption, None for an unmentioned extra
    substituted_from: str | None = None
    wrong_count: bool = False
    onset: float = 0.0
    offset: float = 0.0


@dataclass
class Caption:
    """One caption: its text, events, categories, split, clip id and systems."""

    index: int
    text: str
    events: list[Event]
    caption_label: str
    split: str = ""
    audiocap_id: int = 0
    systems: tuple[str, str] = ("audioldm", "tango2")
    anchor_of: int = -1  # caption whose natural clip is this caption's anchor audio

    @property
    def folder(self) -> str:
        """The AudioCaps folder of its clips: ``train`` for the train split, else ``test``."""
        return "train" if self.split == "train" else "test"

    @property
    def classes(self) -> list[str]:
        """The classes of its events, in caption order."""
        return [e.cls for e in self.events]

    def wavname(self, source: str) -> str:
        """The ``wavname`` of its clip rendered by ``source``: ``/<source>/<folder>/<id>.wav``."""
        return f"/{source}/{self.folder}/{self.audiocap_id}.wav"


CLASS_NAMES = tuple(EVENT_CLASSES)
_CLASS_WEIGHTS = np.array([3.0 if c == "speech" else 1.0 for c in CLASS_NAMES])
_CLASS_WEIGHTS /= _CLASS_WEIGHTS.sum()
_SEQ_CONNECTORS = (
    ("followed by", "gerund", 0.5),
    ("then", "finite", 0.3),
    ("and then", "finite", 0.2),
)
_OVL_CONNECTORS = (("while", "finite", 0.4), ("as", "finite", 0.3), ("with", "gerund", 0.3))


def _pick(rng: np.random.Generator, options: Sequence[tuple]) -> tuple:
    """One of ``options`` with probability proportional to its last item."""
    probs = np.array([o[-1] for o in options])
    return options[int(rng.choice(len(options), p=probs / probs.sum()))]


def plan_caption(index: int, rng: np.random.Generator) -> Caption:
    """Draw caption number ``index``: 1-3 events, their wording and how they are joined."""
    n_events = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    classes = list(rng.choice(CLASS_NAMES, size=n_events, replace=False, p=_CLASS_WEIGHTS))
    events: list[Event] = []
    clauses: list[str] = []
    seg = 0
    for pos, name in enumerate(classes):
        cls = EVENT_CLASSES[name]
        phrasing = cls.phrasings[int(rng.integers(len(cls.phrasings)))]
        adjective = None
        if rng.random() < 0.25:
            adjective = str(cls.adjectives[int(rng.integers(len(cls.adjectives)))])
        count = 1
        if cls.countable:
            count = int(rng.choice([1, 2, 3, 4, 5], p=[0.5, 0.25, 0.15, 0.06, 0.04]))
        pitch = phrasing.pitch * (1.6 if adjective == "high-pitched" else 1.0)
        if pos == 0:
            form = "finite" if rng.random() < 0.6 else "gerund"
            connector = ""
        else:
            sequential = rng.random() < 0.55
            connector, form, _ = _pick(rng, _SEQ_CONNECTORS if sequential else _OVL_CONNECTORS)
            seg += int(sequential)
        events.append(Event(name, seg, count, pitch, adjective, caption_pos=pos))
        clause = phrase_event(phrasing, form, adjective, count_words(count, rng))
        clauses.append(f"{connector} {clause}" if connector else clause)
    text = " ".join(clauses)
    text = text[0].upper() + text[1:]
    cats = {EVENT_CLASSES[c].category for c in classes}
    label = ",".join(c for c in CATEGORY_ORDER if c in cats)
    return Caption(index=index, text=text, events=events, caption_label=label)


def event_string(events: Sequence[Event], timed: bool) -> str:
    """``class[*count]@segment`` in caption order, or (``timed``) ``class[*count]@onset-offset``
    in time order, joined by ``;`` (``truth.csv``'s ``caption_events`` / ``audio_events``)."""
    parts = []
    for e in sorted(
        events, key=lambda e: (e.onset, e.caption_pos or 0) if timed else e.caption_pos
    ):
        name = e.cls + (f"*{e.count}" if e.count > 1 else "")
        parts.append(f"{name}@{e.onset:.2f}-{e.offset:.2f}" if timed else f"{name}@{e.seg}")
    return ";".join(parts)
