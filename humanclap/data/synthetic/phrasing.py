"""How captions of the synthetic world name an event: wordings, counts and modifiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Phrasing", "count_words", "phrase_event"]


@dataclass(frozen=True)
class Phrasing:
    """One way of naming an event in a caption.

    ``det`` is ``"a"`` for a singular countable noun (becomes "a"/"an" as needed) or ``""``
    (mass nouns, plurals, "someone"). ``finite`` is the verb phrase after the subject ("barks"),
    ``gerund`` its -ing form ("barking"). ``pitch`` scales the event's pitch (a woman's voice is
    higher than a man's).
    """

    det: str
    noun: str
    finite: str
    gerund: str
    pitch: float = 1.0


def count_words(count: int, rng: np.random.Generator | None = None) -> str:
    """Words for a number of repetitions: '' (1), 'twice', 'three times', 'several times'."""
    if count <= 1:
        return ""
    if count == 2:
        return "twice"
    if count == 3:
        return "three times"
    if rng is not None and rng.random() < 0.4:
        return "repeatedly"
    return "several times"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def phrase_event(
    phrasing: Phrasing, form: str, adjective: str | None = None, count_text: str = ""
) -> str:
    """A clause naming one event.

    Parameters
    ----------
    phrasing : Phrasing
        The wording.
    form : {"finite", "gerund"}
        "a dog barks" or "a dog barking".
    adjective : {None, "loud", "distant", "high-pitched"}
        ``loud`` adds "loudly" after the verb, ``distant`` adds "in the distance" at the end,
        ``high-pitched`` goes before the noun.
    count_text : str
        From :func:`count_words` ("twice").

    Returns
    -------
    str
        Lower-case clause, e.g. ``"a high-pitched dog barks twice in the distance"``.
    """
    if form not in ("finite", "gerund"):
        raise ValueError(f"form must be 'finite' or 'gerund', got {form!r}")
    noun = phrasing.noun
    if adjective == "high-pitched":
        noun = f"high-pitched {noun}"
    subject = f"{_article(noun)} {noun}" if phrasing.det else noun
    words = [subject, phrasing.finite if form == "finite" else phrasing.gerund]
    if adjective == "loud":
        words.append("loudly")
    if count_text:
        words.append(count_text)
    if adjective == "distant":
        words.append("in the distance")
    return " ".join(words)
