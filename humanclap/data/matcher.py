"""Caption -> AudioSet classes: whole-word, stemmed, longest-match-first matching of class names.

The rules, in order (all of them here, so that every match can be explained):

1. **Words.** A caption and every class synonym (the comma-separated parts of a name) are cut
   into words: runs of letters and digits, so hyphens and punctuation separate words
   (``"cock-a-doodle-doo"`` is four words) and a word never matches inside another (``"cat"``
   is not in ``"category"`` or ``"scattered"``). A possessive ``'s`` is dropped. Case is ignored.
   A parenthesised qualifier of a name is not matched (``"Howl (wind)"`` is matched as
   ``"howl"``), nor the synonym ``"etc."``; a leading ``"and"`` / ``"or"`` of a synonym is
   dropped (``"Dishes, pots, and pans"``).
2. **Filler words.** Articles and forms of *to be* (:data:`FILLER_WORDS`) are skipped on both
   sides, so ``"a man is speaking"`` matches ``"man speaking"`` (Male speech); the span reported
   still runs over them.
3. **Stemming**, the same on both sides (:func:`stem`), deliberately small: a table of irregular
   forms (``men`` -> ``man``, ``geese`` -> ``goose``, ``spoke`` -> ``speak``), then one of
   ``-ies``/``-ied`` -> ``-y``, ``-ing``, ``-ed`` or a plural ``-s``/``-es``, then a final ``-e``
   and a doubled final consonant are dropped (``barks``/``barking``/``barked`` -> ``bark``;
   ``rumble``/``rumbling`` -> ``rumbl``; ``running`` -> ``run``). ``-er`` is NOT stripped: it
   would merge Buzzer with Buzz, Shower with Show and Speaker with Speech. A few words are kept
   as they are (:data:`KEPT_WORDS`: ``rate`` is not ``rat``). Last, a few word aliases
   (:data:`WORD_ALIASES`): ``speak``/``talk`` -> ``speech`` (so ``"speaks"`` matches Speech and
   ``"woman talking"`` Female speech), ``laughter`` -> ``laugh``, ``motor`` -> ``engine``.
4. **Longest match first**, within a clause (punctuation ``,;:.!?()`` ends one). Of all word
   sequences that equal a synonym, the longest are taken first (then the leftmost); the words
   they cover are not matched again, so ``"car horn"`` gives "Vehicle horn, car horn, honking"
   and not also Car.
5. **Classes.** Blacklisted classes (AudioSet does not label them) are never matched, unless
   ``include_blacklisted``. Abstract classes ARE matched (``"human voice"``, ``"animals"``):
   a caption that names an intermediate node says something, and :meth:`Ontology.rollup` puts
   it at its place. Synonyms too ambiguous in captions to mean their class
   (:data:`AMBIGUOUS_WORDS`: ``run`` is mostly an engine running, ``fly`` mostly a plane flying)
   are skipped.
6. **Ties.** A word sequence that names several classes (``"crow"``: the bird or a rooster's
   crowing; ``"howl"``: a dog's or the wind's; ``"honk"``: a goose's or a car horn's) keeps,
   in this order: the candidates nearest (:meth:`Ontology.distance`, under a common root) to
   the caption's other matches, the nearest match in the caption deciding first (``"a car
   honks"`` -> the car horn); else the classes the words are the FIRST synonym of (``"dog"``:
   Dog, not "Canidae, dogs, wolves"); else names without a parenthesised qualifier
   (``"howling"`` alone -> Howl, not Howl (wind)); else every candidate left, one row each
   (``"whistling"``: Whistling and Whistle).
7. **Makers** (:mod:`humanclap.data.senses`, before rule 6). A word naming a sound of people (a
   class under *Human sounds*: Humming, Singing, Crying, Whistling, ...) or, in its ``-ing``
   form, of an animal (a class under *Animal* only: Purr) means that sound only when its maker
   is a person or an animal. The maker is the source the word describes in its clause: the word
   right after it (``"a humming engine"``), else the nearest before it with no conjunction in
   between (``"an engine humming"``, ``"birds sing"``, ``"an engine idles and hums"``), else one
   after ``of``/``from``/``by`` (``"humming and vibrating of an engine"``); sources are the
   caption's other matches and the words of :data:`PERSON_WORDS` and :data:`OBJECT_WORDS`.
   A person keeps the classes under *Human sounds* (``"a man whistling"``: Whistling, not the
   Whistle); an animal drops them (``"birds singing"``: Bird only); a thing drops the classes
   only under *Human sounds* or (``-ing``) *Animal* (``"an engine humming"``: Hum, not Humming;
   ``"wind whistling"``: not Whistling). A word left without a class names no further event:
   its maker is already matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from humanclap.data.ontology import Ontology
from humanclap.data.senses import OBJECT_WORDS, PERSON_WORDS, CaptionWords, allowed_senses

__all__ = [
    "AMBIGUOUS_WORDS",
    "FILLER_WORDS",
    "IRREGULAR_FORMS",
    "OBJECT_WORDS",
    "PERSON_WORDS",
    "KEPT_WORDS",
    "WORD_ALIASES",
    "CaptionMatcher",
    "match_captions",
    "stem",
    "words",
]

#: Skipped on both sides of a match (articles and forms of "to be").
FILLER_WORDS: frozenset[str] = frozenset(
    {"a", "an", "the", "is", "are", "was", "were", "be", "been", "being"}
)
#: Irregular forms -> their base, applied before suffix stripping.
IRREGULAR_FORMS: dict[str, str] = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "geese": "goose",
    "mice": "mouse",
    "feet": "foot",
    "teeth": "tooth",
    "oxen": "ox",
    "spoke": "speak",
    "spoken": "speak",
    "sang": "sing",
    "sung": "sing",
    "rang": "ring",
    "rung": "ring",
    "blew": "blow",
    "blown": "blow",
    "flew": "fly",
    "ran": "run",
}
#: Stem -> stem: words that name the same sound, after stemming (both sides).
WORD_ALIASES: dict[str, str] = {
    "speak": "speech",
    "talk": "speech",
    "laughter": "laugh",
    "motor": "engin",
    "baa": "bleat",
    "rainfall": "rain",
}
#: Words kept as they are, so that stemming does not make them a class's name: ``rate`` is not
#: ``rat`` (Rodents), ``tape`` not ``tap`` (Tap), and a gun's ``firing`` not Fire.
KEPT_WORDS: frozenset[str] = frozenset({"rate", "rates", "tape", "tapes", "firing", "fired"})
#: Stemmed single-word synonyms not matched on their own (their class's other synonyms are).
AMBIGUOUS_WORDS: frozenset[str] = frozenset({"run", "fly"})

_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_QUALIFIER = re.compile(r"\([^)]*\)")
_BREAK = re.compile(r"[,;:.!?()]")
_VOWELS = "aeiouy"


def words(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` with their character offsets.

    Returns
    -------
    list of (str, int, int)
        ``(word, start, end)`` with ``text[start:end] == word`` (a possessive ``'s`` still in).
    """
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _VOWELS + "lsz":
        return word[:-1]
    return word


