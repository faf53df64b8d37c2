"""The sound-event types of the pairs ``humanclap agree`` reports on, and their ranking.

:func:`default_events` gives each pair the event types of its caption's AudioCaps clip, from
AudioSet's human labels (:func:`humanclap.data.pair_events`, at :data:`EVENT_DEPTH`), and falls
back to the caption matcher only for captions without a labelled clip (a user's own prompts);
``event_source`` says which. A pair with no type is kept as ``"(none)"``. When the ontology
file cannot be found (offline, nothing cached) there are no event rows, and the report says so.
Any other function returning the same table can stand in:
``agreement_report(..., events=my_events(pairs))``.

:func:`rank_events` ranks the types by agreement. It is exploratory: each type's agreement is
compared with that of the pairs outside it by a permutation test over captions, and the
p-values of all the types carry Benjamini-Hochberg q-values.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy import stats as sps

from humanclap import stats
from humanclap.data import (
    EVENT_LEVEL,
    OntologyError,
    load_audioset_labels,
    load_ontology,
    pair_events,
)

__all__ = ["EVENT_COLUMNS", "EVENT_DEPTH", "NO_ONTOLOGY", "default_events", "rank_events"]

#: Columns of an events table: one row per (pair, sound-event type); a pair may have several.
EVENT_COLUMNS: tuple[str, ...] = ("wavname", "text", "event", "event_source")
#: Ontology depth of the event types (0: the 7 top-level categories; 2: Speech, Dog, Engine ...).
EVENT_DEPTH = EVENT_LEVEL
#: What a report says when :func:`default_events` found no ontology.
NO_ONTOLOGY = (
    "no sound-event types: the AudioSet ontology was not found (offline and not cached); set "
    "$HUMANCLAP_ONTOLOGY to a copy of ontology.json, or run once online"
)


def _audiocap_ids(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with ``audiocap_id`` from the wavname (RELATE's rule) when it has none."""
    if "audiocap_id" in pairs.columns or "wavname" not in pairs.columns:
        return pairs
    ids = pairs["wavname"].astype(str).str.extract(r"(\d+)\.wav$")[0]
    return pairs.assign(audiocap_id=pd.to_numeric(ids, errors="coerce").astype("Int64"))


def default_events(
    pairs: pd.DataFrame,
    ontology: str | os.PathLike | None = None,
    depth: int = EVENT_DEPTH,
    labels: pd.DataFrame | None = None,
) -> pd.DataFrame | None:
    """The sound-event types of ``pairs``, or ``None`` when the ontology is unavailable.

    Parameters
    ----------
    pairs : pd.DataFrame
        One row per pair with ``wavname`` and ``text`` (and ``audiocap_id``; else read from the
        wavname), shape (n_pairs, k).
    ontology : path-like, optional
        ``ontology.json`` (default: found or downloaded as :func:`humanclap.data.load_ontology`
        does).
    depth : int
        The table's ontology level (:func:`humanclap.data.pair_events`).
    labels : pd.DataFrame, optional
        AudioSet labels (default :func:`humanclap.data.load_audioset_labels`, the committed
        table of RELATE's clips).

    Returns
    -------
    pd.DataFrame or None
        Columns :data:`EVENT_COLUMNS` (``event_source``: ``"AudioSet labels"`` or ``"caption
        matcher"``), shape (n_rows, 4); ``df.attrs`` as :func:`humanclap.data.pair_events`.
    """
    try:
        onto = load_ontology(ontology)
    except OntologyError:
        return None
    labels = load_audioset_labels() if labels is None else labels
    exploded = pair_events(_audiocap_ids(pairs), labels, onto, depth)
    table = exploded[list(EVENT_COLUMNS)].reset_index(drop=True)
    table.attrs = exploded.attrs
    return table


