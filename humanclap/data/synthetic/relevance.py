"""The latent relevance of a (clip, caption) pair, from three components.

- ``inclusion``: mean credit of the caption's events (present 1, present with a wrong count
  0.7, replaced by a confusable class 0.25, missing 0), minus 0.1 per unmentioned extra event;
- ``order``: share of the caption's ordered event pairs (different segments) whose order the
  audio keeps, among pairs whose events are both present (1 when there is none);
- ``quality``: 1 - severity of the degradation (a Beta draw per clip; source dependent).

``relevance = inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))``, with
weights from the caption's AudioSet categories (the largest over its categories,
:data:`ORDER_WEIGHT`, :data:`QUALITY_WEIGHT`). The IS aspect rates ``inclusion``, the OS aspect
``inclusion * order`` (:func:`latent_values`). :func:`truth_table` gathers all of it, with the
per-pair perceptual offsets and the expected ratings, into the rows of ``truth.csv``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import pandas as pd

from humanclap.data.synthetic.captions import Caption, event_string
from humanclap.data.synthetic.events import EVENT_CLASSES
from humanclap.data.synthetic.failures import Clip
from humanclap.data.synthetic.layout import TRUTH_COLUMNS
from humanclap.data.synthetic.listeners import OFFSET_SD, rating_moments
from humanclap.data.synthetic.params import AUDIO_TYPE, stream

__all__ = [
    "CREDIT_SUBSTITUTED",
    "CREDIT_WRONG_COUNT",
    "EXTRA_PENALTY",
    "ORDER_WEIGHT",
    "QUALITY_WEIGHT",
    "components",
    "latent_values",
    "relevance",
    "truth_table",
    "weights",
]

T = TypeVar("T", float, np.ndarray, pd.Series)

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


def components(caption: Caption, clip: Clip, anchor: bool = False) -> tuple[float, float, float]:
    """(inclusion, order, quality) of the clip against the caption (see the module docstring).

    An ``anchor`` clip is another caption's: its events are credited by class only.
    """
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


def weights(caption_label: str) -> tuple[float, float]:
    """(w_order, w_quality) of a caption: the largest over its categories (comma-separated)."""
    cats = caption_label.split(",")
    return max(ORDER_WEIGHT[c] for c in cats), max(QUALITY_WEIGHT[c] for c in cats)


def relevance(inclusion: T, order: T, quality: T, w_order: T, w_quality: T) -> T:
    """``inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))``, elementwise."""
    return inclusion * (1 - w_order * (1 - order)) * (1 - w_quality * (1 - quality))


def latent_values(truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """What each aspect rates, per pair of ``truth`` (shape (n,) each).

    Returns
    -------
    dict
        ``"rel"``: ``relevance``; ``"is"``: ``inclusion``; ``"os"``: ``inclusion * order``.
    """
    return {
        "rel": truth["relevance"].to_numpy(),
        "is": truth["inclusion"].to_numpy(),
        "os": (truth["inclusion"] * truth["order"]).to_numpy(),
    }


def _caption_rows(
    cap: Caption, captions: list[Caption], clips: dict[tuple[int, str], Clip]
) -> list[dict]:
    """The truth of a caption's pairs: its 3 renders, then its anchor."""
    w_o, w_q = weights(cap.caption_label)
    cap_events = event_string(cap.events, timed=False)
    rows = []
    for source in ("audiocaps", *cap.systems):
        clip = clips[cap.index, source]
        inc, order, qual = components(cap, clip)
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
                audio_events=event_string(clip.events, timed=True),
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
    inc, order, qual = components(cap, clip, anchor=True)
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
            audio_events=event_string(clip.events, timed=True),
            failures="anchor",
            inclusion=inc,
            order=order,
            quality=qual,
            w_order=w_o,
            w_quality=w_q,
        )
    )
    return rows


def truth_table(
    captions: list[Caption], clips: dict[tuple[int, str], Clip], seed: int
) -> pd.DataFrame:
    """The truth of every pair (3 per caption plus the caption's anchor): ``truth.csv``.

    Parameters
    ----------
    captions : list of Caption
        The world's captions, anchors chosen.
    clips : dict
        ``(caption index, source) -> Clip`` for each caption's 3 renders.
    seed : int
        The world's seed (the offsets' random stream).

    Returns
    -------
    pandas.DataFrame
        Shape ``(4 * len(captions), 28)``, columns
        :data:`~humanclap.data.synthetic.layout.TRUTH_COLUMNS`.
    """
    truth = pd.DataFrame([row for cap in captions for row in _caption_rows(cap, captions, clips)])
    truth["relevance"] = relevance(
        truth["inclusion"], truth["order"], truth["quality"], truth["w_order"], truth["w_quality"]
    )
    truth["relevance_10"] = 10 * truth["relevance"]
    truth["offset"] = stream(seed, 4).normal(0.0, OFFSET_SD, size=len(truth))
    for aspect, lat in latent_values(truth).items():
        mean, var = rating_moments(lat, truth["offset"].to_numpy())
        truth[f"expected_{aspect}"], truth[f"var_{aspect}"] = mean, var
    return truth[list(TRUTH_COLUMNS)]
