"""Sound-event types of RELATE's pairs from AudioSet's human labels, one ontology level a table.

A pair's event types come from the AudioSet labels of its caption's AudioCaps clip
(:func:`humanclap.data.load_audioset_labels`; RELATE's synthesized clips share their caption's
natural clip, joined by ``audiocap_id``). A table shows them at ONE depth ``d`` of the ontology,
and no row of it contains another:

- its **types** are the classes at depth ``d`` that no other class at depth ``d`` contains
  (:func:`level_types`). At depth 2: Speech, Motor vehicle (road), Dog, Aircraft, ...; not
  *Vehicle horn* (depth 2 below *Alarm*, but also a child of *Motor vehicle (road)*).
- a label is counted as the type(s) at depth ``d`` among itself and its ancestors
  (*Car* -> *Motor vehicle (road)*; *Meow* -> *Cat*). Where the ontology offers several (*Hiss*:
  *Cat*, *Snake*, *Steam*; *Vehicle horn*: itself or *Motor vehicle (road)*), the clip's other
  labels decide (*Hiss* with *Meow* -> *Cat*); when they do not, the label is
  **unspecified** (below).
- a label shallower than ``d`` (*Vehicle*, *Animal*, *Music*) is dropped when the clip has a
  finer label below it that is placed (*Vehicle* beside *Car*), and is otherwise
  **unspecified**; a leaf shallower than ``d`` (*Whistling*) has nothing finer and is a type
  itself. A label left unplaced below another unplaced label of the clip is dropped: the
  coarser one says as much (*Wind noise (microphone)* below *Wind*: *Wind (unspecified)*).
- an **unspecified** row, ``"<label> (unspecified)"``, holds the pairs whose clip carries that
  label with nothing that places it at depth ``d``. It is not the class: *Vehicle
  (unspecified)* holds no pair of *Motor vehicle (road)* through the same label.

The seven top-level categories come from the same labels (:func:`label_categories`; a label
with several parents counts under each of their roots). Pairs whose clip has no labels (a user's
own prompts) fall back to the caption matcher (:mod:`humanclap.data.matcher`), typed by the same
rules; every pair's ``event_source`` says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import pandas as pd

from humanclap.data.categories import CATEGORY_IDS
from humanclap.data.events import NO_EVENT
from humanclap.data.files import RelateDataError
from humanclap.data.matcher import match_captions
from humanclap.data.ontology import Ontology

__all__ = [
    "EVENT_LEVEL",
    "FROM_LABELS",
    "FROM_MATCHER",
    "NO_EVENT",
    "UNSPECIFIED",
    "caption_types",
    "class_types",
    "clip_events",
    "label_categories",
    "level_types",
    "pair_events",
]

#: The default level of event-type tables: enough RELATE test pairs per type (chapter 6).
EVENT_LEVEL = 2
#: Suffix of a row whose label does not reach the table's level.
UNSPECIFIED = " (unspecified)"
#: ``event_source`` values: the clip's AudioSet labels, or the caption matcher.
FROM_LABELS, FROM_MATCHER = "AudioSet labels", "caption matcher"
_CLIP_COLUMNS = ["event_id", "event", "event_kind", "from_classes"]


@lru_cache(maxsize=16)
def _level_types(ontology: Ontology, depth: int) -> frozenset[str]:
    at = [c for c in ontology.classes if ontology.depth(c) == depth]
    contained = {b for a in at for b in at if a != b and a in ontology.ancestors(b)}
    types = {c for c in at if c not in contained}
    leaves = {
        c
        for c, cls in ontology.classes.items()
        if ontology.depth(c) < depth and not cls.child_ids and not ontology.ancestors(c) & types
    }
    return frozenset(types | leaves)


def level_types(ontology: Ontology, depth: int) -> frozenset[str]:
    """A table's types: the classes at ``depth`` that no other class at ``depth`` contains, and
    the leaves shallower than ``depth`` below none of them (*Whistling*, depth 1, has no
    finer class).

    Returns
    -------
    frozenset of str
        Class ids; no one of them is an ancestor of another (:meth:`Ontology.ancestors`).
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    return _level_types(ontology, depth)


def _up(ontology: Ontology, class_id: str) -> set[str]:
    return ontology.ancestors(class_id) | {class_id}


def _place(label: str, ids: list[str], ontology: Ontology, depth: int, types) -> set[str] | None:
    """The types at ``depth`` one label counts as, or None when it does not reach one."""
    if ontology.depth(label) < depth:
        return {label} if label in types else None  # a shallower leaf: nothing finer exists
    support = set().union(*(ontology.ancestors(o) | {o} for o in ids if o != label))
    candidates = {a for a in _up(ontology, label) if ontology.depth(a) == depth}
    if len(candidates) > 1:
        candidates = (candidates & support) or candidates
    if candidates <= types and (len(candidates) == 1 or candidates <= support):
        return candidates
    return None


