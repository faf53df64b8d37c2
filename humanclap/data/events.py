"""Fine sound-event types of captions, from the AudioSet ontology, for analyses by event.

- :func:`caption_events` -- the classes each caption names (:mod:`humanclap.data.matcher`),
  optionally rolled up to one depth of the ontology.
- :func:`explode_events` -- one row per (pair, event type), like
  :func:`humanclap.data.explode_categories`, so analyses can group by ``event``.
- :func:`caption_complexity` -- how many distinct events a caption names, and how far apart
  they are in the ontology.
- (the matcher against AudioSet's human labels: :func:`humanclap.data.evaluate_matcher`).
- :func:`unmatched_words` -- what the matcher misses.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from humanclap.data.files import RelateDataError
from humanclap.data.matcher import FILLER_WORDS, match_captions, words
from humanclap.data.ontology import Ontology

__all__ = [
    "NO_EVENT",
    "caption_complexity",
    "caption_events",
    "explode_events",
    "unmatched_words",
]

#: The ``event`` of a pair whose caption names no class.
NO_EVENT = "(none)"
_EVENT_COLUMNS = ["caption", "class_id", "class_name", "depth", "spans"]
#: Words left out of :func:`unmatched_words` (besides :data:`FILLER_WORDS`).
_FUNCTION_WORDS = frozenset(
    "and or of in on at to from by with while as then into onto over under near some someone "
    "something it its his her their they he she there this that other another several many "
    "multiple loud loudly quiet quietly softly distance background nearby far away very".split()
)


def _rolled(
    ids: list[str], ontology: Ontology, depth: int | None, use_context: bool
) -> dict[str, set[str]]:
    """Each matched class -> the classes it counts as (itself, or its rollup to ``depth``)."""
    if depth is None:
        return {c: {c} for c in ids}
    targets = {c: ontology.rollup(c, depth) for c in ids}
    if not use_context:
        return targets
    narrowed = {}
    for c, own in targets.items():
        support = set().union(*(t for o, t in targets.items() if o != c))
        narrowed[c] = (own & support) or own if len(own) > 1 else own
    return narrowed


def caption_events(
    captions: Iterable[str], ontology: Ontology, depth: int | None = None, use_context: bool = True
) -> pd.DataFrame:
    """The event types each caption names.

    Parameters
    ----------
    captions : iterable of str
        Captions, e.g. a pair table's ``text`` (repeats are matched once).
    ontology : Ontology
    depth : int, optional
        Roll each matched class up to its ancestors at this depth (:meth:`Ontology.rollup`:
        several when it has several parents; a class shallower than ``depth`` stays itself),
        then keep each class once per caption. ``None``: the matched classes themselves.
    use_context : bool
        With ``depth``: when a class rolls up to several ancestors and some of them are also
        where the caption's other matches roll up to, keep only those (``"a cat hisses"``:
        Hiss, below Cat, Snake, Steam and Onomatopoeia, counts under Animal only; ``"hissing"``
        alone under all three roots).

    Returns
    -------
    pandas.DataFrame
        One row per (caption, class), shape ``(num_caption_events, 5)``: ``caption``,
        ``class_id``, ``class_name``, ``depth`` (the class's own depth), ``spans`` (the caption's
        words that led to it, ``"|"``-joined); in caption order. Captions without a match have
        no row; ``df.attrs["captions"]`` lists every caption looked at.
    """
    matches = match_captions(captions, ontology)
    rows: dict[tuple[str, str], list[str]] = {}
    for caption, found in matches.groupby("caption", sort=False):
        targets = _rolled(list(dict.fromkeys(found["class_id"])), ontology, depth, use_context)
        for span, class_id in found[["span", "class_id"]].itertuples(index=False):
            for target in sorted(targets[class_id]):
                spans = rows.setdefault((caption, target), [])
                if span not in spans:
                    spans.append(span)
    table = pd.DataFrame(
        [
            (caption, cid, ontology.name(cid), ontology.depth(cid), "|".join(spans))
            for (caption, cid), spans in rows.items()
        ],
        columns=_EVENT_COLUMNS,
    ).astype({"depth": "int64"})
    table.attrs = {"captions": matches.attrs["captions"], "rollup_depth": depth}
    return table


def explode_events(
    frame: pd.DataFrame, events: pd.DataFrame, caption_column: str = "text"
) -> pd.DataFrame:
    """One row per (pair, event type) for by-event analyses.

    A pair whose caption names several event types appears once under each, so groups overlap
    and their sizes sum to more than the number of pairs. A pair whose caption names none is
    KEPT, with ``event = "(none)"`` (:data:`NO_EVENT`), so that nothing is dropped silently;
    ``df.attrs["pairs_without_event"]`` counts them.

    Parameters
    ----------
    frame : pandas.DataFrame
        Pairs (:func:`humanclap.data.pair_table`) or any table with a caption column, shape
        ``(num_pairs, k)``.
    events : pandas.DataFrame
        :func:`caption_events` of (at least) these captions.
    caption_column : str
        The caption column of ``frame`` (``"text"`` in RELATE's tables).

    Returns
    -------
    pandas.DataFrame
        Shape ``(num_pair_events, k + 3)``: the columns of ``frame`` with ``event_id`` (``""``
        for none), ``event`` (the class name) and ``n_events`` (how many the pair has, 0 for
        none); in the order of ``frame``.

    Raises
    ------
    RelateDataError
        ``caption_column`` is missing, or ``events`` did not look at some of the captions
        (when it says which it looked at, ``events.attrs["captions"]``).
    """
    if caption_column not in frame.columns:
        raise RelateDataError(f"explode_events: no {caption_column!r} column in the table")
    looked_at = events.attrs.get("captions")
    if looked_at is not None:
        missing = set(frame[caption_column].astype(str)) - set(looked_at)
        if missing:
            raise RelateDataError(
                f"explode_events: {len(missing)} caption(s) were not given to caption_events, "
                f"e.g. {sorted(missing)[:3]}; call caption_events on this table's captions"
            )
    per_caption = events.groupby("caption", sort=False).agg(
        event_id=("class_id", list), event=("class_name", list)
    )
    per_caption["n_events"] = per_caption["event_id"].str.len()
    out = frame.reset_index(drop=True)
    found = per_caption.reindex(out[caption_column].astype(str).to_numpy())
    none = found["n_events"].isna().to_numpy()
    out["event_id"] = [[""] if n else v for n, v in zip(none, found["event_id"], strict=True)]
    out["event"] = [[NO_EVENT] if n else v for n, v in zip(none, found["event"], strict=True)]
    out["n_events"] = found["n_events"].fillna(0).astype("int64").to_numpy()
    exploded = out.explode(["event_id", "event"], ignore_index=True)
    exploded = exploded.astype({"event_id": str, "event": str})
    exploded.attrs = {**frame.attrs, "pairs_without_event": int(none.sum())}
    return exploded


def caption_complexity(captions: Iterable[str], ontology: Ontology) -> pd.DataFrame:
    """How many distinct event types a caption names, and how far apart they are.

    Parameters
    ----------
    captions : iterable of str
    ontology : Ontology

    Returns
    -------
    pandas.DataFrame
        One row per distinct caption (first-seen order), shape ``(num_captions, 4)``:
        ``caption``, ``n_events`` (distinct matched classes, 0 when none), ``mean_distance``
        and ``max_distance`` (over the pairs of those classes, :meth:`Ontology.distance`; NaN
        with fewer than two).
    """
    events = caption_events(captions, ontology)
    by_caption = events.groupby("caption", sort=False)["class_id"].agg(list)
    rows = []
    for caption in events.attrs["captions"]:
        ids = by_caption.get(caption, [])
        dists = [ontology.distance(a, b) for a, b in itertools.combinations(ids, 2)]
        mean = float(np.mean(dists)) if dists else np.nan
        rows.append((caption, len(ids), mean, float(max(dists)) if dists else np.nan))
    return pd.DataFrame(rows, columns=["caption", "n_events", "mean_distance", "max_distance"])


def unmatched_words(captions: Iterable[str], ontology: Ontology, top: int = 30) -> pd.DataFrame:
    """The most frequent words of the captions the matcher finds nothing in.

    Articles, forms of *to be* and common function words are left out; words are lower-cased
    but not stemmed.

    Returns
    -------
    pandas.DataFrame
        Shape ``(<= top, 2)``: ``word``, ``n_captions`` (unmatched captions containing it),
        most frequent first. ``df.attrs["n_unmatched"]``: how many captions had no match.
    """
    events = caption_events(captions, ontology)
    matched = set(events["caption"])
    unmatched = [c for c in events.attrs["captions"] if c not in matched]
    counts: Counter[str] = Counter()
    for caption in unmatched:
        counts.update(
            {
                w.lower()
                for w, _, _ in words(caption)
                if w.lower() not in FILLER_WORDS | _FUNCTION_WORDS
            }
        )
    table = pd.DataFrame(counts.most_common(top), columns=["word", "n_captions"])
    table.attrs["n_unmatched"] = len(unmatched)
    return table
