"""``humanclap agree``: a predictions file against RELATE's listeners (:mod:`humanclap.agree`).

The files and the prediction column are checked with the standard library first; then
:mod:`humanclap.agree` loads (pandas, scipy, matplotlib for the figures; never torch). Without
``--pred-col`` the prediction column is the file's one score column of ``humanclap score``
(``clapscore_<model>``, :func:`humanclap.score.score_columns_of`).

Exit status: 0 ok; 2 bad input (a missing file or column, a bad row, nothing joins).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from humanclap.score.columns import score_columns_of
from humanclap.score.csvfile import read_csv_rows

__all__ = ["run"]


class _Refused(Exception):
    """Bad input, said before the analyses load."""


def _columns(path: Path) -> list[str]:
    if not path.is_file():
        raise _Refused(f"{path}: no such predictions file")
    try:
        return read_csv_rows(path)[0]
    except (ValueError, OSError) as err:
        raise _Refused(f"{path}: cannot read the CSV ({err})") from None


def _pred_col(args: argparse.Namespace) -> str:
    """``--pred-col``, or the predictions file's one ``clapscore_*`` column."""
    columns = _columns(args.predictions)
    if args.against is not None:
        _columns(args.against)
    if args.pred_col is not None:
        return args.pred_col
    found = score_columns_of(columns)
    if len(found) != 1:
        what = f"{len(found)} score columns ({', '.join(found)})" if found else "no clapscore_*"
        raise _Refused(
            f"{args.predictions}: name the prediction column with --pred-col ({what}; "
            f"columns: {', '.join(columns)})"
        )
    return found[0]


def run(args: argparse.Namespace) -> int:
    """Carry out ``humanclap agree`` (module doc: exit status)."""
    try:
        pred_col = _pred_col(args)
    except _Refused as err:
        print(f"humanclap agree: {err}", file=sys.stderr)
        return 2
    from humanclap import agree  # lazy: pandas, scipy, matplotlib, after the file checks

    try:
        done = agree.run_agree(
            args.predictions, pred_col, args.out, key_col=args.key_col,
            text_col=args.text_col, against=args.against, against_col=args.against_col,
            against_key_col=args.against_key_col, drop_missing=args.drop_missing,
            split=args.split, aspect=args.aspect, relate_dir=args.relate_dir,
            n_boot=args.n_boot, seed=args.seed, min_pairs=args.min_pairs, unit=args.unit,
        )  # fmt: skip
    except (ValueError, OSError) as err:  # PredictionError, RelateDataError, a bad table
        print(f"humanclap agree: {err}", file=sys.stderr)
        return 2
    for line in done.summary():
        print(f"humanclap agree: {line}", file=sys.stderr)
    return 0