def class_types(
    class_ids: Sequence[str], ontology: Ontology, depth: int = EVENT_LEVEL
) -> list[tuple[str, str, str, str]]:
    """The event types at ``depth`` of one clip's labels (or one caption's matched classes).

    Parameters
    ----------
    class_ids : sequence of str
        AudioSet class ids of one clip (repeats ignored).
    ontology : Ontology
    depth : int
        The table's level.

    Returns
    -------
    list of (str, str, str, str)
        ``(event_id, event, event_kind, from_classes)`` per type, in label order:
        ``event_kind`` is ``"type"`` (``event_id`` in :func:`level_types`, ``event`` its name)
        or ``"unspecified"`` (``event_id`` the label, ``event`` its name +
        :data:`UNSPECIFIED`); ``from_classes`` the ``"|"``-joined names of the labels behind it.
        Rules: module docstring.
    """
    ids = list(dict.fromkeys(class_ids))
    unknown = [c for c in ids if c not in ontology]
    if unknown:
        raise RelateDataError(f"class_types: unknown AudioSet class id(s) {unknown}")
    types = level_types(ontology, depth)
    placed = {label: _place(label, ids, ontology, depth, types) for label in ids}
    found: dict[tuple[str, str], list[str]] = {}
    absorbed = {  # a finer label of the clip says more ("Vehicle" beside "Car")
        label
        for label in ids
        if placed[label] is None and any(placed[o] for o in ids if label in ontology.ancestors(o))
    }
    for label in ids:
        above = [o for o in ids if o in ontology.ancestors(label) and o not in absorbed]
        if label in absorbed or (placed[label] is None and any(not placed[o] for o in above)):
            continue  # or a coarser unplaced label says as much ("Wind" above "Wind noise")
        for target in sorted(placed[label]) if placed[label] else [None]:
            key = (target, "type") if target else (label, "unspecified")
            found.setdefault(key, []).append(ontology.name(label))
    return [
        (cid, ontology.name(cid) + ("" if kind == "type" else UNSPECIFIED), kind, "|".join(src))
        for (cid, kind), src in found.items()
    ]


def clip_events(labels: pd.DataFrame, ontology: Ontology, depth: int = EVENT_LEVEL) -> pd.DataFrame:
    """The event types of each labelled clip at one level.

    Parameters
    ----------
    labels : pandas.DataFrame
        :func:`humanclap.data.load_audioset_labels` (``audiocap_id``, ``mids``).
    ontology : Ontology
    depth : int

    Returns
    -------
    pandas.DataFrame
        One row per (clip, type), shape ``(n_rows, 5)``: ``audiocap_id``, ``event_id``,
        ``event``, ``event_kind``, ``from_classes`` (:func:`class_types`). Every clip has at
        least one row.
    """
    rows = [
        (audiocap_id, *typed)
        for audiocap_id, mids in labels[["audiocap_id", "mids"]].itertuples(index=False)
        for typed in class_types(mids, ontology, depth)
    ]
    table = pd.DataFrame(rows, columns=["audiocap_id", *_CLIP_COLUMNS])
    table.attrs["depth"] = depth
    return table


def caption_types(
    captions: Iterable[str], ontology: Ontology, depth: int = EVENT_LEVEL
) -> pd.DataFrame:
    """The caption matcher's classes of each caption, typed like clip labels (:func:`class_types`).

    Returns
    -------
    pandas.DataFrame
        One row per (caption, type), shape ``(n_rows, 5)``: ``caption``, ``event_id``,
        ``event``, ``event_kind``, ``from_classes``; a caption without a match has no row
        (``df.attrs["captions"]`` lists every caption looked at).
    """
    matches = match_captions(captions, ontology)
    rows = [
        (caption, *typed)
        for caption, found in matches.groupby("caption", sort=False)
        for typed in class_types(list(found["class_id"]), ontology, depth)
    ]
    table = pd.DataFrame(rows, columns=["caption", *_CLIP_COLUMNS])
    table.attrs = {"captions": matches.attrs["captions"], "depth": depth}
    return table


