"""``humanclap agree`` as one function: read, join, analyse, write.

:func:`run_agree` reads the predictions (and a second file to compare with), loads RELATE's
ratings of one aspect (:func:`humanclap.data.load_relate`; top-level categories from AudioSet's labels of each clip),
joins both files to the pairs of the split, asks :func:`humanclap.agree.default_events` for fine
sound-event types, computes :func:`humanclap.agree.agreement_report` and writes its files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from humanclap.agree.events import NO_ONTOLOGY, default_events
from humanclap.agree.output import write_report
from humanclap.agree.predictions import (
    PAIR_COLUMNS,
    JoinResult,
    PredictionError,
    join_predictions,
    read_predictions,
)
from humanclap.agree.report import AgreementReport, agreement_report
from humanclap.data import load_relate, pair_table

__all__ = ["AgreeRun", "run_agree"]


@dataclass
class AgreeRun:
    """What :func:`run_agree` did: the joins, the report and the files written."""

    joins: dict[str, JoinResult]
    report: AgreementReport
    files: list[Path]

    def summary(self) -> list[str]:
        """Lines for the terminal: the joins, the overall numbers, where the files are."""
        lines = [line for join in self.joins.values() for line in join.summary()]
        overall = self.report.overall()
        numbers = ", ".join(
            f"{m.upper()} {r.estimate:.4f} [{r.lo:.3f}, {r.hi:.3f}]"
            for m, r in overall.iterrows()
            if np.isfinite(r.estimate)
        )
        ceiling = overall.loc["lcc", "ceiling_lcc"]
        lines.append(
            f"overall ({int(overall['n'].iloc[0])} pairs, 95% CIs with "
            f"{self.report.resampled} resampled): {numbers}"
            + (f"; noise ceiling LCC {ceiling:.3f}" if np.isfinite(ceiling) else "")
        )
        folder = self.files[0].parent if self.files else "?"
        lines.append(f"wrote {', '.join(f.name for f in self.files)} to {folder}")
        return lines


def _column_name(wanted: str, pairs: pd.DataFrame, taken: str | None, fallback: str) -> str:
    """``wanted`` as the joined column's name, unless the pairs or the other file use it."""
    return fallback if wanted in pairs.columns or wanted == taken else wanted


def run_agree(
    predictions: str | os.PathLike,
    pred_col: str,
    out_dir: str | os.PathLike,
    *,
    key_col: str = "wav_path",
    text_col: str | None = None,
    against: str | os.PathLike | None = None,
    against_col: str | None = None,
    against_key_col: str | None = None,
    drop_missing: bool = False,
    split: str = "test",
    aspect: str = "REL",
    relate_dir: str | os.PathLike | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_pairs: int = 20,
    unit: str = "caption",
) -> AgreeRun:
    """Agreement of a predictions file with RELATE's listeners, written to ``out_dir``.

    Parameters
    ----------
    predictions : path-like
        CSV of predictions (see :func:`humanclap.agree.read_predictions`).
    pred_col, key_col, text_col : str
        Its prediction, audio and (optional) text columns.
    out_dir : path-like
        Where the files go (:func:`humanclap.agree.write_report`).
    against, against_col, against_key_col : optional
        A second predictions file (same text column), its prediction column (default
        ``pred_col``) and its key column (default ``key_col``): paired comparisons.
    drop_missing : bool
        Drop the rows of either file without a prediction (empty or NaN), counted in the
        summary and the report (:func:`humanclap.agree.read_predictions`); else they are an
        error naming the file and rows.
    split : {"train", "validation", "test", "all"}
    aspect : {"REL", "IS", "OS"}
    relate_dir : path-like, optional
        RELATE's rating files (default: as :func:`humanclap.data.load_relate` finds them).
    n_boot, seed, min_pairs : int
        As in :func:`humanclap.agree.agreement_report`.
    unit : {"caption", "pair"}
        What the bootstraps resample (:func:`humanclap.agree.agreement_report`).

    Raises
    ------
    PredictionError, humanclap.data.RelateDataError, ValueError, OSError
        Bad input, naming the file and row or column; nothing joins.
    """
    for flag, value in (("--against-col", against_col), ("--against-key-col", against_key_col)):
        if value is not None and against is None:
            raise PredictionError(f"{flag} needs --against (the second predictions file)")
    main = read_predictions(
        predictions, pred_col, key_col=key_col, text_col=text_col, drop_missing=drop_missing
    )
    other = None
    if against is not None:
        against_col, against_key_col = against_col or pred_col, against_key_col or key_col
        other = read_predictions(
            against, against_col, key_col=against_key_col, text_col=text_col,
            drop_missing=drop_missing,
        )  # fmt: skip
    ratings = load_relate(relate_dir, aspect=aspect)
    pairs = pair_table(ratings)
    name = _column_name(pred_col, pairs, None, "pred")
    joins = {"predictions": join_predictions(main, pairs, split=split, name=name)}
    joined = joins["predictions"].joined
    other_name = None
    if other is not None:
        other_name = _column_name(against_col, pairs, name, "against")
        joins["against"] = join_predictions(other, pairs, split=split, name=other_name)
        right = joins["against"].joined[[*PAIR_COLUMNS, other_name]]
        joined = joined.merge(right, on=PAIR_COLUMNS, how="left", validate="one_to_one")
    events = default_events(pairs)
    report = agreement_report(
        joined, ratings, pred=name, target="mean_score", against=other_name,
        events=events, n_boot=n_boot, seed=seed, min_pairs=min_pairs, unit=unit,
    )  # fmt: skip
    if events is None:
        report.notes.append(NO_ONTOLOGY)
    inputs = {
        "predictions": f"`{predictions}`, column `{pred_col}` (key `{key_col}`"
        + (f", text `{text_col}`)" if text_col else ")"),
        "ratings": f"RELATE {aspect} ({ratings.attrs.get('root', relate_dir)}), screened "
        f"pair means (`mean_score`, 0-10) of {joins['predictions'].where}",
    }
    if other is not None:
        inputs["against"] = f"`{against}`, column `{against_col}` (key `{against_key_col}`)"
    files = write_report(report, out_dir, joins=joins, inputs=inputs)
    return AgreeRun(joins=joins, report=report, files=files)
