"""The embedded synthetic world: a SIMULATED stand-in for RELATE with known ground truth.

The real study needs RELATE's audio (not downloadable by this project), a LAION-CLAP checkpoint
and a GPU. So that the book builds anywhere, its notebooks fall back to this world, which is
always labelled as a simulation. It is written in exactly RELATE's on-disk layout, so the same
loader (:func:`humanclap.data.load_relate`) reads it, and it also stores the truth behind every
rating, so analysis methods can be checked against known answers.

Layout written by :func:`generate` (``<root>/...``)::

    scores/REL.csv, scores/IS.csv, scores/OS.csv     RELATE's columns and value conventions
    listener_attributes/REL.csv, IS_and_OS.csv        listener_id, question1..question12
    <source>/<train|test>/<audiocap_id>.wav           16 kHz mono 16-bit PCM
    audiocaps_categories.csv                          the XACLE category table's 12 columns
    truth.csv                                         per pair: latent relevance and its parts
    listeners.csv                                     per listener: parameters, careless, screened
    world.json                                        generator version, seed, params, fingerprint

What is simulated
-----------------
*Captions.* 1-3 sound events from 21 synthesised classes
(:mod:`humanclap.data.synth_events`) joined by order words: "followed by", "then", "and then"
start a new time segment (a sequence); "while", "as", "with" put the event in the current one
(an overlap). Events may carry a count ("twice", "three times", "several times") and a modifier
("loudly", "in the distance", "high-pitched"). The caption's order is the order of events in the
natural render.

*Sources.* The folder names ``audiocaps``, ``audioldm``, ``audioldm2``, ``tango``, ``tango2`` are
placeholders borrowed from RELATE so that the same loader works. ``audiocaps`` is a faithful
render of the caption (the "natural" clip, which, like an AudioCaps recording, can contain a sound
the caption does not mention, and has recording noise). The other four are *simulated
text-to-audio systems* that do NOT model the real AudioLDM/Tango systems: each is only a failure
profile (:data:`PROFILES`) with its own rates of dropping an event, swapping the order of two
segments, substituting an acoustically similar class (:data:`~humanclap.data.synth_events.CONFUSABLE`),
getting a count wrong, adding an unmentioned event, and degrading the sound (band-limiting,
smearing, noise, musical noise, clicks and drop-outs). As in RELATE, every caption is rendered by
the natural source and by two systems, ``(audioldm, tango2)`` for half the captions and
``(audioldm2, tango)`` for the other half.

*Latent relevance* of a pair (0..1), from three components:

- ``inclusion``: mean credit of the caption's events (present 1, present with a wrong count 0.7,
  replaced by a confusable class 0.25, missing 0), minus 0.1 per unmentioned extra event;
- ``order``: share of the caption's ordered event pairs (different segments) whose order the
  audio keeps, among pairs whose events are both present (1 when there is none);
- ``quality``: 1 - severity of the degradation (a Beta draw per clip; source dependent).

``relevance = inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))``, with
weights from the caption's AudioSet categories (the largest over its categories,
:data:`ORDER_WEIGHT`, :data:`QUALITY_WEIGHT`): order matters more for speech and music, quality
more for music. The IS aspect rates ``inclusion``, the OS aspect ``inclusion * order``.

*Listeners* (:func:`rating_moments` documents the model). A genuine listener rates a pair
``round(10 * sigmoid(z))`` with ``z = scale * (logit(latent) + offset) + bias + noise * h * eps``,
where ``latent`` is clipped to [0.005, 0.995], ``offset`` is a per-pair perceptual offset shared
by all listeners (what people hear that the three components do not capture, N(0, 0.3)),
``scale`` compresses (<1) or expands (>1) scores around the midpoint, ``eps ~ N(0, 1)``, and
``h = 0.35 + 0.65 * (1 - (1 - latent)**4)`` makes people agree on clearly irrelevant pairs and
disagree most on partial matches. With a listener-specific probability ``snap`` the score goes to
the nearest of the labelled scale points {0, 2, 5, 8, 10} instead of the nearest integer
(RELATE's scores pile up on these). Listener noise is lower for audio professionals
(question12 = 1) and higher in a noisy room (question10 >= 3) or with "other" devices
(question9 = 3). A fraction of listeners is *careless* (uniformly random, constant, or
"inattentive" 6..10 scores, regardless of the audio). The population was tuned so that the
default world resembles RELATE's REL ratings: within-pair variance about 6, ICC(1) about 0.44,
sqrt(ICC(1,k)) about 0.86, natural and tango2 clips rated about 8, audioldm about 5.3.

*Design* as in RELATE: each listener rates 6 captions x 3 audios and 3 anchors (the caption of one
of their captions with the natural clip of another caption, chosen so that the clip contains none
of the caption's event classes), in random order;
each caption is rated by 1 + Poisson(ratings_per_pair - 1) listeners (about 4). The IS/OS pool
(ids from ``10000``) rates the same pairs for both aspects, like RELATE.

*Screening* (:func:`screen_listeners`): a listener is excluded when the mean of their anchor
scores is >= 2 (this reproduces RELATE's published exclusions for 1,369 of its 1,370 REL
listeners) or when their scores correlate negatively (< 0) with the other listeners' mean on the
same pairs (or do not vary at all); RELATE does not use the second rule, which is added here to
catch random raters who happen to score the anchors low (about 4 % of them). Over ten seeds of
the default world these rules caught all 450 planted careless listeners (both pools) and
excluded 2.8 % (REL) and 1.0 % (IS/OS) of the genuine ones; the anchor rule alone misses about
1 % of the careless and excludes almost no genuine listener. A uniformly random rater can still
pass both rules by chance (about 2 % of them; more often in small worlds, where fewer other
listeners share their pairs). As in RELATE, REL rows of excluded listeners, anchors,
and every row of a caption left with a pair that has no kept rating are marked ``excluded``.

*Splits.* Captions (and so all their pairs) go to train / validation / test (53 / 23.5 / 23.5 %);
train captions are "AudioCaps train" clips (ids < 100000, folder ``train``), validation and test
captions "AudioCaps test" clips (ids >= 100000, folder ``test``), as in RELATE.

Everything derives from ``seed``: the same seed and parameters give byte-identical files
(on one platform; floating point may differ between machines).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import wave
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from scipy import signal, special, stats

from humanclap.data.synth_events import (
    CATEGORY_ORDER,
    CONFUSABLE,
    EVENT_CLASSES,
    count_words,
    phrase_event,
    synth_event,
)
from humanclap.utils import user_cache_dir

__all__ = [
    "AUDIO_TYPE",
    "CATEGORY_COLUMNS",
    "GENERATOR_VERSION",
    "ISOS_COLUMNS",
    "ATTRIBUTE_COLUMNS",
    "LISTENER_COLUMNS",
    "ORDER_WEIGHT",
    "PROFILES",
    "QUALITY_WEIGHT",
    "REL_COLUMNS",
    "SAMPLE_RATE",
    "SOURCES",
    "SYSTEM_PAIRS",
    "TRUTH_COLUMNS",
    "SystemProfile",
    "default_params",
    "FAILURE_KINDS",
    "ensure_world",
    "failure_masks",
    "generate",
    "load_audio",
    "load_listeners",
    "load_truth",
    "rating_moments",
    "screen_listeners",
    "true_noise_ceiling",
    "world_key",
]

GENERATOR_VERSION = "1.0.0"
SAMPLE_RATE = 16000
SOURCES: tuple[str, ...] = ("audiocaps", "audioldm", "audioldm2", "tango", "tango2")
#: ``audio type`` column value per source, merged like RELATE's.
AUDIO_TYPE: dict[str, str] = {
    "audiocaps": "natural",
    "audioldm": "audioldm",
    "audioldm2": "audioldm",
    "tango": "tango",
    "tango2": "tango",
}
#: The two system combinations a caption is rendered by (besides the natural clip), as in RELATE.
SYSTEM_PAIRS: tuple[tuple[str, str], ...] = (("audioldm", "tango2"), ("audioldm2", "tango"))

REL_COLUMNS: tuple[str, ...] = (
    "wavname",
    "text",
    "score",
    "listener_id",
    "audio type",
    "anchor label",
    "in RELATE dataset",
    "in AudioCaps",
)
ISOS_COLUMNS: tuple[str, ...] = tuple(c for c in REL_COLUMNS if c != "in RELATE dataset")
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("listener_id", *(f"question{i}" for i in range(1, 13)))
CATEGORY_COLUMNS: tuple[str, ...] = (
    "audiocaps_id",
    "caption",
    "file_path",
    "youtube_id",
    "start_seconds",
    "caption_label",
    "anchor_filepath",
    "rel_anchor_youtube_id",
    "rel_anchor_start_seconds",
    "syn1",
    "syn2",
    "q_anchor",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "wavname",
    "text",
    "anchor",
    "source",
    "audio_type",
    "audiocap_id",
    "caption_index",
    "split",
    "in_audiocaps",
    "caption_label",
    "category",
    "caption_events",
    "audio_events",
    "failures",
    "inclusion",
    "order",
    "quality",
    "w_order",
    "w_quality",
    "relevance",
    "relevance_10",
    "offset",
    "expected_rel",
    "var_rel",
    "expected_is",
    "var_is",
    "expected_os",
    "var_os",
)
LISTENER_COLUMNS: tuple[str, ...] = (
    "listener_id",
    "pool",
    "scale",
    "bias",
    "noise",
    "snap",
    "careless",
    "careless_type",
    "constant",
    "screened",
    "n_ratings",
)

#: Weight of the order component per AudioSet top-level category (the caption uses the max).
ORDER_WEIGHT: dict[str, float] = {
    "/m/0dgw9r": 0.45,  # Human sounds (speech)
    "/m/0jbk": 0.30,  # Animal
    "/m/04rlf": 0.45,  # Music
    "/m/059j3w": 0.20,  # Natural sounds
    "/t/dd00041": 0.30,  # Sounds of things
    "/t/dd00098": 0.25,  # Source-ambiguous sounds
    "/t/dd00123": 0.15,  # Channel, environment and background
}
#: Weight of the quality component per category (the caption uses the max).
QUALITY_WEIGHT: dict[str, float] = {
    "/m/0dgw9r": 0.30,
    "/m/0jbk": 0.25,
    "/m/04rlf": 0.50,
    "/m/059j3w": 0.20,
    "/t/dd00041": 0.25,
    "/t/dd00098": 0.25,
    "/t/dd00123": 0.15,
}

CREDIT_SUBSTITUTED = 0.25
CREDIT_WRONG_COUNT = 0.7
EXTRA_PENALTY = 0.1
LATENT_EPS = 0.005
OFFSET_SD = 0.3
SNAP_POINTS = (0, 2, 5, 8, 10)
RATINGS_PER_LISTENER = 6  # captions per listener (x 3 audios)
ANCHORS_PER_LISTENER = 3
ANCHOR_THRESHOLD = 2.0
MIN_CORR = 0.0
# listener population (logit units); see _listener_params
SCALE_SD = 0.3
BIAS_SD = 0.6
NOISE_RANGE = (1.2, 2.4)
NOISE_FLOOR = 0.35


@dataclass(frozen=True)
class SystemProfile:
    """How one source renders a caption.

    Probabilities are per opportunity: ``p_drop`` per caption event (captions with >= 2 events;
    when every event is dropped the clip holds an unrelated event instead), ``p_substitute`` per
    remaining event (class -> a confusable class), ``p_count`` per remaining countable event with
    a stated count (>= 2), ``p_swap`` per clip with >= 2 occupied segments (two adjacent segments
    exchange places), ``p_extra`` per clip (one unmentioned event). ``quality ~ Beta(quality_a,
    quality_b)`` per clip; the severity ``1 - quality`` drives each of ``artefacts``.
    """

    p_drop: float
    p_swap: float
    p_substitute: float
    p_count: float
    p_extra: float
    quality_a: float
    quality_b: float
    artefacts: tuple[str, ...]

    @property
    def quality_mean(self) -> float:
        return self.quality_a / (self.quality_a + self.quality_b)


_ARTEFACTS = ("noise", "bandlimit", "smear", "musical_noise", "clicks")

#: Failure profile per source. ``audiocaps`` is the faithful "natural" render.
PROFILES: dict[str, SystemProfile] = {
    "audiocaps": SystemProfile(0.0, 0.0, 0.0, 0.0, 0.50, 6.0, 2.0, ("noise",)),
    "audioldm": SystemProfile(0.25, 0.40, 0.20, 0.40, 0.10, 3.0, 2.2, ("bandlimit", "smear")),
    "audioldm2": SystemProfile(0.22, 0.35, 0.17, 0.35, 0.10, 3.5, 2.0, ("musical_noise", "noise")),
    "tango": SystemProfile(0.18, 0.30, 0.15, 0.30, 0.08, 4.0, 2.0, ("bandlimit", "clicks")),
    "tango2": SystemProfile(0.05, 0.08, 0.06, 0.15, 0.05, 6.0, 2.0, ("smear",)),
}


def default_params() -> dict:
    """The default generation parameters (what :func:`generate` uses when not told otherwise)."""
    return {
        "n_captions": 400,
        "clip_seconds": 4.0,
        "ratings_per_pair": 4.2,
        "careless_fraction": 0.08,
        "split_fractions": [0.53, 0.235, 0.235],
        "profiles": {k: _profile_dict(v) for k, v in PROFILES.items()},
        "write_audio": True,
    }


def _profile_dict(p: SystemProfile) -> dict:
    d = asdict(p)
    d["artefacts"] = list(p.artefacts)
    return d


# ============================================================================ caption planning
@dataclass
class _Event:
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
class _Caption:
    index: int
    text: str
    events: list[_Event]
    caption_label: str
    split: str = ""
    audiocap_id: int = 0
    systems: tuple[str, str] = ("audioldm", "tango2")
    anchor_of: int = -1  # caption whose natural clip is this caption's anchor audio

    @property
    def folder(self) -> str:
        return "train" if self.split == "train" else "test"

    @property
    def classes(self) -> list[str]:
        return [e.cls for e in self.events]

    def wavname(self, source: str) -> str:
        return f"/{source}/{self.folder}/{self.audiocap_id}.wav"


_CLASS_NAMES = tuple(EVENT_CLASSES)
_CLASS_WEIGHTS = np.array([3.0 if c == "speech" else 1.0 for c in _CLASS_NAMES])
_CLASS_WEIGHTS /= _CLASS_WEIGHTS.sum()
_SEQ_CONNECTORS = (
    ("followed by", "gerund", 0.5),
    ("then", "finite", 0.3),
    ("and then", "finite", 0.2),
)
_OVL_CONNECTORS = (("while", "finite", 0.4), ("as", "finite", 0.3), ("with", "gerund", 0.3))


def _pick(rng: np.random.Generator, options):
    probs = np.array([o[-1] for o in options])
    return options[int(rng.choice(len(options), p=probs / probs.sum()))]


def _plan_caption(index: int, rng: np.random.Generator) -> _Caption:
    n_events = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
    classes = list(rng.choice(_CLASS_NAMES, size=n_events, replace=False, p=_CLASS_WEIGHTS))
    events: list[_Event] = []
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
        events.append(_Event(name, seg, count, pitch, adjective, caption_pos=pos))
        clause = phrase_event(phrasing, form, adjective, count_words(count, rng))
        clauses.append(f"{connector} {clause}" if connector else clause)
    text = " ".join(clauses)
    text = text[0].upper() + text[1:]
    cats = {EVENT_CLASSES[c].category for c in classes}
    label = ",".join(c for c in CATEGORY_ORDER if c in cats)
    return _Caption(index=index, text=text, events=events, caption_label=label)


def _event_string(events: Sequence[_Event], timed: bool) -> str:
    parts = []
    for e in sorted(
        events, key=lambda e: (e.onset, e.caption_pos or 0) if timed else e.caption_pos
    ):
        name = e.cls + (f"*{e.count}" if e.count > 1 else "")
        parts.append(f"{name}@{e.onset:.2f}-{e.offset:.2f}" if timed else f"{name}@{e.seg}")
    return ";".join(parts)


# ============================================================================ rendering plans
@dataclass
class _Clip:
    events: list[_Event]
    n_segments: int
    quality: float
    artefacts: tuple[str, ...]
    failures: list[str] = field(default_factory=list)


def _realise(caption: _Caption, profile: SystemProfile, rng: np.random.Generator) -> _Clip:
    """Apply a source's failure profile to a caption's events (see :class:`SystemProfile`)."""
    events = [replace(e) for e in caption.events]
    failures: list[str] = []
    if len(events) >= 2 and profile.p_drop > 0:
        keep = rng.random(len(events)) >= profile.p_drop
        for e, k in zip(events, keep, strict=True):
            if not k:
                failures.append(f"drop:{e.cls}")
        events = [e for e, k in zip(events, keep, strict=True) if k]
    for e in events:
        if profile.p_substitute > 0 and rng.random() < profile.p_substitute:
            new = str(rng.choice(CONFUSABLE[e.cls]))
            failures.append(f"sub:{e.cls}>{new}")
            e.substituted_from, e.cls = e.cls, new
        elif (
            EVENT_CLASSES[e.cls].countable
            and e.count >= 2
            and profile.p_count > 0
            and rng.random() < profile.p_count
        ):
            choices = [c for c in (1, 2, 3, 4, 5, 6) if c != e.count]
            e.count = int(rng.choice(choices))
            e.wrong_count = True
            failures.append(f"count:{e.cls}")
    # renumber occupied segments 0..k-1
    occupied = sorted({e.seg for e in events})
    remap = {s: i for i, s in enumerate(occupied)}
    for e in events:
        e.seg = remap[e.seg]
    n_seg = max(len(occupied), 1)
    if n_seg >= 2 and profile.p_swap > 0 and rng.random() < profile.p_swap:
        a = int(rng.integers(n_seg - 1))
        for e in events:
            if e.seg in (a, a + 1):
                e.seg = a + 1 if e.seg == a else a
        failures.append("swap")
    caption_classes = set(caption.classes)
    others = [c for c in _CLASS_NAMES if c not in caption_classes]
    if not events:  # everything dropped: the system produced something unrelated
        events.append(_Event(str(rng.choice(others)), 0, pitch=float(rng.uniform(0.8, 1.25))))
        failures.append(f"unrelated:{events[0].cls}")
    elif profile.p_extra > 0 and rng.random() < profile.p_extra:
        extra = str(rng.choice(others))
        events.append(_Event(extra, int(rng.integers(n_seg)), pitch=float(rng.uniform(0.8, 1.25))))
        failures.append(f"extra:{extra}")
    quality = float(rng.beta(profile.quality_a, profile.quality_b))
    return _Clip(events, n_seg, quality, profile.artefacts, failures)


def _time_events(clip: _Clip, clip_seconds: float, rng: np.random.Generator) -> None:
    """Give each event an onset/offset in seconds: segments tile the clip in order."""
    start, end = rng.uniform(0.05, 0.25), clip_seconds - rng.uniform(0.05, 0.2)
    gaps = rng.uniform(0.05, 0.2, size=max(clip.n_segments - 1, 0))
    usable = end - start - gaps.sum()
    shares = rng.dirichlet(np.full(clip.n_segments, 4.0)) * usable
    bounds, t = [], start
    for i in range(clip.n_segments):
        bounds.append((t, t + shares[i]))
        t += shares[i] + (gaps[i] if i < len(gaps) else 0.0)
    for e in clip.events:
        s0, s1 = bounds[e.seg]
        if e.caption_pos is None or (e.caption_pos > 0 and _overlapping(clip, e)):
            # overlapping / background events span most of the segment with a little jitter
            s0 = s0 + rng.uniform(0.0, 0.15) * (s1 - s0)
        else:
            s0 = s0 + rng.uniform(0.0, 0.05) * (s1 - s0)
        s1 = s1 - rng.uniform(0.0, 0.05) * (s1 - s0)
        e.onset, e.offset = float(s0), float(s1)


def _overlapping(clip: _Clip, e: _Event) -> bool:
    return any(
        o is not e and o.seg == e.seg and (o.caption_pos or 0) < e.caption_pos for o in clip.events
    )


def _active_level(x: np.ndarray, sr: int) -> float:
    """RMS over the 20-ms frames within 30 dB of the loudest frame."""
    hop = sr // 50
    m = len(x) // hop
    if m == 0:
        return float(np.sqrt(np.mean(x**2)) + 1e-12)
    e = np.mean(x[: m * hop].reshape(m, hop) ** 2, axis=1)
    active = e[e >= e.max() * 1e-3]
    return float(np.sqrt(active.mean()) + 1e-12)


def _render(clip: _Clip, clip_seconds: float, rng: np.random.Generator, sr: int = SAMPLE_RATE):
    """Mix the clip's events, add background noise, apply degradations; int16 (n,)."""
    n = int(round(clip_seconds * sr))
    mix = np.zeros(n)
    for e in clip.events:
        i0, i1 = int(e.onset * sr), min(int(e.offset * sr), n)
        if i1 - i0 < 64:
            continue
        x = synth_event(e.cls, rng, i1 - i0, e.count, e.pitch * rng.uniform(0.92, 1.08), sr)
        x = x / _active_level(x, sr) * 0.1
        gain_db = rng.normal(0.0, 2.0)
        if e.adjective == "loud":
            gain_db += 5.0
        if e.adjective == "distant":
            x = _distant(x, rng, sr)
            gain_db -= 9.0
        if e.caption_pos is None:  # unmentioned: a background sound
            gain_db -= 10.0
        elif _overlapping(clip, e):
            gain_db -= 4.0
        mix[i0:i1] += x * 10 ** (gain_db / 20)
    bg = signal.lfilter(
        [0.049922035, -0.095993537, 0.050612699, -0.004408786],
        [1.0, -2.494956002, 2.017265875, -0.522189400],
        rng.standard_normal(n),
    )
    mix += bg / (np.std(bg) + 1e-12) * 0.002
    mix *= 0.7 / (np.max(np.abs(mix)) + 1e-12)
    mix = _degrade(mix, clip.quality, clip.artefacts, rng, sr)
    peak = np.max(np.abs(mix))
    if peak > 0.95:
        mix *= 0.95 / peak
    return np.round(mix * 32767).astype(np.int16)