def pair_events(
    pairs: pd.DataFrame,
    labels: pd.DataFrame | None,
    ontology: Ontology,
    depth: int = EVENT_LEVEL,
    caption_column: str = "text",
) -> pd.DataFrame:
    """One row per (pair, event type): from the AudioSet labels of its caption's clip, else the
    caption matcher.

    A pair's caption's clip is its own ``audiocap_id`` when the caption is that clip's
    (RELATE's natural and synthesized clips of one caption), else the one labelled clip whose
    caption the text is (a clip rated against another clip's caption), else none: a user's own
    prompt, typed by the matcher.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Pairs or ratings, shape ``(n, k)``, with ``caption_column`` and (for labels)
        ``audiocap_id``.
    labels : pandas.DataFrame or None
        :func:`humanclap.data.load_audioset_labels`; ``None``: the matcher for every pair.
    ontology : Ontology
    depth : int
        The table's level (:data:`EVENT_LEVEL`).
    caption_column : str

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_rows, k + 5)``: the columns of ``pairs`` with ``event_id``, ``event``,
        ``event_kind``, ``event_source`` (:data:`FROM_LABELS` or :data:`FROM_MATCHER`) and
        ``n_events``; in the order of ``pairs``. A pair with no type is kept as
        :data:`NO_EVENT` (``event_id`` ``""``, ``n_events`` 0). ``df.attrs``:
        ``pairs_without_event``, ``pairs_from_matcher``, ``depth``.
    """
    if caption_column not in pairs.columns:
        raise RelateDataError(f"pair_events: no {caption_column!r} column in the table")
    out = pairs.reset_index(drop=True)
    clip = _caption_clip(out, labels, caption_column)
    labelled = clip.notna()
    by_clip = pd.DataFrame(columns=["_clip", *_CLIP_COLUMNS])
    if labelled.any():
        used = labels[labels["audiocap_id"].isin(clip[labelled])]
        by_clip = clip_events(used, ontology, depth).rename(columns={"audiocap_id": "_clip"})
    texts = out.loc[~labelled, caption_column].astype(str)
    by_text = caption_types(texts.unique(), ontology, depth)
    parts = [
        out[labelled].assign(_clip=clip[labelled].astype("int64")).reset_index()
        .merge(by_clip, on="_clip", how="left").assign(event_source=FROM_LABELS),
        out[~labelled].reset_index()
        .merge(by_text.rename(columns={"caption": "_text"}), left_on=caption_column,
               right_on="_text", how="left")
        .assign(event_source=FROM_MATCHER),
    ]  # fmt: skip
    table = pd.concat(parts, ignore_index=True).sort_values("index", kind="stable")
    none = table["event"].isna()
    table.loc[none, ["event_id", "event", "event_kind"]] = ["", NO_EVENT, ""]
    table["n_events"] = (~none).groupby(table["index"]).transform("sum").astype("int64")
    table = table.drop(columns=["index", "_clip", "_text", "from_classes"], errors="ignore")
    table = table.reset_index(drop=True)
    table.attrs = {
        **pairs.attrs,
        "pairs_without_event": int(none.sum()),
        "pairs_from_matcher": int((~labelled).sum()),
        "depth": depth,
    }
    return table


def _caption_clip(pairs: pd.DataFrame, labels: pd.DataFrame | None, caption_column: str):
    """The labelled clip of each pair's caption (NaN: none): the pair's own ``audiocap_id``
    when its caption is that clip's (labels with a ``caption`` column), else the one clip whose
    caption the text is."""
    clip = pd.Series(float("nan"), index=pairs.index)
    if labels is None:
        return clip
    if "caption" not in labels.columns:
        if "audiocap_id" in pairs.columns:
            hit = pairs["audiocap_id"].isin(labels["audiocap_id"])
            clip[hit] = pairs.loc[hit, "audiocap_id"]
        return clip
    text = pairs[caption_column].astype(str)
    if "audiocap_id" in pairs.columns:
        own = pd.MultiIndex.from_arrays([pairs["audiocap_id"], text])
        known = pd.MultiIndex.from_frame(labels[["audiocap_id", "caption"]])
        hit = own.isin(known)
        clip[hit] = pairs.loc[hit, "audiocap_id"]
    once = labels.drop_duplicates("caption", keep=False).set_index("caption")["audiocap_id"]
    rest = clip.isna() & text.isin(once.index)
    clip[rest] = text[rest].map(once)
    return clip


def label_categories(labels: pd.DataFrame, ontology: Ontology) -> pd.DataFrame:
    """The top-level categories of each clip, from its AudioSet labels.

    A label counts under every root above it (:meth:`Ontology.top_level`; *Hiss* under Animal,
    Natural sounds and Source-ambiguous sounds).

    Returns
    -------
    pandas.DataFrame
        One row per clip, shape ``(n_clips, 3)``: ``audiocap_id``, ``category_ids`` (a tuple in
        :data:`humanclap.data.categories.CATEGORY_IDS` order) and ``categories`` (their names,
        ``"|"``-joined, the layout of :func:`humanclap.data.load_categories`).
    """
    rows = []
    for audiocap_id, mids in labels[["audiocap_id", "mids"]].itertuples(index=False):
        roots = set().union(*(ontology.top_level(m) for m in mids))
        ids = tuple(c for c in CATEGORY_IDS if c in roots)
        rows.append((audiocap_id, ids, "|".join(CATEGORY_IDS[c] for c in ids)))
    return pd.DataFrame(rows, columns=["audiocap_id", "category_ids", "categories"])
