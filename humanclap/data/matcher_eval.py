"""How well the caption matcher recovers AudioSet's human labels, and where the XACLE category
table departs from them.

- :func:`evaluate_matcher` -- precision and recall of the matcher's event types
  (:func:`humanclap.data.caption_types`) against the types of the caption's clip
  (:func:`humanclap.data.clip_events`), per type at one level, and its most frequent confusions.
- :func:`compare_categories` -- the XACLE table's top-level categories against the
  AudioSet-derived ones: agree, strict subset, strict superset, other.

AudioSet's labels describe the natural clip, not the caption, and are incomplete (1-8 a clip),
so a "false positive" may be a sound the caption names and the annotators did not label:
precision here is a lower bound.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from humanclap.data.categories import CATEGORY_IDS
from humanclap.data.event_types import EVENT_LEVEL, caption_types, clip_events, label_categories
from humanclap.data.files import RelateDataError
from humanclap.data.ontology import Ontology

__all__ = [
    "CategoryComparison",
    "MatcherEvaluation",
    "compare_categories",
    "evaluate_matcher",
    "set_scores",
]


@dataclass
class MatcherEvaluation:
    """What :func:`evaluate_matcher` found.

    Attributes
    ----------
    per_type : pandas.DataFrame
        One row per event type (labelled or predicted), shape ``(n_types, 7)``: ``event``,
        ``n_labelled`` (captions whose clip has it), ``n_predicted``, ``n_correct``,
        ``precision``, ``recall``, ``f1`` (NaN where undefined); most labelled first.
    confusions : pandas.DataFrame
        ``predicted``, ``labelled``, ``n``: how often the matcher gave ``predicted`` to a caption
        whose clip lacks it while the clip has ``labelled`` and the matcher missed it (one
        count per such pair of types in a caption); most frequent first.
    summary : dict
        ``n_captions``, ``micro_precision``, ``micro_recall``, ``macro_precision`` (over types
        predicted at least once), ``macro_recall`` (over types labelled at least once),
        ``n_unmatched`` (captions with no type), ``depth``.
    """

    per_type: pd.DataFrame
    confusions: pd.DataFrame
    summary: dict


def set_scores(truth: list[set[str]], predicted: list[set[str]]) -> tuple[pd.DataFrame, dict]:
    """Per-label and overall precision and recall of predicted label sets.

    Parameters
    ----------
    truth, predicted : list of set of str
        One set per item, same length.

    Returns
    -------
    per_label : pandas.DataFrame
        ``event``, ``n_labelled``, ``n_predicted``, ``n_correct``, ``precision``, ``recall``,
        ``f1``; sorted by ``n_labelled`` then ``n_predicted`` (descending), then name.
    summary : dict
        ``micro_precision`` (sum correct / sum predicted), ``micro_recall`` (sum correct / sum
        labelled), ``macro_precision`` (mean over labels predicted at least once),
        ``macro_recall`` (mean over labels labelled at least once), ``n_items``.
    """
    if len(truth) != len(predicted):
        raise ValueError(f"truth has {len(truth)} items, predicted {len(predicted)}")
    labelled, guessed, correct = Counter(), Counter(), Counter()
    for t, p in zip(truth, predicted, strict=True):
        labelled.update(t), guessed.update(p), correct.update(t & p)
    names = sorted(set(labelled) | set(guessed))
    table = pd.DataFrame(
        {
            "event": names,
            "n_labelled": [labelled[n] for n in names],
            "n_predicted": [guessed[n] for n in names],
            "n_correct": [correct[n] for n in names],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["precision"] = table["n_correct"] / table["n_predicted"].replace(0, np.nan)
        table["recall"] = table["n_correct"] / table["n_labelled"].replace(0, np.nan)
        table["f1"] = 2 * table["n_correct"] / (table["n_labelled"] + table["n_predicted"])
    table = table.sort_values(
        ["n_labelled", "n_predicted", "event"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    total = table[["n_labelled", "n_predicted", "n_correct"]].sum()
    summary = {
        "n_items": len(truth),
        "micro_precision": total["n_correct"] / total["n_predicted"] if total["n_predicted"] else np.nan,
        "micro_recall": total["n_correct"] / total["n_labelled"] if total["n_labelled"] else np.nan,
        "macro_precision": float(table["precision"].mean()),
        "macro_recall": float(table["recall"].mean()),
    }  # fmt: skip
    return table, summary


def _clip_captions(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    caption = "text" if "text" in frame.columns else "caption"
    if caption not in frame.columns or "audiocap_id" not in frame.columns:
        raise RelateDataError(
            "evaluate_matcher: need columns 'audiocap_id' and 'text' (or 'caption'); found "
            f"{list(frame.columns)}"
        )
    clips = frame[["audiocap_id", caption]].drop_duplicates().rename(columns={caption: "caption"})
    missing = ~clips["audiocap_id"].isin(labels["audiocap_id"])
    if missing.any():
        raise RelateDataError(
            f"evaluate_matcher: {int(missing.sum())} audiocap_id(s) have no AudioSet labels, "
            f"e.g. {clips.loc[missing, 'audiocap_id'].iloc[0]}"
        )
    return clips.reset_index(drop=True)


def evaluate_matcher(
    pairs_or_captions: pd.DataFrame,
    labels: pd.DataFrame,
    ontology: Ontology,
    depth: int = EVENT_LEVEL,
    top: int = 15,
) -> MatcherEvaluation:
    """Precision and recall of the caption matcher against AudioSet's labels, per event type.

    Each distinct (``audiocap_id``, caption) is one item: its truth is the types of its clip's
    labels, its prediction the types of the matcher's classes, both at ``depth`` by the same
    rules (:func:`humanclap.data.class_types`; unspecified rows included).

    Parameters
    ----------
    pairs_or_captions : pandas.DataFrame
        Ratings, pairs or any table with ``audiocap_id`` and ``text`` (or ``caption``).
    labels : pandas.DataFrame
        :func:`humanclap.data.load_audioset_labels`.
    ontology : Ontology
    depth : int
    top : int
        Confusions kept.

    Returns
    -------
    MatcherEvaluation
    """
    clips = _clip_captions(pairs_or_captions, labels)
    truth_rows = clip_events(
        labels[labels["audiocap_id"].isin(clips["audiocap_id"])], ontology, depth
    )
    truth = truth_rows.groupby("audiocap_id")["event"].agg(set)
    pred_rows = caption_types(clips["caption"], ontology, depth)
    pred = pred_rows.groupby("caption")["event"].agg(set)
    t = [truth.get(i, set()) for i in clips["audiocap_id"]]
    p = [pred.get(c, set()) for c in clips["caption"]]
    per_type, summary = set_scores(t, p)
    confusions = Counter(
        (fp, fn) for ts, ps in zip(t, p, strict=True) for fp in ps - ts for fn in ts - ps
    )
    table = pd.DataFrame(
        [(a, b, n) for (a, b), n in confusions.most_common(top)],
        columns=["predicted", "labelled", "n"],
    )
    summary.update(n_captions=len(clips), n_unmatched=sum(not s for s in p), depth=depth)
    return MatcherEvaluation(per_type=per_type, confusions=table, summary=summary)


@dataclass
class CategoryComparison:
    """What :func:`compare_categories` found.

    Attributes
    ----------
    relations : pandas.DataFrame
        ``relation`` (``"agree"``, ``"strict subset"``: the XACLE table gives fewer categories
        than the labels, ``"strict superset"``, ``"other"``), ``n_clips``, ``share``.
    by_category : pandas.DataFrame
        Per top-level category: ``category``, ``n_audioset``, ``n_xacle`` (clips each gives it
        to), ``only_audioset``, ``only_xacle``.
    per_clip : pandas.DataFrame
        ``audiocap_id``, ``xacle``, ``audioset`` (tuples of category ids), ``relation``.
    """

    relations: pd.DataFrame
    by_category: pd.DataFrame
    per_clip: pd.DataFrame


def _relation(xacle: set, audioset: set) -> str:
    if xacle == audioset:
        return "agree"
    if xacle < audioset:
        return "strict subset"
    return "strict superset" if xacle > audioset else "other"


def compare_categories(
    categories: pd.DataFrame, labels: pd.DataFrame, ontology: Ontology, audiocap_ids=None
) -> CategoryComparison:
    """The XACLE category table against the top-level categories of AudioSet's labels.

    Parameters
    ----------
    categories : pandas.DataFrame
        :func:`humanclap.data.load_categories` (``audiocap_id``, ``category_ids``).
    labels : pandas.DataFrame
        :func:`humanclap.data.load_audioset_labels`.
    ontology : Ontology
    audiocap_ids : iterable of int, optional
        The clips compared (default: every labelled clip).

    Returns
    -------
    CategoryComparison

    Raises
    ------
    RelateDataError
        A compared clip is missing from the category table.
    """
    ours = label_categories(labels, ontology).set_index("audiocap_id")["category_ids"]
    ids = sorted(set(audiocap_ids) if audiocap_ids is not None else set(ours.index))
    theirs = categories.set_index("audiocap_id")["category_ids"]
    missing = [i for i in ids if i not in theirs.index or i not in ours.index]
    if missing:
        raise RelateDataError(
            f"compare_categories: {len(missing)} audiocap_id(s) missing from the category table "
            f"or the labels, e.g. {missing[:5]}"
        )
    rows = []
    for i in ids:
        x = tuple(p.strip() for p in theirs.loc[i].split(","))
        rows.append((i, x, ours.loc[i], _relation(set(x), set(ours.loc[i]))))
    per_clip = pd.DataFrame(rows, columns=["audiocap_id", "xacle", "audioset", "relation"])
    order = ["agree", "strict subset", "strict superset", "other"]
    counts = per_clip["relation"].value_counts().reindex(order, fill_value=0)
    relations = pd.DataFrame({"relation": order, "n_clips": counts.to_numpy()})
    relations["share"] = relations["n_clips"] / max(len(per_clip), 1)
    by_category = pd.DataFrame(
        [
            (name, *(int(per_clip[col].map(lambda s, c=cid: c in s).sum()) for col in ("audioset", "xacle")),
             int(sum(cid in a and cid not in x for a, x in zip(per_clip["audioset"], per_clip["xacle"], strict=True))),
             int(sum(cid in x and cid not in a for a, x in zip(per_clip["audioset"], per_clip["xacle"], strict=True))))
            for cid, name in CATEGORY_IDS.items()
        ],
        columns=["category", "n_audioset", "n_xacle", "only_audioset", "only_xacle"],
    )  # fmt: skip
    return CategoryComparison(relations=relations, by_category=by_category, per_clip=per_clip)
