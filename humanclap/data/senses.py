"""Rule 7 of the caption matcher: which senses of a sound word its maker allows.

A word naming a sound of people (a class under *Human sounds*: Humming, Singing, Crying,
Whistling, ...) or, in its ``-ing`` form, of an animal (a class under *Animal* only: Purr) means
that sound only when its maker is a person or an animal. "An engine humming" is the engine's hum,
not the human voice's *Humming*; "birds singing" is the birds' song, not human *Singing*.
:func:`maker` finds what makes the sound, :func:`allowed_senses` keeps the classes it allows.
:mod:`humanclap.data.matcher` applies this before its tie rules (rule 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from humanclap.data.ontology import Ontology

__all__ = [
    "CONJUNCTIONS",
    "OBJECT_WORDS",
    "PERSON_WORDS",
    "PREPOSITIONS",
    "CaptionWords",
    "allowed_senses",
    "maker",
]

#: Words naming people: the maker of a sound that is a person.
PERSON_WORDS: frozenset[str] = frozenset(
    "man woman person people human child kid boy girl baby infant toddler guy lady gentleman adult "
    "teenager teen he she someone somebody they audience crowd group singer announcer narrator "
    "reporter speaker".split()
)
#: Words naming machines and other things that are no AudioSet class.
OBJECT_WORDS: frozenset[str] = frozenset(
    "machine machinery appliance fridge refrigerator freezer device generator compressor "
    "transformer turbine computer equipment electronic electric electrical mechanical power "
    "motorboat".split()
)
#: Words between a sound word and a source that show the source is not its maker: conjunctions
#: and the prepositions that bring in another sound ("an engine with muffled speech").
CONJUNCTIONS: frozenset[str] = frozenset(
    "and or but while as then followed after before during when until alongside amid with "
    "over against plus behind near under among".split()
)
#: Prepositions before a source that make it a place or an object, not a maker ("men riding in
#: a car talking").
PREPOSITIONS: frozenset[str] = frozenset(
    "in on into onto at to from of by through inside across toward towards".split()
)
_HUMAN, _ANIMAL = "/m/0dgw9r", "/m/0jbk"
_THING_ROOTS = frozenset({"/t/dd00041", "/m/059j3w"})  # Sounds of things, Natural sounds


class Span(Protocol):
    """A matched word sequence: its first word, its length and its candidate classes."""

    first: int
    length: int
    class_ids: tuple[str, ...]


@dataclass(frozen=True)
class CaptionWords:
    """A caption as the matcher sees it (its words without the filler words).

    Attributes
    ----------
    spans : sequence of Span
        The caption's matches.
    lower : list of str
        The words, lower-cased.
    clauses : list of int
        The clause number of each word.
    person, thing : list of bool
        Whether each word names a person (:data:`PERSON_WORDS`) or a thing
        (:data:`OBJECT_WORDS`), compared by stem.
    """

    spans: Sequence[Span]
    lower: list[str]
    clauses: list[int]
    person: list[bool]
    thing: list[bool]


def _kind(ontology: Ontology, ids: Sequence[str]) -> str:
    """``"person"``, ``"animal"``, ``"thing"`` or ``"unknown"``: what the classes are."""
    roots = set().union(*(ontology.top_level(c) for c in ids))
    if roots == {_HUMAN}:
        return "person"
    if roots == {_ANIMAL}:
        return "animal"
    return "thing" if roots and roots <= _THING_ROOTS else "unknown"


def _verb(span: Span, words: CaptionWords) -> bool:
    """Whether the span ends in a verb form (``-s``, ``-ing``, ``-ed``), which ``and`` may join to
    the verb before it; ``"speech"`` or ``"laughter"`` after ``and`` is a new sound."""
    last = words.lower[span.first + span.length - 1]
    return last.endswith(("s", "ing", "ed")) and not last.endswith("ss")


def _backward(span: Span, words: CaptionWords, cover: dict, source) -> str | None:
    """The nearest source before ``span`` in its clause, no conjunction in between."""
    i, clause = span.first - 1, words.clauses[span.first]
    joined = i if _verb(span, words) else -2  # "an engine idles and hums": joined verbs
    while i >= 0 and words.clauses[i] == clause:
        if i == joined and words.lower[i] in ("and", "or") and i > 0 and i - 1 in cover:
            kind = source(i - 1)  # "an engine idles and hums": the sound before, its maker's
            if kind != "unknown":
                return kind
            i = joined = cover[i - 1].first - 1  # "birds chirp and sing": look further back
            continue
        if i == joined and words.lower[i] in ("and", "or") and i > 0 and not source(i - 1):
            i -= 1  # "a machine operates and hums": the verbs share a maker
            continue
        if words.lower[i] in CONJUNCTIONS:
            return None
        if source(i):
            start = cover[i].first if i in cover else i
            if start > 0 and words.lower[start - 1] in PREPOSITIONS:
                i = start - 2  # "men riding in a car talking": a place, not the maker
                continue
            return source(i)
        i -= 1
    return None


def _forward(span: Span, words: CaptionWords, cover: dict, source) -> str | None:
    """A source after ``of``/``from``/``by`` behind ``span`` (and the sounds joined to it)."""
    after, n, clause = span.first + span.length, len(words.lower), words.clauses[span.first]
    while _verb(span, words) and after + 1 < n and words.lower[after] in ("and", "or"):
        nxt = after + 1  # "humming and vibrating of an engine"
        if nxt in cover:
            after = cover[nxt].first + cover[nxt].length
        elif not source(nxt):
            after = nxt + 1
        else:
            break
    if after < n and words.lower[after] in ("of", "from", "by"):
        for i in range(after + 1, n):
            if words.clauses[i] != clause or words.lower[i] in CONJUNCTIONS:
                break
            if source(i):
                return source(i)
    return None


def maker(ontology: Ontology, span: Span, words: CaptionWords) -> str | None:
    """What makes the sound ``span`` names: ``"person"``, ``"animal"``, ``"thing"``,
    ``"unknown"`` (a source of no single kind) or None (no source found).

    The maker is the source the word describes, in its clause: a person the matched words name
    themselves (``"a woman talks"``), else the word right after it (``"a humming engine"``), else the nearest source before it with no conjunction in between (``"an
    engine humming"``, ``"birds sing"``; a verb joined by ``and``/``or`` shares the maker of the
    one before: ``"an engine idles and hums"``), else one after ``of``/``from``/``by``
    (``"humming and vibrating of an engine"``). Sources are the caption's other matches and the
    person and object words.
    """
    cover = {
        i: s
        for s in words.spans
        if s.first != span.first
        for i in range(s.first, s.first + s.length)
    }

    def source(i: int) -> str | None:
        if i in cover:
            return _kind(ontology, cover[i].class_ids)
        return "person" if words.person[i] else "thing" if words.thing[i] else None

    if any(words.person[span.first : span.first + span.length]):
        return "person"  # "a woman talks": the words name their maker
    after = span.first + span.length
    if after < len(words.lower) and words.clauses[after] == words.clauses[span.first]:
        if source(after):
            return source(after)
    return _backward(span, words, cover, source) or _forward(span, words, cover, source)


def allowed_senses(ontology: Ontology, span: Span, words: CaptionWords) -> tuple[str, ...]:
    """The classes of ``span`` its maker allows.

    A person keeps the classes under *Human sounds* (``"a man whistling"``: Whistling, not the
    Whistle); an animal drops those only under *Human sounds* or things (``"birds singing"``,
    ``"a bird whistling"``: neither Whistling nor the Whistle); a thing (a
    match under *Sounds of things* or *Natural sounds*, or an object word) drops those only under
    *Human sounds*, and, for an ``-ing`` word, those only under *Animal* (``"an engine
    humming"``: Hum, not Humming; ``"an engine purring"``: not Purr). A span of no such class,
    or without a maker, keeps all. An empty result means the word names no further event: its
    maker is already matched.
    """
    ids = span.class_ids
    roots = {c: ontology.top_level(c) for c in ids}
    ing = words.lower[span.first + span.length - 1].endswith("ing")
    human = [c for c in ids if _HUMAN in roots[c]]
    if not human and not (ing and any(roots[c] == {_ANIMAL} for c in ids)):
        return ids
    kind = maker(ontology, span, words)
    if kind == "person":
        return tuple(human) or ids
    if kind == "animal":
        return tuple(c for c in ids if not roots[c] <= {_HUMAN} | _THING_ROOTS)
    if kind == "thing":
        return tuple(c for c in ids if roots[c] != {_HUMAN} and not (ing and roots[c] == {_ANIMAL}))
    return ids
