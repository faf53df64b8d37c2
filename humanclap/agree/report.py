"""The analyses of ``humanclap agree``: how far a predictor agrees with RELATE's listeners.

:func:`agreement_report` takes one row per pair with a prediction column and the human score,
and computes, for every group of pairs (all; natural vs synthesized; the five sources; the
AudioSet top-level categories, a pair in each of its categories; optionally fine sound-event
types), SRCC, LCC, KTAU, MSE and the calibrated MSE with percentile-bootstrap intervals
(:func:`humanclap.stats.grouped_report`) beside the group's noise ceiling on LCC
(:func:`humanclap.stats.reliability_by` on the ratings of the group's pairs); the within- versus
between-source decomposition (:func:`humanclap.stats.within_between`); and, with a second
predictor, paired-bootstrap differences (:func:`humanclap.stats.paired_comparison`) with
Benjamini-Hochberg q-values across the groups of each metric (exploratory: a screen of many
groups, not a planned test).

Every bootstrap resamples captions by default (``unit="caption"``: all the pairs of a drawn
caption, the ``text`` column, together; RELATE rates each caption with about three clips), or
pairs (``unit="pair"``); every table says which in its ``resampled`` column.

``mse`` compares the raw prediction with the target (for RELATE's ``mean_score``: on the 0-10
scale); ``mse_calibrated`` first maps the prediction through the least-squares line
``target ~ a + b * pred`` fitted once on all the joined pairs (its interval does not include the
uncertainty of that fit: 2 parameters on all the pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from humanclap import stats
from humanclap.agree.checks import check_events, check_joined
from humanclap.agree.events import rank_events
from humanclap.data import explode_categories
from humanclap.stats import PAIR

__all__ = [
    "GROUPINGS",
    "METRICS",
    "AgreementReport",
    "add_origin",
    "agreement_report",
    "calibrate",
    "stack_groupings",
]

#: The groupings of pairs, in report order (``event`` only with an events table).
GROUPINGS: tuple[str, ...] = ("overall", "origin", "source", "category", "event")
#: The metrics of the agreement table, in order.
METRICS: tuple[str, ...] = (*stats.METRICS, "mse_calibrated")
_KEYS = ["grouping", "group"]


def add_origin(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``origin``: ``"natural"`` (source ``audiocaps``) or ``"synthesized"``."""
    return frame.assign(origin=np.where(frame["source"] == "audiocaps", "natural", "synthesized"))


def calibrate(pred, target) -> tuple[float, float]:
    """Intercept ``a`` and slope ``b`` of the least-squares line ``target ~ a + b * pred``.

    Parameters
    ----------
    pred, target : array-like, shape (n,)
        Finite; ``pred`` not constant.
    """
    p, h = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if len(p) < 2 or np.ptp(p) == 0:
        raise ValueError("pred: constant or fewer than 2 values; no calibration line exists")
    slope, intercept = np.polyfit(p, h, 1)
    return float(intercept), float(slope)