def _strip_suffix(w: str) -> str:
    if len(w) > 4 and w.endswith(("ies", "ied")):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def stem(word: str) -> str:
    """The stem both captions and class names are compared by (module docstring, rule 3).

    Examples: ``barks``, ``barking``, ``barked`` -> ``bark``; ``dogs`` -> ``dog``; ``speaks``,
    ``speaking`` -> ``speech``; ``men`` -> ``man``; ``rumbling`` -> ``rumbl``.
    """
    w = word.lower()
    if w.endswith(("'s", "'")):
        w = w[: w.rindex("'")]
    if w in KEPT_WORDS:
        return w
    w = IRREGULAR_FORMS[w] if w in IRREGULAR_FORMS else _strip_suffix(w)
    if len(w) > 3 and w.endswith("e") and not w.endswith("ee"):
        w = w[:-1]
    w = _undouble(w)
    return WORD_ALIASES.get(w, w)


_PERSON_STEMS = frozenset(stem(w) for w in PERSON_WORDS)
_OBJECT_STEMS = frozenset(stem(w) for w in OBJECT_WORDS)


def _synonym_keys(name: str) -> list[tuple[str, ...]]:
    """The stemmed word sequences a class name is matched by (rule 1)."""
    keys = []
    for part in _QUALIFIER.sub(" ", name).split(","):
        tokens = [w.lower() for w, _, _ in words(part)]
        if tokens[:1] in (["and"], ["or"]):
            tokens = tokens[1:]
        stems = tuple(stem(t) for t in tokens if t not in FILLER_WORDS)
        if stems and stems != ("etc",) and not (len(stems) == 1 and stems[0] in AMBIGUOUS_WORDS):
            keys.append(stems)
    return keys


@dataclass(frozen=True)
class _Span:
    first: int  # index into the caption's kept words
    length: int
    class_ids: tuple[str, ...]


def _segments(caption: str, kept: list[tuple[str, int, int]]) -> list[int]:
    """Clause number of each kept word: punctuation (``,;:.!?()``) between words separates."""
    clause, out, last_end = 0, [], None
    for _, start, end in kept:
        if last_end is not None and _BREAK.search(caption, last_end, start):
            clause += 1
        out.append(clause)
        last_end = end
    return out


