"""The sound-event classes of the synthetic world: their table, categories and confusions.

Part of :mod:`humanclap.data.synthetic` (the simulated stand-in for RELATE). Every class is
synthesised with numpy/scipy (:mod:`humanclap.data.synthetic.sounds`) from a recognisable
spectral and temporal signature (harmonic stacks with pitch contours, formant-filtered pulses,
noise bands with envelopes, periodic clicks, Karplus-Strong plucks...). Nothing here models a
real recording; the classes only have to be distinguishable from each other and to vary from
instance to instance (pitch, duration, loudness, number of repetitions).

Public objects
--------------
- :data:`EVENT_CLASSES` -- the classes, by name (21 classes over the 7 AudioSet top-level
  categories).
- :data:`CATEGORIES` / :data:`CATEGORY_ORDER` -- AudioSet top-level ids and names, in ontology
  order (the order the XACLE category table lists them in).
- :data:`CONFUSABLE` -- acoustically similar classes, used for the "substitute" failure.

How a caption names an event: :mod:`humanclap.data.synthetic.phrasing`; how one instance is
rendered: :func:`humanclap.data.synthetic.render.synth_event`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import humanclap.data.synthetic.sounds as sounds
from humanclap.data.categories import CATEGORY_IDS
from humanclap.data.synthetic.phrasing import Phrasing

__all__ = [
    "CATEGORIES",
    "CATEGORY_ORDER",
    "CONFUSABLE",
    "EVENT_CLASSES",
    "EventClass",
    "SynthFn",
]

# AudioSet ontology top-level categories, in ontology order (one table, in categories.py).
CATEGORIES: dict[str, str] = CATEGORY_IDS
CATEGORY_ORDER: tuple[str, ...] = tuple(CATEGORIES)

HUMAN, ANIMAL, MUSIC, NATURAL, THINGS, AMBIGUOUS, CHANNEL = CATEGORY_ORDER

#: ``unit(rng, num_samples, sample_rate, pitch) -> (num_samples,) float``
SynthFn = Callable[[np.random.Generator, int, int, float], np.ndarray]


@dataclass(frozen=True)
class EventClass:
    """A sound-event class.

    Attributes
    ----------
    name : str
        Identifier (``dog_bark``).
    category : str
        AudioSet top-level id (see :data:`CATEGORIES`).
    countable : bool
        Whether a caption may say how many times it occurs ("twice"); the synthesiser then
        renders exactly ``count`` units.
    unit_seconds : float
        Typical length of one unit (one bark) for countable classes, or the shortest span that
        is recognisable for continuous ones.
    unit : callable
        ``unit(rng, num_samples, sample_rate, pitch) -> (num_samples,) float`` renders one unit
        (countable) or the whole span (continuous).
    phrasings : tuple of Phrasing
        At least three ways to say it.
    adjectives : tuple of str
        Modifiers a caption may use: ``loud``, ``distant``, ``high-pitched``.
    """

    name: str
    category: str
    countable: bool
    unit_seconds: float
    unit: SynthFn = field(repr=False)
    phrasings: tuple[Phrasing, ...]
    adjectives: tuple[str, ...] = ("loud", "distant")


def _p(det: str, noun: str, finite: str, gerund: str, pitch: float = 1.0) -> Phrasing:
    return Phrasing(det, noun, finite, gerund, pitch)


_ALL_ADJ = ("loud", "distant", "high-pitched")

EVENT_CLASSES: dict[str, EventClass] = {
    c.name: c
    for c in [
        EventClass(
            "dog_bark",
            ANIMAL,
            True,
            0.22,
            sounds.dog_bark,
            (
                _p("a", "dog", "barks", "barking"),
                _p("a", "dog", "yaps", "yapping", 1.2),
                _p("a", "puppy", "barks", "barking", 1.3),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "cat_meow",
            ANIMAL,
            True,
            0.7,
            sounds.cat_meow,
            (
                _p("a", "cat", "meows", "meowing"),
                _p("a", "cat", "mews", "mewing"),
                _p("a", "kitten", "meows", "meowing", 1.25),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "bird_chirp",
            ANIMAL,
            True,
            0.35,
            sounds.bird_chirp,
            (
                _p("a", "bird", "chirps", "chirping"),
                _p("", "birds", "chirp", "chirping"),
                _p("a", "bird", "tweets", "tweeting", 1.1),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "cow_moo",
            ANIMAL,
            True,
            1.2,
            sounds.cow_moo,
            (
                _p("a", "cow", "moos", "mooing"),
                _p("a", "cow", "lows", "lowing"),
                _p("", "cattle", "moo", "mooing"),
            ),
        ),
        EventClass(
            "speech",
            HUMAN,
            False,
            1.0,
            sounds.speech,
            (
                _p("a", "man", "speaks", "speaking"),
                _p("a", "woman", "speaks", "speaking", 1.8),
                _p("a", "man", "talks", "talking"),
                _p("a", "woman", "talks", "talking", 1.8),
                _p("a", "child", "speaks", "speaking", 2.3),
            ),
        ),
        EventClass(
            "laughter",
            HUMAN,
            True,
            0.8,
            sounds.laughter,
            (
                _p("a", "person", "laughs", "laughing"),
                _p("a", "woman", "laughs", "laughing", 1.5),
                _p("a", "man", "laughs", "laughing", 0.8),
            ),
        ),
        EventClass(
            "footsteps",
            HUMAN,
            False,
            1.2,
            sounds.footsteps,
            (
                _p("a", "person", "walks", "walking"),
                _p("", "footsteps", "tap", "tapping"),
                _p("", "someone", "walks", "walking"),
            ),
        ),
        EventClass(
            "piano",
            MUSIC,
            False,
            1.0,
            sounds.piano,
            (
                _p("a", "piano", "plays", "playing"),
                _p("", "someone", "plays the piano", "playing the piano"),
                _p("", "piano music", "plays", "playing"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "drum",
            MUSIC,
            False,
            1.2,
            sounds.drum,
            (
                _p("", "drums", "play", "playing"),
                _p("a", "drummer", "plays", "playing"),
                _p("", "someone", "plays drums", "playing drums"),
            ),
        ),
        EventClass(
            "guitar",
            MUSIC,
            False,
            1.0,
            sounds.guitar,
            (
                _p("a", "guitar", "strums", "strumming"),
                _p("", "someone", "plays a guitar", "playing a guitar"),
                _p("a", "guitar", "is plucked", "being plucked"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "rain",
            NATURAL,
            False,
            1.0,
            sounds.rain,
            (
                _p("", "rain", "falls", "falling"),
                _p("", "rain", "pours", "pouring"),
                _p("", "rain", "patters", "pattering"),
            ),
        ),
        EventClass(
            "wind",
            NATURAL,
            False,
            1.2,
            sounds.wind,
            (
                _p("", "wind", "blows", "blowing"),
                _p("", "wind", "howls", "howling"),
                _p("", "wind", "gusts", "gusting"),
            ),
        ),
        EventClass(
            "thunder",
            NATURAL,
            True,
            1.6,
            sounds.thunder,
            (
                _p("", "thunder", "rumbles", "rumbling"),
                _p("", "thunder", "roars", "roaring"),
                _p("", "thunder", "cracks", "cracking"),
            ),
        ),
        EventClass(
            "water_stream",
            NATURAL,
            False,
            1.0,
            sounds.water_stream,
            (
                _p("a", "stream", "trickles", "trickling"),
                _p("", "water", "flows", "flowing"),
                _p("a", "brook", "babbles", "babbling"),
            ),
        ),
        EventClass(
            "siren",
            THINGS,
            False,
            1.5,
            sounds.siren,
            (
                _p("a", "siren", "wails", "wailing"),
                _p("a", "siren", "blares", "blaring"),
                _p("an", "emergency siren", "sounds", "sounding"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "car_engine",
            THINGS,
            False,
            1.2,
            sounds.car_engine,
            (
                _p("an", "engine", "idles", "idling"),
                _p("a", "car engine", "runs", "running"),
                _p("a", "vehicle engine", "revs", "revving"),
                _p("an", "engine", "hums", "humming"),
            ),
        ),
        EventClass(
            "doorbell",
            THINGS,
            True,
            0.9,
            sounds.doorbell,
            (
                _p("a", "doorbell", "rings", "ringing"),
                _p("a", "doorbell", "chimes", "chiming"),
                _p("a", "bell", "dings", "dinging"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "clock_tick",
            THINGS,
            False,
            1.5,
            sounds.clock_tick,
            (
                _p("a", "clock", "ticks", "ticking"),
                _p("a", "wall clock", "ticks", "ticking"),
                _p("a", "timer", "ticks", "ticking"),
            ),
        ),
        EventClass(
            "hammer",
            THINGS,
            True,
            0.25,
            sounds.hammer,
            (
                _p("a", "hammer", "bangs", "banging"),
                _p("", "someone", "hammers", "hammering"),
                _p("a", "hammer", "hits a nail", "hitting a nail"),
            ),
        ),
        EventClass(
            "beep",
            AMBIGUOUS,
            True,
            0.25,
            sounds.beep,
            (
                _p("a", "device", "beeps", "beeping"),
                _p("a", "machine", "beeps", "beeping"),
                _p("an", "electronic beep", "sounds", "sounding"),
            ),
            _ALL_ADJ,
        ),
        EventClass(
            "static",
            CHANNEL,
            False,
            1.0,
            sounds.static,
            (
                _p("", "static", "crackles", "crackling"),
                _p("", "radio static", "hisses", "hissing"),
                _p("", "static noise", "buzzes", "buzzing"),
            ),
        ),
    ]
}

# Acoustically similar pairs, by construction of the synthesisers above (same kind of
# signature: short voiced bursts, periodic clicks, decaying harmonic tones, noise textures...).
_CONFUSION_PAIRS = [
    ("dog_bark", "laughter"),
    ("speech", "laughter"),
    ("cat_meow", "cow_moo"),
    ("bird_chirp", "beep"),
    ("siren", "beep"),
    ("footsteps", "clock_tick"),
    ("hammer", "clock_tick"),
    ("drum", "hammer"),
    ("piano", "guitar"),
    ("piano", "doorbell"),
    ("rain", "static"),
    ("rain", "water_stream"),
    ("wind", "water_stream"),
    ("wind", "car_engine"),
    ("thunder", "car_engine"),
    ("thunder", "drum"),
]


def _build_confusable() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {name: [] for name in EVENT_CLASSES}
    for a, b in _CONFUSION_PAIRS:
        out[a].append(b)
        out[b].append(a)
    return {k: tuple(sorted(v)) for k, v in out.items()}


#: For each class, the classes a simulated system may render instead (symmetric relation).
CONFUSABLE: dict[str, tuple[str, ...]] = _build_confusable()
