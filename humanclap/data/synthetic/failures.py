"""What a source makes of a caption: the failures it plants, and when each event sounds.

:func:`realise` applies a source's failure profile
(:class:`~humanclap.data.synthetic.params.SystemProfile`) to a caption's events; every failure is recorded as a token whose kind is one of
:data:`FAILURE_KINDS` (``drop:<class>``, ``sub:<class>><class>``, ``swap``, ``count:<class>``,
``extra:<class>``, ``unrelated:<class>``). :func:`time_events` then lays the events out in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from humanclap.data.synthetic.captions import CLASS_NAMES, Caption, Event
from humanclap.data.synthetic.events import CONFUSABLE, EVENT_CLASSES
from humanclap.data.synthetic.params import SystemProfile

__all__ = ["FAILURE_KINDS", "Clip", "describe_failures", "overlapping", "realise", "time_events"]

#: The failure kinds of ``truth.csv``'s ``failures`` column, in the order the book shows them.
FAILURE_KINDS: tuple[str, ...] = ("drop", "sub", "swap", "count", "extra", "unrelated")


@dataclass
class Clip:
    """What one source renders for a caption: its events, segments, quality, artefacts and
    the failures that produced it (tokens as in ``truth.csv``'s ``failures``)."""

    events: list[Event]
    n_segments: int
    quality: float
    artefacts: tuple[str, ...]
    failures: list[str] = field(default_factory=list)


def realise(caption: Caption, profile: SystemProfile, rng: np.random.Generator) -> Clip:
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
    others = [c for c in CLASS_NAMES if c not in caption_classes]
    if not events:  # everything dropped: the system produced something unrelated
        events.append(Event(str(rng.choice(others)), 0, pitch=float(rng.uniform(0.8, 1.25))))
        failures.append(f"unrelated:{events[0].cls}")
    elif profile.p_extra > 0 and rng.random() < profile.p_extra:
        extra = str(rng.choice(others))
        events.append(Event(extra, int(rng.integers(n_seg)), pitch=float(rng.uniform(0.8, 1.25))))
        failures.append(f"extra:{extra}")
    quality = float(rng.beta(profile.quality_a, profile.quality_b))
    return Clip(events, n_seg, quality, profile.artefacts, failures)


def time_events(clip: Clip, clip_seconds: float, rng: np.random.Generator) -> None:
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
        if e.caption_pos is None or (e.caption_pos > 0 and overlapping(clip, e)):
            # overlapping / background events span most of the segment with a little jitter
            s0 = s0 + rng.uniform(0.0, 0.15) * (s1 - s0)
        else:
            s0 = s0 + rng.uniform(0.0, 0.05) * (s1 - s0)
        s1 = s1 - rng.uniform(0.0, 0.05) * (s1 - s0)
        e.onset, e.offset = float(s0), float(s1)


def overlapping(clip: Clip, e: Event) -> bool:
    """Whether an earlier caption event shares ``e``'s segment (``e`` is heard over it)."""
    return any(
        o is not e and o.seg == e.seg and (o.caption_pos or 0) < e.caption_pos for o in clip.events
    )


def _phrase(token: str) -> str:
    """One failure token in words (class names with spaces for underscores)."""
    kind, _, arg = token.partition(":")
    arg = arg.replace("_", " ")
    if kind == "sub":
        old, _, new = arg.partition(">")
        return f"{old} replaced by {new}"
    phrases = {
        "drop": f"{arg} missing",
        "swap": "events in the wrong order",
        "count": f"wrong number of {arg}",
        "extra": f"extra {arg}",
        "unrelated": f"an unrelated {arg} instead",
        "none": "none",
        "anchor": "anchor clip",
    }
    if kind not in phrases:
        raise ValueError(f"failures: unknown failure token {token!r}")
    return phrases[kind]


def describe_failures(failures: str) -> str:
    """A ``failures`` value of ``truth.csv`` in words.

    Parameters
    ----------
    failures : str
        ``"none"``, ``"anchor"`` or a ``;``-list of tokens, e.g. ``"count:thunder;swap"``.

    Returns
    -------
    str
        E.g. ``"wrong number of thunder; events in the wrong order"``.

    Raises
    ------
    ValueError
        A token of no known kind (the message names it).
    """
    return "; ".join(_phrase(t) for t in str(failures).split(";") if t)
