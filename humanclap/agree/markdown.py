"""The text of ``report.md``: what was joined, the headline numbers against the noise ceiling,
the groups, the within- versus between-source decomposition in plain words, the paired
comparison."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from humanclap.agree.predictions import JoinResult
from humanclap.agree.report import AgreementReport

__all__ = ["has_ceiling", "render_markdown"]

#: Examples of missing and extra pairs shown in the report (all are in the CSV files).
MAX_EXAMPLES = 10
_NAMES = {
    "srcc": "SRCC",
    "lcc": "LCC",
    "ktau": "KTAU",
    "mse": "MSE",
    "mse_calibrated": "MSE (calibrated)",
}


def has_ceiling(report: AgreementReport) -> bool:
    """Whether any group of ``report`` has a noise ceiling (else no ceiling column is shown)."""
    return bool(report.agreement["ceiling_lcc"].notna().any())


def _num(value: float, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _ci(row: Mapping, digits: int = 3) -> str:
    """``"0.361 [0.312, 0.408]"``, or ``"–"`` without an estimate."""
    if not np.isfinite(row["estimate"]):
        return "–"
    return f"{_num(row['estimate'], digits)} [{_num(row['lo'], digits)}, {_num(row['hi'], digits)}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _join_section(label: str, join: JoinResult) -> list[str]:
    """What joined, and every missing or extra pair (counted; examples)."""
    lines = [
        f"**{label}** (`{join.path or 'predictions'}`): {join.n_predictions} prediction(s); "
        f"**{len(join.joined)} of the {join.n_pairs} pairs of {join.where}** joined.",
        "",
    ]
    if len(join.missing):
        lines += [f"- **{len(join.missing)} pair(s) missing** (in {join.where}, no prediction):"]
        lines += [
            f"  - `{r.wavname}` {r.text!r} ({r.source})"
            for r in join.missing.head(MAX_EXAMPLES).itertuples()
        ]
    else:
        lines.append("- No pair of the split is missing.")
    if join.dropped:
        shown = ", ".join(str(x) for x in join.dropped[:MAX_EXAMPLES])
        more = f" and {len(join.dropped) - MAX_EXAMPLES} more" if len(join.dropped) > 10 else ""
        lines.append(
            f"- **{len(join.dropped)} row(s) without a prediction dropped** (`--drop-missing`; "
            f"lines {shown}{more}); their pairs count as missing."
        )
    if len(join.extra):
        counts = "; ".join(f"{n} {why}" for why, n in join.extra["reason"].value_counts().items())
        lines += [f"- **{len(join.extra)} extra prediction(s)** match no pair ({counts}):"]
        lines += [
            f"  - line {r.line}: `{r.key}` ({r.reason})"
            for r in join.extra.head(MAX_EXAMPLES).itertuples()
        ]
    else:
        lines.append("- No extra prediction.")
    if len(join.missing) > MAX_EXAMPLES or len(join.extra) > MAX_EXAMPLES:
        lines.append(f"- (At most {MAX_EXAMPLES} of each shown; all in missing.csv / extra.csv.)")
    return [*lines, ""]


def _headline(report: AgreementReport) -> list[str]:
    """The overall numbers with intervals, and LCC as a share of the ceiling."""
    overall = report.overall()
    ci_level = f"95% CI, {report.resampled} resampled"
    rows = [[_NAMES[m], _ci(overall.loc[m]), int(overall.loc[m, "n"])] for m in overall.index]
    lines = _table(["metric", f"estimate [{ci_level}]", "pairs"], rows)
    ceiling = overall.loc["lcc", "ceiling_lcc"]
    lcc = overall.loc["lcc", "estimate"]
    a, b = report.calibration[report.pred]
    lines += [
        "",
        f"Noise ceiling on LCC (what the true pair means would reach against these noisy "
        f"means): **{_num(ceiling)}**; the LCC is {_num(100 * lcc / ceiling, 0)}% of it."
        if np.isfinite(ceiling)
        else "No noise ceiling was computed (no ratings, or too few or too unreliable to "
        "estimate one).",
        "",
        f"MSE compares `{report.pred}` with `{report.target}` as they are; the calibrated MSE "
        f"first maps it through the least-squares line `{report.target} ≈ {a:.3f} + "
        f"{b:.3f} · {report.pred}` fitted on all {len(report.pairs)} joined pairs.",
        "",
    ]
    return lines


def _groups(report: AgreementReport) -> list[str]:
    """One table row per group: SRCC, LCC, ceiling, MSEs."""
    wide = report.agreement.pivot_table(
        index=["grouping", "group"], columns="metric", values=["estimate", "lo", "hi"],
        sort=False, dropna=False,
    )  # fmt: skip
    meta = report.agreement.drop_duplicates(["grouping", "group"]).set_index(["grouping", "group"])
    rows = []
    for key, m in meta.iterrows():
        cell = {
            metric: {part: wide.loc[key, (part, metric)] for part in ("estimate", "lo", "hi")}
            for metric in ("srcc", "lcc", "mse", "mse_calibrated")
        }
        rows.append(
            [key[0], key[1], int(m["n"]), _ci(cell["srcc"]), _ci(cell["lcc"]),
             _num(m["ceiling_lcc"]), _num(cell["mse"]["estimate"], 2),
             _num(cell["mse_calibrated"]["estimate"], 2), m["note"] or ""]
        )  # fmt: skip
    ci = f"[CI, {report.resampled} resampled]"
    header = ["grouping", "group", "pairs", f"SRCC {ci}", f"LCC {ci}", "ceiling (LCC)", "MSE"]
    header = [*header, "MSE cal.", "note"]
    if not has_ceiling(report):  # no column of dashes where no ceiling was computed
        header, rows = header[:5] + header[6:], [row[:5] + row[6:] for row in rows]
    lines = _table(header, rows)
    return [*lines, "", *[f"- {note}" for note in report.notes], ""]


def _decomposition(report: AgreementReport, predictor: str) -> list[str]:
    """The within- versus between-source SRCC in plain words."""
    table = report.decomposition[report.decomposition["predictor"] == predictor]
    within = table[table["component"] == "within"]
    row = table[table["component"] != "within"].set_index("component")
    parts = ", ".join(f"{r.group} {_num(r.estimate)} (n={r.n})" for r in within.itertuples())
    overall, between = row.loc["overall", "estimate"], row.loc["between", "estimate"]
    share = f"{_num(100 * between / overall, 0)}%" if overall and np.isfinite(overall) else "–"
    return [
        f"**`{predictor}`.** Within each source the SRCC is {parts}. Their mean weighted by "
        f"pairs (Σ n_s·r_s / Σ n_s over the sources where it is defined) is "
        f"**{_ci(row.loc['pooled_within'])}**. A predictor that knew only each source's mean "
        f"prediction (every prediction replaced by its source's mean) would get SRCC "
        f"**{_ci(row.loc['between'])}**, {share} of the overall SRCC "
        f"{_ci(row.loc['overall'])}: that much of the overall agreement the differences "
        f"between sources alone would give. Ranking the sources by their mean human score "
        f"instead would give {_ci(row.loc['between_target_means'])}.",
        "",
    ]


def _paired(report: AgreementReport) -> list[str]:
    """The paired comparison table."""
    rows = [
        [r.grouping, r.group, _NAMES[r.metric], _num(r.estimate), _num(r.against),
         _ci({"estimate": r.diff, "lo": r.lo, "hi": r.hi}), _num(r.p_value), _num(r.q_value),
         int(r.n)]
        for r in report.paired.itertuples()
        if r.metric in ("srcc", "lcc", "mse_calibrated")
    ]  # fmt: skip
    header = ["grouping", "group", "metric", f"`{report.pred}`", f"`{report.against}`"]
    return [
        f"Paired bootstrap over the pairs both have (the same resampled {report.resampled} for "
        f"both): diff = `{report.pred}` − `{report.against}` (for the MSEs a negative diff "
        f"means `{report.pred}` is better). SRCC, LCC and calibrated MSE below; every metric is "
        "in paired.csv. The overall rows are the planned test: their p is adjusted by Holm "
        "across the metrics (`p_holm` in paired.csv; family-wise error, any dependence). The "
        "group rows are **exploratory**, a screen over many groups: q is the "
        "Benjamini-Hochberg q-value over the groups of the same metric (the false discovery "
        "rate of calling every group with a smaller q different); p is unadjusted.",
        "",
        *_table([*header, f"diff [CI, {report.resampled} resampled]", "p", "q", "pairs"], rows),
        "",
    ]


def _event_ranking(report: AgreementReport) -> list[str]:
    """The event types ranked by LCC, with q-values (exploratory)."""
    table = report.event_ranking
    rows = [
        [r.event, int(r.n), int(r.n_captions), _num(r.estimate), _num(r.rest), _num(r.diff),
         _num(r.p_value), _num(r.q_value)]
        for r in table.itertuples()
    ]  # fmt: skip
    sources = ", ".join(sorted(set("|".join(table.get("event_source", [])).split("|")) - {""}))
    return [
        f"Event types with at least {report.min_pairs} pairs (from: {sources or 'unknown'}), "
        "ranked by LCC. **Exploratory:** each type's LCC is compared with that of all the other "
        f"pairs by a permutation test over captions ({table.attrs.get('n_perm')} random sets of "
        "as many captions); q is the Benjamini-Hochberg q-value over the types, p is unadjusted.",
        "",
        *_table(["event type", "pairs", "captions", "LCC", "LCC of the rest", "diff", "p", "q"],
                rows),
        "",
    ]  # fmt: skip


def render_markdown(
    report: AgreementReport,
    joins: Mapping[str, JoinResult] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> str:
    """The report as markdown.

    Parameters
    ----------
    report : AgreementReport
    joins : mapping of label to JoinResult, optional
        How each predictions file joined (``{"predictions": ..., "against": ...}``).
    inputs : mapping of str to str, optional
        What was read (files, columns, aspect, split), listed first.
    """
    lines = [f"# Agreement of `{report.pred}` with RELATE's listeners", ""]
    lines += [f"- {k}: {v}" for k, v in (inputs or {}).items()]
    lines += [
        f"- bootstrap: {report.n_boot} percentile resamples of the {report.resampled} (95% "
        f"intervals), seed {report.seed}; groups with fewer than {report.min_pairs} pairs get no "
        "estimate",
        "- "
        + (
            "resampling unit: captions. RELATE rates each caption with about three clips, so "
            "every resample draws captions with replacement and takes all the pairs of each "
            "drawn caption (`--unit pair` resamples pairs as if independent)"
            if report.unit == "caption"
            else "resampling unit: pairs, as if independent (`--unit pair`); pairs that share "
            "a caption are correlated, so these intervals can be too narrow"
        ),
        "",
    ]
    if joins:
        lines += ["## What was joined", ""]
        for label, join in joins.items():
            lines += _join_section(label, join)
        lines += ["The analysis uses the joined pairs only.", ""]
    lines += ["## All joined pairs", "", *_headline(report)]
    lines += ["## By group", "", "![forest plot](forest.png)", "", *_groups(report)]
    if report.event_ranking is not None and len(report.event_ranking):
        lines += ["## Event types, ranked (exploratory)", "", *_event_ranking(report)]
    lines += ["## Within versus between sources", ""]
    for predictor in report.decomposition["predictor"].unique():
        lines += _decomposition(report, predictor)
    if report.paired is not None:
        lines += [f"## `{report.pred}` against `{report.against}`", "", *_paired(report)]
        lines += ["![paired differences](paired.png)", ""]
    return "\n".join(lines)