def _distant(x: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    sos = signal.butter(4, 1800, btype="lowpass", fs=sr, output="sos")
    dry = signal.sosfilt(sos, x)
    m = int(0.25 * sr)
    tail = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.07 * sr))
    wet = signal.fftconvolve(dry, tail)[: len(x)]
    wet *= np.std(dry) / (np.std(wet) + 1e-12)
    return 0.6 * dry + 0.6 * wet


def _degrade(x, quality: float, artefacts, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Apply each artefact kind with severity ``1 - quality``."""
    sev = 1.0 - quality
    n = len(x)
    for kind in artefacts:
        if kind == "noise":
            snr_db = 48.0 * quality - 8.0
            noise = rng.standard_normal(n)
            x = x + noise * np.sqrt(np.mean(x**2)) / 10 ** (snr_db / 20)
        elif kind == "bandlimit":
            cutoff = 1200.0 + 6500.0 * quality
            sos = signal.butter(6, min(cutoff, 7600.0), btype="lowpass", fs=sr, output="sos")
            x = signal.sosfilt(sos, x)
        elif kind == "smear":
            m = int((0.02 + 0.4 * sev) * sr)
            tail = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4))
            wet = signal.fftconvolve(x, tail)[:n]
            wet *= np.std(x) / (np.std(wet) + 1e-12)
            x = (1 - sev) * x + sev * wet
        elif kind == "musical_noise":
            _, _, z = signal.stft(x, fs=sr, nperseg=512, noverlap=384)
            z = z * (rng.random(z.shape) >= 0.7 * sev)
            x = signal.istft(z, fs=sr, nperseg=512, noverlap=384)[1][:n]
            x = np.pad(x, (0, n - len(x)))
        elif kind == "clicks":
            peak = np.max(np.abs(x)) + 1e-12
            k = rng.poisson(40 * sev)
            idx = rng.integers(0, n, size=k)
            x = x.copy()
            x[idx] += rng.uniform(0.2, 0.6, size=k) * peak * rng.choice([-1.0, 1.0], size=k)
            for _ in range(rng.poisson(5 * sev)):
                s = int(rng.integers(0, n))
                x[s : s + int(rng.uniform(0.01, 0.03) * sr)] = 0.0
        else:
            raise ValueError(f"unknown artefact kind {kind!r}; known: {_ARTEFACTS}")
    return x


# ============================================================================ latent relevance
def _components(caption: _Caption, clip: _Clip, anchor: bool = False) -> tuple[float, float, float]:
    """(inclusion, order, quality) of the clip against the caption (see the module docstring)."""
    if anchor:  # a different caption's clip: credit events by class only
        present = {e.cls for e in clip.events}
        credits = [1.0 if c in present else 0.0 for c in caption.classes]
        n_extra = sum(e.cls not in set(caption.classes) for e in clip.events)
        inclusion = max(float(np.mean(credits)) - EXTRA_PENALTY * n_extra, 0.0)
        return inclusion, 1.0, clip.quality
    by_pos = {e.caption_pos: e for e in clip.events if e.caption_pos is not None}
    credits = []
    for ce in caption.events:
        e = by_pos.get(ce.caption_pos)
        if e is None:
            credits.append(0.0)
        elif e.substituted_from is not None:
            credits.append(CREDIT_SUBSTITUTED)
        elif e.wrong_count:
            credits.append(CREDIT_WRONG_COUNT)
        else:
            credits.append(1.0)
    n_extra = sum(e.caption_pos is None for e in clip.events)
    inclusion = float(np.clip(np.mean(credits) - EXTRA_PENALTY * n_extra, 0.0, 1.0))
    kept = total = 0
    for a in caption.events:
        for b in caption.events:
            if a.seg < b.seg and a.caption_pos in by_pos and b.caption_pos in by_pos:
                total += 1
                kept += by_pos[a.caption_pos].seg < by_pos[b.caption_pos].seg
    order = kept / total if total else 1.0
    return inclusion, float(order), clip.quality


def _weights(caption_label: str) -> tuple[float, float]:
    cats = caption_label.split(",")
    return max(ORDER_WEIGHT[c] for c in cats), max(QUALITY_WEIGHT[c] for c in cats)


def _relevance(inclusion, order, quality, w_order, w_quality):
    return inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))


# ============================================================================ listeners
_Q_PROBS = {  # marginals of RELATE's listener questionnaire (both pools), rounded
    1: [0.031, 0.297, 0.284, 0.176, 0.129, 0.083],
    2: [0.552, 0.441, 0.007],
    6: [0.233, 0.194, 0.189, 0.14, 0.09, 0.154],
    7: [0.274, 0.398, 0.142, 0.106, 0.053, 0.023, 0.004],
    8: [0.207, 0.307, 0.265, 0.122, 0.1],
    9: [0.556, 0.4, 0.044],
    10: [0.9, 0.073, 0.02, 0.004, 0.003],
    11: [0.249, 0.559, 0.179, 0.013],
    12: [0.118, 0.882],
}
_COUNTRIES = ["United Kingdom", "United States", "Nigeria", "Ghana", "Kenya", "Philippines"]
_COUNTRY_PROBS = [0.43, 0.435, 0.08, 0.02, 0.02, 0.015]
_PARAM_DIMS = 7  # scale, bias, noise, snap, question9, question10, question12


def _categorical(u: np.ndarray, probs) -> np.ndarray:
    cdf = np.cumsum(probs) / np.sum(probs)
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(probs) - 1) + 1


def _listener_params(u: np.ndarray) -> dict[str, np.ndarray]:
    """Map uniforms of shape (n, 7) to listener parameters (the population model).

    scale ~ LogNormal(0, 0.25); bias ~ N(0, 0.45); noise ~ U(0.6, 1.3) times 0.8 if
    question12 = 1 (audio professional), 1.25 if question10 >= 3 (noisy room), 1.15 if
    question9 = 3 (other device); snap ~ Beta(1.5, 2.5).
    """
    u = np.clip(u, 1e-9, 1 - 1e-9)
    q9 = _categorical(u[:, 4], _Q_PROBS[9])
    q10 = _categorical(u[:, 5], _Q_PROBS[10])
    q12 = _categorical(u[:, 6], _Q_PROBS[12])
    noise = NOISE_RANGE[0] + (NOISE_RANGE[1] - NOISE_RANGE[0]) * u[:, 2]
    noise = noise * np.where(q12 == 1, 0.8, 1.0) * np.where(q10 >= 3, 1.25, 1.0)
    noise = noise * np.where(q9 == 3, 1.15, 1.0)
    return {
        "scale": np.exp(SCALE_SD * special.ndtri(u[:, 0])),
        "bias": BIAS_SD * special.ndtri(u[:, 1]),
        "noise": noise,
        "snap": stats.beta.ppf(u[:, 3], 1.5, 2.5),
        "question9": q9,
        "question10": q10,
        "question12": q12,
    }


@lru_cache(maxsize=1)
def _population() -> dict[str, np.ndarray]:
    """A fixed scrambled-Sobol sample of 2,048 genuine listeners: the population for moments."""
    u = stats.qmc.Sobol(_PARAM_DIMS, scramble=True, seed=20250918).random(2048)
    return _listener_params(u)


def _latent_logit(latent) -> np.ndarray:
    return special.logit(np.clip(np.asarray(latent, dtype=float), LATENT_EPS, 1 - LATENT_EPS))


def _noise_shape(latent) -> np.ndarray:
    """Multiplier of listener noise: NOISE_FLOOR for clearly irrelevant pairs, rising to 1."""
    lat = np.clip(np.asarray(latent, dtype=float), LATENT_EPS, 1 - LATENT_EPS)
    return NOISE_FLOOR + (1 - NOISE_FLOOR) * (1 - (1 - lat) ** 4)


_ROUND_BOUNDS = special.logit((np.arange(10) + 0.5) / 10)  # z above bound j -> score > j
_SNAP_BOUNDS = special.logit(np.array([1.0, 3.5, 6.5, 9.0]) / 10)
_SNAP_VALUES = np.array(SNAP_POINTS, dtype=float)


def _step_moments(mu, sd, bounds, values):
    """E[y], E[y^2] for y = values[#bounds below z], z ~ N(mu, sd^2); broadcasting."""
    above = special.ndtr((mu[..., None] - bounds) / sd[..., None])  # P(z > bound)
    probs = np.concatenate(
        [1 - above[..., :1], above[..., :-1] - above[..., 1:], above[..., -1:]], axis=-1
    )
    return probs @ values, probs @ values**2


def rating_moments(
    latent,
    offset,
    population: Mapping[str, np.ndarray] | None = None,
    weights=None,
):
    """Exact mean and variance of one listener's score for each pair.

    The score of a genuine listener with parameters (scale, bias, noise, snap) is
    ``y = r(10 * sigmoid(z))``, ``z = scale * (logit(clip(latent, 0.005, 0.995)) + offset) +
    bias + noise * h(latent) * eps``, ``eps ~ N(0, 1)``, ``h(x) = 0.35 + 0.65 * (1 - (1 - x)**4)``,
    where ``r`` rounds to the nearest integer with probability ``1 - snap`` and to the nearest of
    {0, 2, 5, 8, 10} with probability ``snap``. Given the listener, P(y = v) is a difference of
    normal CDFs, so the moments are exact; they are then averaged over the listeners of
    ``population``. The default population is a fixed scrambled-Sobol sample of 2,048 listeners
    from the population model (quasi-Monte-Carlo error well below 0.01 score points); this is
    what ``truth.csv``'s ``expected_*`` / ``var_*`` columns hold.

    Parameters
    ----------
    latent : array-like, shape (n,)
        Latent value in [0, 1] (relevance, inclusion or inclusion x order).
    offset : array-like, shape (n,)
        Per-pair perceptual offset (logit units).
    population : mapping, optional
        Arrays of shape (m,): ``scale, bias, noise, snap`` and optionally ``careless_type``
        ("" for genuine, "random", "constant", "inattentive") with ``constant`` (the constant
        listener's score). Careless listeners' scores do not depend on the pair: uniform on
        0..10, the constant, or uniform on 6..10.
    weights : array-like, shape (m,), optional
        Weight of each listener (e.g. their number of ratings); default equal.

    Returns
    -------
    mean, var : numpy.ndarray, shape (n,)
        E[y] and Var[y] for a rating by a listener drawn from ``population`` (with probability
        proportional to ``weights``), over their noise (0..10 scale).
    """
    pop = _population() if population is None else population
    ll = _latent_logit(latent) + np.asarray(offset, dtype=float)
    shape = _noise_shape(latent)
    s, b, sd, snap = (np.asarray(pop[k], float) for k in ("scale", "bias", "noise", "snap"))
    m = len(s)
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (m,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {m} non-negative numbers with a positive sum")
    w = w / w.sum()
    kind = np.asarray(pop.get("careless_type", np.full(m, "")), dtype=object)
    genuine = kind == ""
    mean = np.zeros(len(ll))
    second = np.zeros(len(ll))
    if genuine.any():
        s, b, sd, snap, wg = s[genuine], b[genuine], sd[genuine], snap[genuine], w[genuine]
        for i in range(0, len(ll), 128):
            mu = ll[i : i + 128, None] * s + b  # (chunk, m)
            sdm = shape[i : i + 128, None] * sd
            m1, m2 = _step_moments(mu, sdm, _ROUND_BOUNDS, np.arange(11.0))
            s1, s2 = _step_moments(mu, sdm, _SNAP_BOUNDS, _SNAP_VALUES)
            mean[i : i + 128] = ((1 - snap) * m1 + snap * s1) @ wg
            second[i : i + 128] = ((1 - snap) * m2 + snap * s2) @ wg
    const = np.asarray(pop.get("constant", np.zeros(m)), dtype=float)
    for j in np.flatnonzero(~genuine):
        if kind[j] == "random":
            values = np.arange(11.0)
        elif kind[j] == "inattentive":
            values = np.arange(6.0, 11.0)
        elif kind[j] == "constant":
            values = np.array([const[j]])
        else:
            raise ValueError(f"unknown careless_type {kind[j]!r}")
        mean += w[j] * values.mean()
        second += w[j] * (values**2).mean()
    return mean, np.maximum(second - mean**2, 0.0)


def _draw_scores(latent, offset, params, rows_listener, rng) -> np.ndarray:
    """Sample integer scores, one per row (see :func:`rating_moments` for the model)."""
    ll = _latent_logit(latent) + offset
    s = params["scale"][rows_listener]
    z = s * ll + params["bias"][rows_listener]
    sd = params["noise"][rows_listener] * _noise_shape(latent)
    z = z + sd * rng.standard_normal(len(ll))
    c = 10 * special.expit(z)
    snapped = rng.random(len(ll)) < params["snap"][rows_listener]
    nearest = np.floor(c + 0.5)
    snap_idx = np.searchsorted(special.expit(_SNAP_BOUNDS) * 10, c, side="right")
    y = np.where(snapped, _SNAP_VALUES[snap_idx], nearest)
    # careless listeners ignore the audio
    kind = params["careless_type"][rows_listener]
    rand = rng.integers(0, 11, size=len(ll))
    high = rng.integers(6, 11, size=len(ll))
    y = np.where(kind == "random", rand, y)
    y = np.where(kind == "inattentive", high, y)
    y = np.where(kind == "constant", params["constant"][rows_listener], y)
    return np.clip(y, 0, 10).astype(np.int64)


def _draw_pool(n: int, careless_fraction: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    params = _listener_params(rng.random((n, _PARAM_DIMS)))
    n_careless = int(round(careless_fraction * n))
    if careless_fraction > 0 and n >= 5:
        n_careless = max(n_careless, 1)
    kinds = np.full(n, "", dtype=object)
    idx = rng.choice(n, size=n_careless, replace=False)
    kinds[idx] = rng.choice(["random", "constant", "inattentive"], size=n_careless)
    params["careless_type"] = kinds
    params["constant"] = rng.integers(5, 11, size=n)
    attrs = {}
    for q in range(1, 13):
        if q in (3, 4, 5):
            continue
        attrs[q] = (
            params[f"question{q}"] if q in (9, 10, 12) else _categorical(rng.random(n), _Q_PROBS[q])
        )
    nat = rng.choice(_COUNTRIES, size=n, p=_COUNTRY_PROBS)
    origin = np.where(rng.random(n) < 0.93, nat, rng.choice(_COUNTRIES, size=n, p=_COUNTRY_PROBS))
    live = np.where(rng.random(n) < 0.55, "United Kingdom", "United States")
    attrs[3], attrs[4], attrs[5] = nat, origin, live
    params["attributes"] = attrs
    return params


def _assign(n_captions: int, ratings_per_pair: float, rng: np.random.Generator) -> np.ndarray:
    """Caption slots per listener: array (n_listeners, 6), no caption twice for a listener."""
    n_raters = 1 + rng.poisson(max(ratings_per_pair - 1, 0.0), size=n_captions)
    while n_raters.sum() % RATINGS_PER_LISTENER:
        n_raters[int(rng.choice(np.flatnonzero(n_raters == n_raters.min())))] += 1
    slots = np.repeat(np.arange(n_captions), n_raters)
    rng.shuffle(slots)
    groups = slots.reshape(-1, RATINGS_PER_LISTENER)
    for _ in range(100 * len(groups)):
        dup = [g for g in range(len(groups)) if len(set(groups[g])) < RATINGS_PER_LISTENER]
        if not dup:
            return groups
        g = dup[0]
        vals, counts = np.unique(groups[g], return_counts=True)
        i = int(np.flatnonzero(groups[g] == vals[counts > 1][0])[0])
        h, j = int(rng.integers(len(groups))), int(rng.integers(RATINGS_PER_LISTENER))
        a, b = groups[g, i], groups[h, j]
        if h != g and b not in groups[g] and a not in groups[h]:
            groups[g, i], groups[h, j] = b, a
    raise RuntimeError("could not assign captions to listeners without repeats")


# ============================================================================ screening
def screen_listeners(
    ratings: pd.DataFrame,
    anchor_threshold: float | None = ANCHOR_THRESHOLD,
    min_corr: float | None = MIN_CORR,
    min_pairs: int = 3,
) -> set[str]:
    """Listeners to exclude: high anchor scores or no agreement with the other listeners.

    Rule 1 (RELATE's): the listener's mean score on anchor rows is >= ``anchor_threshold``.
    On RELATE's REL file this reproduces the published exclusions of 1,369 of 1,370 listeners
    (``min_corr=None``); RELATE's README does not state the rule itself.
    Rule 2 (added here): the Pearson correlation between the listener's non-anchor scores and,
    pair by pair, the mean score of the *other* listeners is < ``min_corr``, or the listener's
    scores do not vary at all. Judged only on pairs that someone else rated too, and only when
    there are at least ``min_pairs`` of them (and the others' means vary).

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``wavname, text, score, listener_id, anchor label`` (bool or "True"/"False").
    anchor_threshold, min_corr : float or None
        None switches the rule off.
    min_pairs : int
        Fewest shared pairs for rule 2.

    Returns
    -------
    set of str
        The excluded listener ids.
    """
    need = ("wavname", "text", "score", "listener_id", "anchor label")
    missing = [c for c in need if c not in ratings.columns]
    if missing:
        raise KeyError(f"screen_listeners: ratings lack column(s) {missing}")
    df = pd.DataFrame(
        {
            "pair": ratings["wavname"].astype(str) + "\x00" + ratings["text"].astype(str),
            "score": pd.to_numeric(ratings["score"], errors="raise").astype(float),
            "listener": ratings["listener_id"].astype(str),
            "anchor": ratings["anchor label"]
            .astype(str)
            .str.lower()
            .map({"true": True, "false": False}),
        }
    )
    if df["anchor"].isna().any():
        bad = ratings["anchor label"][df["anchor"].isna()].iloc[0]
        raise ValueError(f"screen_listeners: 'anchor label' must be True/False, got {bad!r}")
    out: set[str] = set()
    if anchor_threshold is not None:
        means = df[df["anchor"]].groupby("listener")["score"].mean()
        out |= set(means[means >= anchor_threshold].index)
    if min_corr is not None:
        real = df[~df["anchor"]]
        grp = real.groupby("pair")["score"]
        total, n = real["pair"].map(grp.sum()), real["pair"].map(grp.count())
        real = real.assign(others=(total - real["score"]) / (n - 1))[n > 1]
        for listener, g in real.groupby("listener"):
            if len(g) < min_pairs or g["others"].std() == 0:
                continue
            if g["score"].std() == 0 or np.corrcoef(g["score"], g["others"])[0, 1] < min_corr:
                out.add(str(listener))
    return out


# ============================================================================ generation
def _validated_params(params: Mapping) -> dict:
    p = default_params()
    unknown = sorted(set(params) - set(p))
    if unknown:
        raise TypeError(f"unknown world parameter(s) {unknown}; known: {sorted(p)}")
    profiles = dict(p["profiles"])
    for name, prof in dict(params.get("profiles") or {}).items():
        if name not in SOURCES:
            raise ValueError(f"profiles: unknown source {name!r}; known: {SOURCES}")
        merged = {**profiles[name], **dict(prof)}
        SystemProfile(**{**merged, "artefacts": tuple(merged["artefacts"])})  # validates keys
        profiles[name] = merged
    p.update({k: v for k, v in params.items() if k != "profiles"})
    p["profiles"] = profiles
    p["n_captions"] = int(p["n_captions"])
    p["clip_seconds"] = float(p["clip_seconds"])
    p["ratings_per_pair"] = float(p["ratings_per_pair"])
    p["careless_fraction"] = float(p["careless_fraction"])
    p["split_fractions"] = [float(x) for x in p["split_fractions"]]
    p["write_audio"] = bool(p["write_audio"])
    if p["n_captions"] < 2 * RATINGS_PER_LISTENER:
        raise ValueError(f"n_captions must be >= {2 * RATINGS_PER_LISTENER}, got {p['n_captions']}")
    if not 0.5 <= p["clip_seconds"] <= 30:
        raise ValueError(f"clip_seconds must be in [0.5, 30], got {p['clip_seconds']}")
    if p["ratings_per_pair"] < 1:
        raise ValueError(f"ratings_per_pair must be >= 1, got {p['ratings_per_pair']}")
    if not 0 <= p["careless_fraction"] < 0.5:
        raise ValueError(f"careless_fraction must be in [0, 0.5), got {p['careless_fraction']}")
    fr = p["split_fractions"]
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1) > 1e-6:
        raise ValueError(f"split_fractions must be 3 non-negative numbers summing to 1, got {fr}")
    for name, prof in profiles.items():
        for k in ("p_drop", "p_swap", "p_substitute", "p_count", "p_extra"):
            if not 0 <= prof[k] <= 1:
                raise ValueError(f"profiles[{name!r}][{k!r}] must be in [0, 1], got {prof[k]}")
        bad = [a for a in prof["artefacts"] if a not in _ARTEFACTS]
        if bad:
            raise ValueError(f"profiles[{name!r}]: unknown artefact(s) {bad}; known {_ARTEFACTS}")
    return p


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *key])


def _plan_world(seed: int, p: dict) -> list[_Caption]:
    n = p["n_captions"]
    captions: list[_Caption] = []
    seen: set[str] = set()
    for i in range(n):
        for attempt in range(1000):
            cap = _plan_caption(i, _rng(seed, 1, i, attempt))
            if cap.text not in seen:
                break
        else:
            raise RuntimeError(f"could not draw a unique caption #{i}")
        seen.add(cap.text)
        captions.append(cap)
    rng = _rng(seed, 2)
    order = rng.permutation(n)
    n_train = int(round(p["split_fractions"][0] * n))
    n_val = int(round(p["split_fractions"][1] * n))
    splits = np.array(["test"] * n, dtype=object)
    splits[order[:n_train]] = "train"
    splits[order[n_train : n_train + n_val]] = "validation"
    train_ids = np.sort(rng.choice(np.arange(1, 100000), size=n, replace=False))
    test_ids = np.sort(
        rng.choice(np.arange(100000, 100000 + max(8000, 2 * n)), size=n, replace=False)
    )
    rng.shuffle(train_ids)
    rng.shuffle(test_ids)
    pair_choice = rng.permutation(np.arange(n) % 2)
    for i, cap in enumerate(captions):
        cap.split = str(splits[i])
        cap.audiocap_id = int(train_ids[i] if cap.split == "train" else test_ids[i])
        cap.systems = SYSTEM_PAIRS[int(pair_choice[i])]
    return captions


def _choose_anchors(captions: list[_Caption], natural: list[_Clip], seed: int) -> None:
    """Anchor audio of each caption: the natural clip of another caption that contains none of
    the caption's classes (extras included); falls back to the fewest shared classes."""
    rng = _rng(seed, 7)
    heard = [{e.cls for e in clip.events} for clip in natural]
    for i, cap in enumerate(captions):
        mine = set(cap.classes)
        shared = np.array([len(mine & h) if j != i else 99 for j, h in enumerate(heard)])
        cap.anchor_of = int(rng.choice(np.flatnonzero(shared == shared.min())))


def _write_wav(path: Path, audio: np.ndarray) -> None:
    """16-bit PCM mono WAV at :data:`SAMPLE_RATE` (stdlib ``wave``: the same bytes as
    soundfile's PCM_16 writer, much faster)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(audio, dtype="<i2").tobytes())


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.6g")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            h.update(chunk)
    return h.hexdigest()


def generate(
    root: str | os.PathLike,
    n_captions: int = 400,
    seed: int = 0,
    *,
    overwrite: bool = False,
    **params,
) -> Path:
    """Write a synthetic world in RELATE's layout to ``root`` (atomically) and return it.

    Parameters
    ----------
    root : path-like
        Target folder; must not exist unless ``overwrite``. The world is built in a temporary
        sibling folder and renamed onto ``root`` when complete.
    n_captions : int
        Number of captions (each rendered by 3 sources: 3 pairs per caption, plus its anchor).
        The default 400 gives 1,200 pairs and about 280 listeners per pool, about a fifth of
        RELATE.
    seed : int
        Everything derives from it; same seed and parameters give byte-identical files.
    overwrite : bool
        Replace an existing ``root``.
    **params
        ``clip_seconds`` (4.0), ``ratings_per_pair`` (4.2), ``careless_fraction`` (0.08),
        ``split_fractions`` ([0.53, 0.235, 0.235]), ``profiles`` (per source, overrides of
        :class:`SystemProfile` fields), ``write_audio`` (True; False skips the wav files, for
        rating-only uses and fast tests). See :func:`default_params`.

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    p = _validated_params({**params, "n_captions": n_captions})
    root = Path(root)
    if root.exists() and not overwrite:
        raise FileExistsError(f"{root} exists; pass overwrite=True to replace it")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _build(tmp, int(seed), p)
        if root.exists():
            if not overwrite:  # another process finished first: leave its world alone
                raise FileExistsError(f"{root} appeared while generating; not replaced")
            shutil.rmtree(root)
        os.rename(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _build(out: Path, seed: int, p: dict) -> None:
    profiles = {
        k: SystemProfile(**{**v, "artefacts": tuple(v["artefacts"])})
        for k, v in p["profiles"].items()
    }
    captions = _plan_world(seed, p)
    clip_seconds = p["clip_seconds"]

    # ---- realise and render every clip, then pick anchors
    clips: dict[tuple[int, str], _Clip] = {}
    for cap in captions:
        for source in ("audiocaps", *cap.systems):
            rng = _rng(seed, 3, cap.index, SOURCES.index(source))
            clip = _realise(cap, profiles[source], rng)
            _time_events(clip, clip_seconds, rng)
            clips[cap.index, source] = clip
            if p["write_audio"]:
                path = out / cap.wavname(source).lstrip("/")
                path.parent.mkdir(parents=True, exist_ok=True)
                _write_wav(path, _render(clip, clip_seconds, rng))
    _choose_anchors(captions, [clips[c.index, "audiocaps"] for c in captions], seed)

    # ---- truth per pair (3 per caption + the caption's anchor)
    rows = []
    for cap in captions:
        w_o, w_q = _weights(cap.caption_label)
        cap_events = _event_string(cap.events, timed=False)
        for source in ("audiocaps", *cap.systems):
            clip = clips[cap.index, source]
            inc, order, qual = _components(cap, clip)
            rows.append(
                dict(
                    wavname=cap.wavname(source),
                    text=cap.text,
                    anchor=False,
                    source=source,
                    audio_type=AUDIO_TYPE[source],
                    audiocap_id=cap.audiocap_id,
                    caption_index=cap.index,
                    split=cap.split,
                    in_audiocaps=cap.folder,
                    caption_label=cap.caption_label,
                    category=EVENT_CLASSES[cap.classes[0]].category,
                    caption_events=cap_events,
                    audio_events=_event_string(clip.events, timed=True),
                    failures=";".join(clip.failures) or "none",
                    inclusion=inc,
                    order=order,
                    quality=qual,
                    w_order=w_o,
                    w_quality=w_q,
                )
            )
        other = captions[cap.anchor_of]
        clip = clips[other.index, "audiocaps"]
        inc, order, qual = _components(cap, clip, anchor=True)
        rows.append(
            dict(
                wavname=other.wavname("audiocaps"),
                text=cap.text,
                anchor=True,
                source="audiocaps",
                audio_type="natural",
                audiocap_id=other.audiocap_id,
                caption_index=cap.index,
                split="excluded",
                in_audiocaps="",
                caption_label=cap.caption_label,
                category=EVENT_CLASSES[cap.classes[0]].category,
                caption_events=cap_events,
                audio_events=_event_string(clip.events, timed=True),
                failures="anchor",
                inclusion=inc,
                order=order,
                quality=qual,
                w_order=w_o,
                w_quality=w_q,
            )
        )
    truth = pd.DataFrame(rows)
    truth["relevance"] = _relevance(
        truth["inclusion"], truth["order"], truth["quality"], truth["w_order"], truth["w_quality"]
    )
    truth["relevance_10"] = 10 * truth["relevance"]
    truth["offset"] = _rng(seed, 4).normal(0.0, OFFSET_SD, size=len(truth))
    latents = {
        "rel": truth["relevance"].to_numpy(),
        "is": truth["inclusion"].to_numpy(),
        "os": (truth["inclusion"] * truth["order"]).to_numpy(),
    }
    for aspect, lat in latents.items():
        mean, var = rating_moments(lat, truth["offset"].to_numpy())
        truth[f"expected_{aspect}"], truth[f"var_{aspect}"] = mean, var
    truth = truth[list(TRUTH_COLUMNS)]

    # ---- listeners and ratings
    pair_index = {
        (w, t): i for i, (w, t) in enumerate(zip(truth["wavname"], truth["text"], strict=True))
    }
    anchor_pair = {
        c.index: pair_index[captions[c.anchor_of].wavname("audiocaps"), c.text] for c in captions
    }
    tables, listener_rows, attr_tables = {}, [], {}
    for pool, key in (("REL", 5), ("IS_and_OS", 6)):
        rng = _rng(seed, key)
        groups = _assign(len(captions), p["ratings_per_pair"], rng)
        params = _draw_pool(len(groups), p["careless_fraction"], rng)
        ids = [f"{i:04d}" if pool == "REL" else str(10000 + i) for i in range(len(groups))]
        r_listener, r_pair = [], []
        for li, group in enumerate(groups):
            items = [
                pair_index[captions[c].wavname(s), captions[c].text]
                for c in group
                for s in ("audiocaps", *captions[c].systems)
            ]
            items += [
                anchor_pair[int(c)] for c in rng.choice(group, ANCHORS_PER_LISTENER, replace=False)
            ]
            items = [items[k] for k in rng.permutation(len(items))]
            r_listener += [li] * len(items)
            r_pair += items
        r_listener, r_pair = np.array(r_listener), np.array(r_pair)
        sub = truth.iloc[r_pair]
        base = pd.DataFrame(
            {
                "wavname": sub["wavname"].to_numpy(),
                "text": sub["text"].to_numpy(),
                "listener_id": np.array(ids, dtype=object)[r_listener],
                "audio type": sub["audio_type"].to_numpy(),
                "anchor label": sub["anchor"].to_numpy(),
                "in AudioCaps": sub["in_audiocaps"].to_numpy(),
            }
        )
        offset = sub["offset"].to_numpy()
        aspects = ("REL",) if pool == "REL" else ("IS", "OS")
        screened: set[str] = set()
        for aspect in aspects:
            lat = latents[aspect.lower()][r_pair]
            df = base.assign(score=_draw_scores(lat, offset, params, r_listener, rng))
            screened |= screen_listeners(df)
            tables[aspect] = df
        if pool == "REL":
            df = tables["REL"]
            split = sub["split"].to_numpy().copy()
            kept = ~df["anchor label"].to_numpy() & ~df["listener_id"].isin(screened).to_numpy()
            kept_per_pair = np.bincount(r_pair, weights=kept, minlength=len(truth))
            rated = np.bincount(r_pair, minlength=len(truth)) > 0
            lost = rated & (kept_per_pair == 0) & ~truth["anchor"].to_numpy()
            zero = set(truth.loc[lost, "caption_index"])
            split[~kept | sub["caption_index"].isin(zero).to_numpy()] = "excluded"
            tables["REL"] = df.assign(**{"in RELATE dataset": split})
        n_ratings = np.bincount(r_listener, minlength=len(ids))
        for li, lid in enumerate(ids):
            listener_rows.append(
                dict(
                    listener_id=lid,
                    pool=pool,
                    scale=params["scale"][li],
                    bias=params["bias"][li],
                    noise=params["noise"][li],
                    snap=params["snap"][li],
                    careless=bool(params["careless_type"][li]),
                    careless_type=params["careless_type"][li],
                    constant=(
                        int(params["constant"][li])
                        if params["careless_type"][li] == "constant"
                        else ""
                    ),
                    screened=lid in screened,
                    n_ratings=int(n_ratings[li]),
                )
            )
        attrs = pd.DataFrame({"listener_id": ids})
        for q in range(1, 13):
            attrs[f"question{q}"] = params["attributes"][q]
        attr_tables[pool] = attrs

    # ---- write
    _write_csv(tables["REL"][list(REL_COLUMNS)], out / "scores" / "REL.csv")
    _write_csv(tables["IS"][list(ISOS_COLUMNS)], out / "scores" / "IS.csv")
    _write_csv(tables["OS"][list(ISOS_COLUMNS)], out / "scores" / "OS.csv")
    _write_csv(attr_tables["REL"], out / "listener_attributes" / "REL.csv")
    _write_csv(attr_tables["IS_and_OS"], out / "listener_attributes" / "IS_and_OS.csv")
    _write_csv(truth, out / "truth.csv")
    _write_csv(pd.DataFrame(listener_rows, columns=list(LISTENER_COLUMNS)), out / "listeners.csv")
    _write_csv(_category_table(captions), out / "audiocaps_categories.csv")

    files = sorted(q for q in out.rglob("*") if q.is_file())
    digests = {q.relative_to(out).as_posix(): _sha256(q) for q in files}
    fingerprint = hashlib.sha256(
        "".join(f"{k}\t{v}\n" for k, v in digests.items()).encode()
    ).hexdigest()
    meta = {
        "simulation": True,
        "note": (
            "SIMULATED world in RELATE's layout (humanclap.data.synthetic); not RELATE. The "
            "source folder names are placeholders; they do not model the real systems."
        ),
        "generator": "humanclap.data.synthetic",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "params": p,
        "key": world_key(seed, **p),
        "fingerprint": fingerprint,
        "csv_sha256": {k: v for k, v in digests.items() if k.endswith(".csv")},
        "counts": {
            "captions": len(captions),
            "pairs": int((~truth["anchor"]).sum()),
            "wav_files": sum(k.endswith(".wav") for k in digests),
            **{f"ratings_{a}": len(tables[a]) for a in ("REL", "IS", "OS")},
            "listeners_REL": len(attr_tables["REL"]),
            "listeners_IS_and_OS": len(attr_tables["IS_and_OS"]),
        },
    }
    (out / "world.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def _category_table(captions: list[_Caption]) -> pd.DataFrame:
    def yt(i: int) -> str:
        return "syn" + hashlib.sha256(f"clip{i}".encode()).hexdigest()[:8]

    rows = []
    for c in captions:
        a = captions[c.anchor_of]
        syn = [c.wavname(s) for s in c.systems]
        rows.append(
            dict(
                audiocaps_id=c.audiocap_id,
                caption=c.text,
                file_path=f"/audiocaps/{c.folder}/{c.audiocap_id}.mp3",
                youtube_id=yt(c.audiocap_id),
                start_seconds=0,
                caption_label=c.caption_label,
                anchor_filepath=f"/audiocaps/{a.folder}/{a.audiocap_id}.mp3",
                rel_anchor_youtube_id=yt(a.audiocap_id),
                rel_anchor_start_seconds=0,
                syn1=syn[0],
                syn2=syn[1],
                q_anchor=f"/q_anchor/{c.folder}/{c.audiocap_id}.mp3",
            )
        )
    return pd.DataFrame(rows, columns=list(CATEGORY_COLUMNS))


# ============================================================================ cache
def world_key(seed: int = 0, **params) -> str:
    """A 16-hex key for (generator version, seed, full parameter set)."""
    p = _validated_params(params)
    blob = json.dumps(
        {"version": GENERATOR_VERSION, "seed": int(seed), "params": p}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_world(root: str | os.PathLike | None = None, seed: int = 0, **params) -> Path:
    """Return a cached world for (seed, params), generating it first if missing.

    Parameters
    ----------
    root : path-like, optional
        Folder holding the worlds; default ``<cache>/worlds`` where ``<cache>`` is
        ``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``.
    seed, **params
        As for :func:`generate` (``n_captions`` included).

    Returns
    -------
    pathlib.Path
        ``<root>/<world_key(seed, **params)>``; complete (generated into a temporary folder and
        renamed), so a concurrent caller either sees the whole world or none.
    """
    base = Path(root) if root is not None else user_cache_dir() / "worlds"
    key = world_key(seed, **params)
    path = base / key
    if (path / "world.json").is_file():
        return path
    p = dict(params)
    n = p.pop("n_captions", default_params()["n_captions"])
    try:
        generate(path, n_captions=n, seed=seed, overwrite=path.exists(), **p)
    except OSError:
        if (path / "world.json").is_file():  # another process finished first
            return path
        raise
    return path


# ============================================================================ reading helpers
def load_audio(root: str | os.PathLike, wavname: str) -> np.ndarray:
    """Read ``<root>/<wavname>`` as float32 in [-1, 1], shape (num_samples,), 16 kHz mono.

    Raises
    ------
    FileNotFoundError
        No such file (e.g. a world generated with ``write_audio=False``).
    ValueError
        The file is not 16 kHz mono.
    """
    path = Path(root) / str(wavname).lstrip("/")
    if not path.is_file():
        raise FileNotFoundError(f"no audio file {path} (wavname {wavname!r})")
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != SAMPLE_RATE or audio.shape[1] != 1:
        raise ValueError(
            f"{path}: expected 16 kHz mono, got {sr} Hz with {audio.shape[1]} channels"
        )
    return audio[:, 0]


def load_truth(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``truth.csv`` (one row per pair, anchors included; see :data:`TRUTH_COLUMNS`).

    ``failures`` is ``"none"`` for a faithful render, ``"anchor"`` for anchors, otherwise a
    ``;``-list of ``drop:<class>``, ``sub:<class>><class>``, ``count:<class>``, ``swap``,
    ``extra:<class>``, ``unrelated:<class>``. ``caption_events`` lists ``class[*count]@segment``
    in caption order; ``audio_events`` lists ``class[*count]@onset-offset`` (seconds) in time
    order.
    """
    path = Path(root) / "truth.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a synthetic world?")
    df = pd.read_csv(path, keep_default_na=False, dtype={"in_audiocaps": str, "split": str})
    missing = [c for c in TRUTH_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    df["anchor"] = df["anchor"].astype(str).str.lower().map({"true": True, "false": False})
    return df


#: The failure kinds of ``truth.csv``'s ``failures`` column, in the order the book shows them.
FAILURE_KINDS: tuple[str, ...] = ("drop", "sub", "swap", "count", "extra", "unrelated")


def failure_masks(failures: pd.Series) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Which pairs carry each failure kind, and which are faithful.

    Parameters
    ----------
    failures : pd.Series of str, shape (n,)
        The ``failures`` column of :func:`load_truth` (``"none"``, ``"anchor"`` or a
        ``;``-list such as ``"drop:dog_bark;swap"``).

    Returns
    -------
    (dict of kind -> bool array (n,), bool array (n,))
        One mask per kind of :data:`FAILURE_KINDS` (a pair with two failures is in both), and
        the mask of faithful pairs (``"none"``).

    Raises
    ------
    ValueError
        A value holds a token of no known kind (the message names the row).
    """
    values = failures.astype(str)
    tokens = values.str.split(";")
    known = {*FAILURE_KINDS, "none", "anchor"}
    for idx, items in tokens.items():
        bad = [t for t in items if t.split(":", 1)[0] not in known]
        if bad:
            raise ValueError(f"failures: row {idx} has unknown failure token(s) {bad}")
    kinds = tokens.map(lambda items: {t.split(":", 1)[0] for t in items})
    masks = {k: kinds.map(lambda s, k=k: k in s).to_numpy(dtype=bool) for k in FAILURE_KINDS}
    return masks, (values == "none").to_numpy()


def load_listeners(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``listeners.csv``: per listener (``pool`` REL or IS_and_OS) the simulated parameters
    (``scale, bias, noise, snap``), ``careless`` and ``careless_type`` ("" for genuine, "random",
    "constant", "inattentive"), ``constant`` (the constant listener's score, else empty),
    whether :func:`screen_listeners` excluded them (``screened``) and ``n_ratings``."""
    path = Path(root) / "listeners.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a synthetic world?")
    return pd.read_csv(
        path, keep_default_na=False, dtype={"listener_id": str, "careless_type": str}
    )


def true_noise_ceiling(
    root: str | os.PathLike,
    aspect: str = "REL",
    split: str | None = None,
    screened: bool = True,
) -> dict[str, float]:
    """The reliability of the observed pair means, exactly as implied by the simulation.

    The raters of the used ratings form a pool (genuine listeners, plus any careless listener
    screening missed), each weighted by their number of used ratings. For pair p let ``T_p`` be
    the expected score of a rating by a listener drawn from that pool and ``V_p`` its variance
    (over who rates and their noise; :func:`rating_moments` with the listeners' true parameters,
    exact). If the ``k_p`` raters of p are independent draws from the pool,
    ``E[mean_p | p] = T_p`` and ``Var[mean_p | p] = V_p / k_p``; over the pairs,
    ``Cov(mean, T) = Var(T)`` and ``Var(mean) = Var(T) + E[V/k]``, so the correlation between the
    observed means and the true means -- the best LCC that any predictor of ``T`` can reach
    against the observed means, which chapter 1 estimates by ``sqrt(ICC(1,k))`` -- is
    ``sqrt(reliability)`` with ``reliability = Var(T) / (Var(T) + E[V / k])``. Variances are over
    the selected pairs (ddof=0), with their actual ``k_p``. When ``k_p`` varies, the usual
    estimate ``sqrt(ICC(1,k))`` with one average k overstates this, because
    ``E[V/k] > E[V] / mean(k)``: over ten default worlds (REL, screened) the one-way ANOVA gave
    ``sqrt(ICC(1,k0))`` = 0.86 on average while the true ceiling and the observed correlation
    were both 0.82; ``icc1`` itself was estimated almost without bias (0.43 vs 0.41; screening
    keeps slightly more consistent raters than their parameters imply).

    The pool (not the whole population) is the right reference: screening keeps the listeners
    who agree more (on the default world it lowers the within-pair variance by about 5 %), and
    a noise ceiling is about the raters that produced the data. ``truth.csv``'s
    ``expected_*``/``var_*`` columns are the population values instead.

    Parameters
    ----------
    root : path-like
        A world.
    aspect : {"REL", "IS", "OS"}
    split : {"train", "validation", "test"}, optional
        Only pairs of this split.
    screened : bool
        Use only ratings kept by screening (REL: ``in RELATE dataset != excluded``; IS/OS:
        listeners not excluded by :func:`screen_listeners` on IS or OS). Anchors are never used.

    Returns
    -------
    dict
        ``reliability`` (true reliability of the k-rating means), ``ceiling_lcc`` (its square
        root), ``icc1`` (single-rating reliability ``Var(T) / (Var(T) + E[V])``),
        ``observed_lcc`` (corr of this world's observed means with ``T``), ``var_true``
        (``Var(T)``), ``mean_noise_var`` (``E[V/k]``), ``mean_within_var`` (``E[V]``),
        ``mean_k``, ``n_pairs``, ``n_listeners``.
    """
    if aspect not in ("REL", "IS", "OS"):
        raise ValueError(f"aspect must be REL, IS or OS, got {aspect!r}")
    root = Path(root)
    truth = load_truth(root)
    listeners = load_listeners(root).set_index("listener_id")
    cols = {"dtype": {"listener_id": str}, "keep_default_na": False}
    df = pd.read_csv(root / "scores" / f"{aspect}.csv", **cols)
    df = df[df["anchor label"].astype(str) != "True"]
    if screened:
        if aspect == "REL":
            df = df[df["in RELATE dataset"] != "excluded"]
        else:
            out: set[str] = set()
            for a in ("IS", "OS"):
                out |= screen_listeners(pd.read_csv(root / "scores" / f"{a}.csv", **cols))
            df = df[~df["listener_id"].isin(out)]
    g = df.groupby(["wavname", "text"])["score"].agg(["mean", "count"]).reset_index()
    t = truth[~truth["anchor"]].merge(g, on=["wavname", "text"], how="inner")
    if split is not None:
        if split not in ("train", "validation", "test"):
            raise ValueError(f"split must be train, validation or test, got {split!r}")
        t = t[t["split"] == split]
        df = df[df["text"].isin(set(t["text"]))]
    if len(t) < 3:
        raise ValueError(f"too few pairs ({len(t)}) for aspect={aspect}, split={split}")
    used = df["listener_id"].value_counts()
    unknown = used.index.difference(listeners.index)
    if len(unknown):
        raise ValueError(f"{root}/listeners.csv lacks listener(s) {list(unknown[:5])}")
    pool = listeners.loc[used.index]
    latent = {
        "REL": t["relevance"],
        "IS": t["inclusion"],
        "OS": t["inclusion"] * t["order"],
    }[aspect]
    tv, vv = rating_moments(
        latent.to_numpy(),
        t["offset"].to_numpy(),
        population={
            "scale": pool["scale"].to_numpy(),
            "bias": pool["bias"].to_numpy(),
            "noise": pool["noise"].to_numpy(),
            "snap": pool["snap"].to_numpy(),
            "careless_type": pool["careless_type"].to_numpy(dtype=object),
            "constant": pd.to_numeric(pool["constant"], errors="coerce").fillna(0).to_numpy(),
        },
        weights=used.to_numpy(),
    )
    k = t["count"].to_numpy()
    var_t = float(np.var(tv))
    noise = float(np.mean(vv / k))
    rel = var_t / (var_t + noise)
    return {
        "reliability": rel,
        "ceiling_lcc": float(np.sqrt(rel)),
        "icc1": var_t / (var_t + float(np.mean(vv))),
        "observed_lcc": float(np.corrcoef(t["mean"], tv)[0, 1]),
        "var_true": var_t,
        "mean_noise_var": noise,
        "mean_within_var": float(np.mean(vv)),
        "mean_k": float(k.mean()),
        "n_pairs": len(t),
        "n_listeners": len(pool),
    }


def world_fingerprint(world_root: str | os.PathLike) -> str:
    """The world's content fingerprint: ``world.json["fingerprint"]`` when present, else a hash
    of ``scores/REL.csv`` and the names and sizes of all WAV files under the root."""
    root = Path(world_root)
    meta = root / "world.json"
    if meta.is_file():
        try:
            value = json.loads(meta.read_text()).get("fingerprint")
        except (json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f"{meta}: not a JSON object ({err})") from err
        if value:
            return str(value)
    rel = root / "scores" / "REL.csv"
    if not rel.is_file():
        raise FileNotFoundError(f"{rel}: no ratings file; is {root} a world/RELATE root?")
    wavs = sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*.wav"))
    return stable_hash({"rel": rel.read_bytes().hex(), "wavs": wavs}, length=32)
