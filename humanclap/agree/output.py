"""The files of ``humanclap agree``, each written atomically (:mod:`humanclap.utils`).

Written to the output folder (other files there are left alone)::

    agreement.csv      grouping, group, metric, estimate, lo, hi, n, ceiling_lcc (only when a
                       ceiling was computed), note, resampled
    decomposition.csv  SRCC within and between sources (humanclap.stats.within_between)
    paired.csv         with a second predictor: the paired differences, p-values, Holm's
                       adjusted p overall (p_holm) and BH q-values across groups
    event_ranking.csv  with event types: each type's LCC against the other pairs, p, BH q

Every table's ``resampled`` column says what its bootstrap resampled (``captions`` by
default, or ``pairs``); so do the report and the figures' axis labels.
    pairs.csv          the analysed pairs with their predictions (and calibrated predictions)
    missing.csv        every pair of the split without a prediction (file, wavname, text, source)
    extra.csv          every prediction that matches no pair (file, line, key, wavname, reason)
    report.md          the readable report (humanclap.agree.markdown)
    forest.png         SRCC and LCC by group against each group's noise ceiling
    paired.png         with a second predictor: the SRCC difference by group
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from humanclap.agree.markdown import has_ceiling, render_markdown
from humanclap.agree.predictions import JoinResult
from humanclap.agree.report import AgreementReport
from humanclap.plots import forest
from humanclap.utils import atomic_path, atomic_write_csv, atomic_write_text

__all__ = ["forest_figure", "paired_figure", "write_report"]

_PAIR_COLUMNS = ("wavname", "text", "source", "split", "n_ratings", "mean_score", "target")


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with an estimate, labelled ``"<grouping>: <group> (n)"``."""
    table = table[table["estimate"].notna()]
    label = table["grouping"] + ": " + table["group"] + " (" + table["n"].astype(str) + ")"
    return table.assign(label=label.where(table["grouping"] != "overall", "all pairs"))


def forest_figure(report: AgreementReport) -> plt.Figure:
    """SRCC and LCC with intervals by group, each group's LCC noise ceiling marked."""
    table = _labelled(report.agreement[report.agreement["metric"].isin(["srcc", "lcc"])])
    table = table.assign(metric=table["metric"].str.upper())
    return forest(
        table,
        label="label",
        hue="metric",
        marker="ceiling_lcc" if has_ceiling(report) else None,
        marker_label="noise ceiling (LCC)" if has_ceiling(report) else "",
        xlabel=f"agreement of {report.pred} with {report.target} (95% bootstrap CI, "
        f"{report.resampled} resampled)",
        title=f"{report.pred}: agreement by group",
    )


def paired_figure(report: AgreementReport) -> plt.Figure:
    """The paired SRCC difference ``pred - against`` with intervals, by group."""
    table = report.paired[report.paired["metric"] == "srcc"]
    table = table.drop(columns="estimate").rename(columns={"diff": "estimate"})
    return forest(
        _labelled(table),
        label="label",
        ref=0.0,
        xlabel=f"SRCC of {report.pred} minus SRCC of {report.against} (95% paired bootstrap "
        f"CI, {report.resampled} resampled)",
        title="paired comparison",
    )


def _save_figure(fig: plt.Figure, path: Path) -> None:
    """Save ``fig`` as PNG atomically and close it."""
    try:
        with atomic_path(path, keep_suffix=True) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def _listing(joins: Mapping[str, JoinResult], part: str) -> pd.DataFrame:
    """The ``missing`` or ``extra`` rows of every join, with the file they belong to."""
    tables = [
        getattr(join, part)
        .assign(file=join.path or label)
        .pipe(lambda t: t[["file", *[c for c in t.columns if c != "file"]]])
        for label, join in joins.items()
    ]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["file"])


def write_report(
    report: AgreementReport,
    out_dir: str | os.PathLike,
    *,
    joins: Mapping[str, JoinResult] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the report's files (module doc) into ``out_dir``, each atomically.

    Parameters
    ----------
    report : AgreementReport
    out_dir : path-like
        Created when missing; files of the same names are replaced, others left alone.
    joins : mapping of label to JoinResult, optional
        How each predictions file joined: ``missing.csv``, ``extra.csv`` and the report's
        first section.
    inputs : mapping of str to str, optional
        What was read, listed at the top of ``report.md``.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    joins = joins or {}
    agreement = report.agreement
    if not has_ceiling(report):  # no column of NaN where no ceiling was computed
        agreement = agreement.drop(columns="ceiling_lcc")
    tables = {"agreement.csv": agreement, "decomposition.csv": report.decomposition}
    if report.paired is not None:
        tables["paired.csv"] = report.paired
    if report.event_ranking is not None:
        tables["event_ranking.csv"] = report.event_ranking
    keep = [c for c in _PAIR_COLUMNS if c in report.pairs.columns]
    predictors = [report.pred] + ([report.against] if report.against else [])
    scored = [c for p in predictors for c in (p, f"{p}_calibrated")]
    tables["pairs.csv"] = report.pairs[[*keep, *scored]]
    if joins:
        tables["missing.csv"] = _listing(joins, "missing")
        tables["extra.csv"] = _listing(joins, "extra")
    written = [atomic_write_csv(t, out / name, index=False) for name, t in tables.items()]
    _save_figure(forest_figure(report), out / "forest.png")
    written.append(out / "forest.png")
    if report.paired is not None:
        _save_figure(paired_figure(report), out / "paired.png")
        written.append(out / "paired.png")
    written.append(atomic_write_text(out / "report.md", render_markdown(report, joins, inputs)))
    return written