def stack_groupings(
    frame: pd.DataFrame, events: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """One copy of ``frame``'s rows per grouping, labelled by ``grouping`` and ``group``.

    Parameters
    ----------
    frame : pd.DataFrame
        Pairs or ratings, shape (n, k): ``wavname``, ``text``, ``source`` [, ``categories``].
    events : pd.DataFrame, optional
        ``wavname``, ``text``, ``event``: the fine sound-event types of each pair (several
        rows for a pair with several events).

    Returns
    -------
    long : pd.DataFrame
        Shape (m, k + 2 or more): ``overall`` (group ``all``), ``origin``, ``source``,
        ``category`` (when ``frame`` has ``categories``; a row per category of a pair, rows
        without a category left out) and ``event`` (with ``events``; rows without an event
        left out).
    notes : list of str
        What was left out, and why.
    """
    parts = [
        frame.assign(grouping="overall", group="all"),
        add_origin(frame).pipe(lambda f: f.assign(grouping="origin", group=f["origin"])),
        frame.assign(grouping="source", group=frame["source"]),
    ]
    notes = []
    if "categories" in frame.columns:
        cats = explode_categories(frame)
        parts.append(cats.assign(grouping="category", group=cats["category"]))
        if cats.attrs["pairs_without_category"]:
            notes.append(f"{cats.attrs['pairs_without_category']} row(s) have no category")
    else:
        notes.append(
            "no AudioSet categories (the ontology that rolls AudioSet's labels up was not found): "
            "no category rows"
        )
    if events is not None:
        ev = frame.merge(events[[*PAIR, "event"]].drop_duplicates(), on=list(PAIR))
        parts.append(ev.assign(grouping="event", group=ev["event"].astype(str)))
        without = len(frame.drop_duplicates(list(PAIR))) - len(ev.drop_duplicates(list(PAIR)))
        if without:
            notes.append(f"{without} pair(s) have no sound-event type")
    long = pd.concat(parts, ignore_index=True)
    long["group"] = long["group"].astype(str)
    return long, notes


def _order(table: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """``table`` sorted by grouping (in :data:`GROUPINGS` order), group, then ``extra``."""
    rank = {g: i for i, g in enumerate(GROUPINGS)}
    keys = table["grouping"].map(rank)
    order = table.assign(_rank=keys).sort_values(["_rank", "group", *extra], kind="stable")
    return order.drop(columns="_rank").reset_index(drop=True)


def _agreement(long: pd.DataFrame, pred: str, target: str, boot: dict) -> pd.DataFrame:
    """:func:`humanclap.stats.grouped_report` of ``pred`` and of its calibrated column
    (resampling ``boot["unit"]``: the captions of ``text``, or the pairs)."""
    table = stats.grouped_report(long, pred, target, by=_KEYS, clusters="text", **boot)
    cal = stats.grouped_report(
        long, f"{pred}_calibrated", target, by=_KEYS, metrics=("mse",), clusters="text", **boot
    )
    table = pd.concat([table, cal.assign(metric="mse_calibrated")], ignore_index=True)
    table["note"] = table["note"].str.replace("n < min_n", "n < min_pairs", regex=False)
    table["metric"] = pd.Categorical(table["metric"], METRICS, ordered=True)
    table = _order(table, ["metric"])
    table["metric"] = table["metric"].astype(str)
    return table


def _ceilings(ratings: pd.DataFrame | None, joined: pd.DataFrame, events) -> pd.DataFrame:
    """``ceiling_lcc`` of every group, from the ratings of the joined pairs (NaN without)."""
    if ratings is None:
        return pd.DataFrame(columns=[*_KEYS, "ceiling_lcc"])
    rated = ratings.merge(joined[list(PAIR)], on=list(PAIR), how="inner")
    long, _ = stack_groupings(rated, events)
    rel = stats.reliability_by(long, _KEYS)
    if "ceiling_lcc" not in rel.columns:  # every group too small for the ANOVA
        rel["ceiling_lcc"] = np.nan
    return rel[[*_KEYS, "ceiling_lcc"]]


def _adjust(table: pd.DataFrame) -> pd.DataFrame:
    """Multiple-comparison adjustments of the paired comparisons' p-values.

    Two families, two adjustments. The overall comparison (all pairs) is the planned test:
    "is ``pred`` better than ``against``?", asked once per metric before looking at the data,
    a small fixed family whose metrics are strongly dependent; it gets Holm's adjusted p
    (``p_holm``: family-wise error control, valid under any dependence, across the metrics of
    the overall row). The comparisons by group (origin, sources, categories, events: dozens)
    are an exploratory screen; they get Benjamini-Hochberg q-values over the groups of each
    metric (``q_value``: the false discovery rate of calling every group with a smaller q
    different), which a screen of many groups is judged by, where Holm would leave almost no
    power.
    """
    table["q_value"] = table.groupby("metric")["p_value"].transform(
        lambda p: stats.bh_qvalues(p.to_numpy(dtype=float))
    )
    overall = (table["grouping"] == "overall").to_numpy()
    table["p_holm"] = np.nan
    table.loc[overall, "p_holm"] = stats.holm(table.loc[overall, "p_value"].to_numpy(float))
    return table


def _paired(long: pd.DataFrame, pred: str, against: str, target: str, boot: dict) -> pd.DataFrame:
    """Paired-bootstrap difference ``pred - against`` of each metric in each group, with
    Holm-adjusted p-values across the metrics overall and Benjamini-Hochberg q-values over the
    groups of each metric (:func:`_adjust` says why each).

    Pairs without an ``against`` value are left out (``n`` counts the pairs both have).
    """
    rows = []
    both = long[long[against].notna()]
    for (grouping, group), sub in both.groupby(_KEYS, sort=False):
        for metric in METRICS:
            cal = "_calibrated" if metric == "mse_calibrated" else ""
            row = {"grouping": grouping, "group": group, "metric": metric, "n": len(sub)}
            if len(sub) < boot["min_n"]:
                rows.append({**row, "note": f"n < min_pairs ({len(sub)} < {boot['min_n']})"})
                continue
            try:
                res = stats.paired_comparison(
                    sub[against + cal], sub[pred + cal], sub[target],
                    metric=metric.removesuffix("_calibrated"),
                    n_boot=boot["n_boot"], seed=boot["seed"], clusters=sub["text"],
                    unit=boot["unit"],
                )  # fmt: skip
            except ValueError as err:
                rows.append({**row, "note": str(err)})
                continue
            rows.append(
                {**row, "estimate": res["b"], "against": res["a"], "diff": res["diff"],
                 "lo": res["lo"], "hi": res["hi"], "p_value": res["p_value"], "note": ""}
            )  # fmt: skip
    columns = [*_KEYS, "metric", "estimate", "against", "diff", "lo", "hi", "p_value", "p_holm"]
    table = _adjust(pd.DataFrame(rows).reindex(columns=[*columns, "q_value", "n", "note"]))
    table["metric"] = pd.Categorical(table["metric"], METRICS, ordered=True)
    table = _order(table, ["metric"])
    table["metric"] = table["metric"].astype(str)
    table["resampled"] = stats.bootstrap.UNITS[boot["unit"]]
    return table


@dataclass
class AgreementReport:
    """What :func:`agreement_report` found.

    Attributes
    ----------
    agreement : pd.DataFrame
        One row per grouping, group and metric: ``grouping``, ``group``, ``metric`` (one of
        :data:`METRICS`), ``estimate``, ``lo``, ``hi``, ``n`` (pairs), ``ceiling_lcc`` (the
        group's noise ceiling on LCC; NaN without ratings or when the group is too small) and
        ``note`` (why there is no estimate, e.g. fewer than ``min_pairs`` pairs) and
        ``resampled`` (``"captions"`` or ``"pairs"``, as every table here).
    decomposition : pd.DataFrame
        :func:`humanclap.stats.within_between` of SRCC by source, with a ``predictor`` column
        (the prediction column, and the ``against`` column when given).
    pairs : pd.DataFrame
        The analysed pairs: the input with ``<pred>_calibrated`` (and ``<against>_calibrated``).
    pred, target : str
        The prediction and human-score columns.
    calibration : dict
        ``{column: (intercept, slope)}`` of each calibration line ``target ~ a + b * pred``.
    n_boot, seed, min_pairs : int
        The bootstrap and the smallest group with an estimate.
    unit : {"caption", "pair"}
        What the bootstraps resampled (:attr:`resampled` says it in words).
    against : str or None
        The second predictor's column.
    paired : pd.DataFrame or None
        With ``against``: ``grouping``, ``group``, ``metric``, ``estimate`` (``pred``),
        ``against``, ``diff`` (``pred - against``; for the MSEs negative means ``pred`` is
        better), ``lo``, ``hi`` (paired percentile bootstrap), ``p_value``, ``p_holm`` (Holm
        across the metrics of the overall row, the planned test; NaN in other rows),
        ``q_value`` (Benjamini-Hochberg over the groups of the metric; exploratory), ``n``
        (pairs both predictors have), ``note``, ``resampled``.
    notes : list of str
        What was left out of the groupings, and why.
    event_ranking : pd.DataFrame or None
        With ``events``: the event types ranked by LCC, each against the other pairs, with
        permutation p-values over captions and Benjamini-Hochberg q-values
        (:func:`humanclap.agree.rank_events`; exploratory).
    """

    agreement: pd.DataFrame
    decomposition: pd.DataFrame
    pairs: pd.DataFrame
    pred: str
    target: str
    calibration: dict[str, tuple[float, float]]
    n_boot: int
    seed: int
    min_pairs: int
    against: str | None = None
    paired: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    unit: str = "caption"
    event_ranking: pd.DataFrame | None = None

    @property
    def resampled(self) -> str:
        """What the bootstraps resampled: ``"captions"`` or ``"pairs"``."""
        return stats.bootstrap.UNITS[self.unit]

    def overall(self) -> pd.DataFrame:
        """The ``overall`` rows of :attr:`agreement`, indexed by metric."""
        return self.agreement[self.agreement["grouping"] == "overall"].set_index("metric")


def _decomposition(pairs: pd.DataFrame, columns: Sequence[str], target: str, boot: dict):
    """SRCC within and between sources of each prediction column (rows where it is present)."""
    tables = []
    for col in columns:
        sub = pairs[pairs[col].notna()]
        table = stats.within_between(
            sub[col], sub[target], sub["source"], metric="srcc",
            n_boot=boot["n_boot"], seed=boot["seed"], clusters=sub["text"], unit=boot["unit"],
        )  # fmt: skip
        tables.append(table.assign(predictor=col))
    out = pd.concat(tables, ignore_index=True)
    return out[["predictor", *[c for c in out.columns if c != "predictor"]]]


def _event_ranking(pairs, events, pred: str, target: str, boot: dict) -> pd.DataFrame | None:
    """The event types ranked by LCC with q-values (:func:`humanclap.agree.rank_events`)."""
    if events is None:
        return None
    return rank_events(pairs, events, pred, target, min_pairs=boot["min_n"],
                       n_perm=boot["n_boot"], seed=boot["seed"])  # fmt: skip


def agreement_report(
    joined: pd.DataFrame,
    ratings: pd.DataFrame | None = None,
    *,
    pred: str = "pred",
    target: str = "mean_score",
    against: str | None = None,
    events: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_pairs: int = 20,
    unit: str = "caption",
) -> AgreementReport:
    """Agreement of a predictor with the human scores, by group, against each group's ceiling.

    Parameters
    ----------
    joined : pd.DataFrame
        One row per pair, shape (n, k): ``wavname``, ``text``, ``source``, ``pred``,
        ``target`` [, ``categories``, ``against``]; e.g. :class:`JoinResult.joined
        <humanclap.agree.predictions.JoinResult>` or a chapter's own scored pairs.
    ratings : pd.DataFrame, optional
        The ratings (one row per rating: ``wavname``, ``text``, ``score``, ``source`` [,
        ``categories``]), e.g. :func:`humanclap.data.load_relate`; those of the joined pairs
        give each group's noise ceiling. Without them ``ceiling_lcc`` is NaN.
    pred, target : str
        Prediction column (finite) and human score (``mean_score``: 0-10, the scale of
        ``mse``; ``target``: 0-1).
    against : str, optional
        A second prediction column: paired comparisons on the pairs where it is not NaN.
    events : pd.DataFrame, optional
        ``wavname``, ``text``, ``event``: adds the ``event`` grouping (see
        :func:`humanclap.agree.default_events`).
    n_boot, seed : int
        Bootstrap resamples and their seed (every group uses the same seed).
    unit : {"caption", "pair"}
        What every bootstrap resamples: the captions (``text``; all the pairs of a drawn
        caption together, the default) or the pairs as if independent.
    min_pairs : int
        Groups with fewer pairs are listed without an estimate.

    Returns
    -------
    AgreementReport

    Raises
    ------
    ValueError
        A column is missing, a prediction or target is not finite, a pair occurs twice, the
        predictions are constant, fewer than 3 pairs, a bad bootstrap argument.
    """
    check_joined(joined, pred, target, against)
    pairs = joined.reset_index(drop=True).copy()
    columns = [pred] + ([against] if against else [])
    calibration = {}
    for col in columns:
        have = pairs[col].notna()
        intercept, slope = calibrate(pairs.loc[have, col], pairs.loc[have, target])
        pairs[f"{col}_calibrated"] = intercept + slope * pairs[col]
        calibration[col] = (intercept, slope)
    events = check_events(events)
    long, notes = stack_groupings(pairs, events)
    boot = {"n_boot": n_boot, "seed": seed, "min_n": min_pairs, "unit": unit}
    table = _agreement(long, pred, target, boot)
    table = table.merge(_ceilings(ratings, pairs, events), on=_KEYS, how="left")
    # A ceiling only where one was estimated: a group's reliability estimate below 0 (clipped
    # to a ceiling of 0 by reliability_by) is no ceiling, not a ceiling of 0.000.
    table["ceiling_lcc"] = table["ceiling_lcc"].where(table["ceiling_lcc"] > 0)
    shown = [*_KEYS, "metric", "estimate", "lo", "hi", "n", "ceiling_lcc", "note", "resampled"]
    table = table[shown]
    return AgreementReport(
        agreement=table,
        decomposition=_decomposition(pairs, columns, target, boot),
        pairs=pairs,
        pred=pred,
        target=target,
        calibration=calibration,
        n_boot=n_boot,
        seed=seed,
        min_pairs=min_pairs,
        against=against,
        paired=_paired(long, pred, against, target, boot) if against else None,
        notes=notes,
        unit=unit,
        event_ranking=_event_ranking(pairs, events, pred, target, boot),
    )