def _metric(x: np.ndarray, y: np.ndarray, masks: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` (``"lcc"`` or ``"srcc"``) of ``x`` and ``y`` within each row of ``masks``
    (shape (m, n), boolean): shape (m,)."""
    if metric == "srcc":
        return np.array([sps.spearmanr(x[m], y[m]).statistic for m in masks])
    w = masks.astype(float)
    k = w.sum(axis=1)
    mx, my = w @ x / k, w @ y / k
    sxy = w @ (x * y) / k - mx * my
    sxx, syy = w @ (x * x) / k - mx**2, w @ (y * y) / k - my**2
    return sxy / np.sqrt(sxx * syy)


def _permutation_p(x, y, codes, index, metric, n_perm, rng) -> tuple[float, float, float]:
    """The metric of the pairs ``index``, the rest's, and the two-sided p of their difference
    when as many captions as theirs are drawn at random."""
    n_captions = codes.max() + 1
    chosen = np.unique(codes[index])
    inside = np.zeros(len(codes), dtype=bool)
    inside[index] = True
    observed = _metric(x, y, np.stack([inside, ~inside]), metric)
    draws = np.argsort(rng.random((n_perm, n_captions)), axis=1)[:, : len(chosen)]
    member = np.zeros((n_perm, n_captions), dtype=bool)
    np.put_along_axis(member, draws, True, axis=1)
    masks = member[:, codes]
    diffs = _metric(x, y, masks, metric) - _metric(x, y, ~masks, metric)
    diff = observed[0] - observed[1]
    p = (1 + np.sum(np.abs(diffs) >= abs(diff) - 1e-12)) / (n_perm + 1)
    return float(observed[0]), float(observed[1]), float(p)


def rank_events(
    pairs: pd.DataFrame,
    events: pd.DataFrame,
    pred: str,
    target: str = "mean_score",
    metric: str = "lcc",
    min_pairs: int = 20,
    n_perm: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Event types ranked by agreement, each against the pairs outside it, with q-values.

    For a type with pairs from ``k`` captions, the statistic is its ``metric`` minus that of all
    the other pairs; its null distribution comes from ``n_perm`` random sets of ``k`` captions
    (all the pairs of a caption together, as the caption bootstrap; a pair's type is a property
    of its caption, so this permutes what the type could have been). Two-sided p
    ``(1 + #{|d*| >= |d|}) / (n_perm + 1)``; Benjamini-Hochberg q over the ranked types
    (:func:`humanclap.stats.bh_qvalues`). Exploratory: a screen, not a planned test.

    Parameters
    ----------
    pairs : pd.DataFrame
        One row per pair: ``wavname``, ``text``, ``pred``, ``target``; shape (n, k).
    events : pd.DataFrame
        ``wavname``, ``text``, ``event`` (:func:`default_events`); ``"(none)"`` and empty
        events are not ranked.
    pred, target : str
    metric : {"lcc", "srcc"}
    min_pairs : int
        Types with fewer pairs are left out of the ranking (and of the q-value family).
    n_perm, seed : int

    Returns
    -------
    pd.DataFrame
        One row per ranked type, best agreement first: ``event``, ``n`` (pairs),
        ``n_captions``, ``estimate``, ``rest`` (the other pairs), ``diff``, ``p_value``,
        ``q_value``, ``event_source`` (when ``events`` has it); ``df.attrs``: ``metric``,
        ``n_perm``, ``permuted`` (``"captions"``).
    """
    if metric not in ("lcc", "srcc"):
        raise ValueError(f"metric: 'lcc' or 'srcc', got {metric!r}")
    if n_perm < 1:
        raise ValueError(f"n_perm must be >= 1, got {n_perm}")
    keys = ["wavname", "text"]
    frame = pairs.reset_index(drop=True)
    x, y = frame[pred].to_numpy(dtype=float), frame[target].to_numpy(dtype=float)
    codes = pd.factorize(frame["text"])[0]
    where = frame[keys].reset_index().merge(events, on=keys)
    where = where[~where["event"].isin(["", "(none)"]) & where["event"].notna()]
    rng = np.random.default_rng(seed)
    rows = []
    for event, sub in where.groupby("event", sort=True):
        index = sub["index"].unique()
        if len(index) < min_pairs or len(index) > len(frame) - min_pairs:
            continue
        estimate, rest, p = _permutation_p(x, y, codes, index, metric, n_perm, rng)
        source = "|".join(sorted(sub["event_source"].unique())) if "event_source" in sub else ""
        n_captions = len(np.unique(codes[index]))
        rows.append((event, len(index), n_captions, estimate, rest, estimate - rest, p, source))
    columns = ["event", "n", "n_captions", "estimate", "rest", "diff", "p_value", "event_source"]
    table = pd.DataFrame(rows, columns=columns)
    table.insert(7, "q_value", stats.bh_qvalues(table["p_value"].to_numpy(dtype=float)))
    if "event_source" not in events.columns:
        table = table.drop(columns="event_source")
    table = table.sort_values("estimate", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs = {"metric": metric, "n_perm": n_perm, "permuted": "captions"}
    return table