class CaptionMatcher:
    """The synonym table of one ontology, ready to match captions (module docstring).

    Parameters
    ----------
    ontology : Ontology
    include_blacklisted : bool
        Also match blacklisted classes.
    include_abstract : bool
        Match abstract classes (default; see rule 5).
    """

    def __init__(
        self, ontology: Ontology, include_blacklisted: bool = False, include_abstract: bool = True
    ) -> None:
        self.ontology = ontology
        #: stemmed word sequence -> class ids, and the sequences that are a class's first synonym
        self.table: dict[tuple[str, ...], list[str]] = {}
        self.primary: set[tuple[tuple[str, ...], str]] = set()
        for cls in ontology.classes.values():
            if (cls.blacklisted and not include_blacklisted) or (
                cls.abstract and not include_abstract
            ):
                continue
            for i, key in enumerate(_synonym_keys(cls.name)):
                ids = self.table.setdefault(key, [])
                if cls.id not in ids:
                    ids.append(cls.id)
                if i == 0:
                    self.primary.add((key, cls.id))
        self.max_words = max((len(k) for k in self.table), default=0)

    def _spans(self, stems: list[str], clauses: list[int]) -> list[_Span]:
        """Rule 4: every match within one clause, then the longest first, leftmost first."""
        candidates = []
        for first in range(len(stems)):
            for length in range(min(self.max_words, len(stems) - first), 0, -1):
                if clauses[first] != clauses[first + length - 1]:
                    continue
                ids = self.table.get(tuple(stems[first : first + length]))
                if ids:
                    candidates.append(_Span(first, length, tuple(ids)))
        chosen, covered = [], set()
        for span in sorted(candidates, key=lambda s: (-s.length, s.first)):
            cover = set(range(span.first, span.first + span.length))
            if not cover & covered:
                chosen.append(span)
                covered |= cover
        return sorted(chosen, key=lambda s: s.first)

    def _closeness(self, class_id: str, others: list[_Span]) -> tuple[float, ...]:
        """Ontology distance to each other span (nearest in the caption first); inf when under
        different roots, so that unrelated matches do not decide."""
        return tuple(
            min(
                self.ontology.distance(class_id, u)
                if self.ontology.common_ancestors(class_id, u)
                else float("inf")
                for u in span.class_ids
            )
            for span in others
        )

    def _resolve(self, span: _Span, spans: list[_Span], stems: list[str]) -> tuple[str, ...]:
        """Rule 6: narrow a several-class match by the caption's other matches (the nearest
        in the caption decides first), then to the classes it is the first synonym of, then to
        names without a parenthesised qualifier."""
        ids = span.class_ids
        others = sorted(
            (s for s in spans if s.first != span.first), key=lambda s: abs(s.first - span.first)
        )
        if len(ids) > 1 and others:
            keys = {c: self._closeness(c, others) for c in ids}
            ids = tuple(c for c in ids if keys[c] == min(keys.values()))
        key = tuple(stems[span.first : span.first + span.length])
        if len(ids) > 1:
            ids = tuple(c for c in ids if (key, c) in self.primary) or ids
        if len(ids) > 1:
            ids = tuple(c for c in ids if "(" not in self.ontology.name(c)) or ids
        return ids

    def match(self, caption: str) -> list[tuple[str, int, int, str]]:
        """Match one caption.

        Returns
        -------
        list of (str, int, int, str)
            ``(span, start, end, class_id)`` in caption order; ``caption[start:end] == span``.
        """
        kept = [(w, s, e) for w, s, e in words(caption) if w.lower() not in FILLER_WORDS]
        stems = [stem(w) for w, _, _ in kept]
        clauses = _segments(caption, kept)
        spans = self._spans(stems, clauses)
        context = CaptionWords(
            spans, [w.lower() for w, _, _ in kept], clauses,
            [s in _PERSON_STEMS for s in stems], [s in _OBJECT_STEMS for s in stems],
        )  # fmt: skip
        found = []
        for span in spans:
            start, end = kept[span.first][1], kept[span.first + span.length - 1][2]
            senses = allowed_senses(self.ontology, span, context)
            allowed = _Span(span.first, span.length, senses)
            for class_id in self._resolve(allowed, spans, stems) if allowed.class_ids else ():
                found.append((caption[start:end], start, end, class_id))
        return found


def match_captions(
    captions: Iterable[str],
    ontology: Ontology,
    include_blacklisted: bool = False,
    include_abstract: bool = True,
) -> pd.DataFrame:
    """Every class each caption names, with the words that name it.

    Parameters
    ----------
    captions : iterable of str
        Captions (repeats are matched once).
    ontology : Ontology
    include_blacklisted, include_abstract : bool
        See :class:`CaptionMatcher`.

    Returns
    -------
    pandas.DataFrame
        One row per match, shape ``(num_matches, 6)``: ``caption``, ``span`` (the matched words
        as written, ``caption[start:end]``), ``start``, ``end`` (character offsets), ``class_id``,
        ``class_name``; captions in first-seen order, matches in caption order. A caption with no
        match has no row; ``df.attrs["captions"]`` lists every caption matched (unique).
    """
    matcher = CaptionMatcher(ontology, include_blacklisted, include_abstract)
    unique = list(dict.fromkeys(str(c) for c in captions))
    rows = [
        (caption, span, start, end, class_id, ontology.name(class_id))
        for caption in unique
        for span, start, end, class_id in matcher.match(caption)
    ]
    columns = ["caption", "span", "start", "end", "class_id", "class_name"]
    table = pd.DataFrame(rows, columns=columns).astype({"start": "int64", "end": "int64"})
    table.attrs["captions"] = unique
    return table
