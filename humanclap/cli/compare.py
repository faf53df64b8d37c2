"""``humanclap compare A.csv B.csv``: two systems scored on the same prompts
(:func:`humanclap.score.comparison.compare_systems`, whose rules it follows).

The files, their columns and the outputs are checked with the standard library first; pandas
and scipy load after that. Without ``--column`` the score column is A.csv's one
``clapscore_<model>`` column (:func:`humanclap.score.score_columns_of`), and B.csv's is the same
unless ``--column-b``. The comparison is printed on stdout (on stderr with ``--json -``, so that
stdout is the JSON alone).

Exit status: 0 ok; 2 bad input (a missing file or column, a file without rows, a score that is
not a number, an empty prompt; without ``--drop-missing``, a row without a score or a prompt in
only one file; no prompt in both files).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from humanclap.cli.score import _output_problem
from humanclap.score.columns import score_columns_of
from humanclap.score.csvfile import read_csv_rows, read_pairs_csv

__all__ = ["run"]


class _Refused(Exception):
    """Bad input: the message names the file, the column or the option."""


def _say(message: str) -> None:
    print(f"humanclap compare: {message}", file=sys.stderr)


def _header(path: Path, encoding: str) -> list[str]:
    if not path.is_file():
        raise _Refused(f"{path}: no such scores file")
    try:
        return read_csv_rows(path, encoding=encoding)[0]
    except ValueError as err:
        raise _Refused(str(err)) from None
    except OSError as err:
        raise _Refused(f"{path}: cannot read the CSV ({err.strerror or err})") from None


def _columns(args: argparse.Namespace) -> tuple[str, str]:
    """The score columns of A.csv and B.csv, checked against both headers."""
    header_a, header_b = _header(args.a, args.encoding), _header(args.b, args.encoding)
    column = args.column
    if column is None:
        found = score_columns_of(header_a)
        if len(found) != 1:
            what = f"{len(found)} score columns ({', '.join(found)})" if found else "no clapscore_*"
            raise _Refused(f"{args.a}: name the score column with --column ({what}; columns: "
                           f"{', '.join(header_a)})")  # fmt: skip
        column = found[0]
    column_b = column if args.column_b is None else args.column_b
    flag_b = "--column" if args.column_b is None else "--column-b"
    for path, header, name, flag in ((args.a, header_a, column, "--column"),
                                     (args.b, header_b, column_b, flag_b),
                                     (args.a, header_a, args.text_col, "--text-col"),
                                     (args.b, header_b, args.text_col, "--text-col")):  # fmt: skip
        if name not in header:
            raise _Refused(f"{path}: no column {name!r} ({flag}); columns: {', '.join(header)}")
    outputs = [("--per-prompt", args.per_prompt)]
    if args.json not in (None, "-"):
        outputs.append(("--json", Path(args.json)))
    problem = next((p for flag, out in outputs if out and (p := _output_problem(flag, out))), None)
    if problem:
        raise _Refused(problem)
    return column, column_b


def _read(path: Path, encoding: str):
    """The CSV as text, indexed by the line each row starts on."""
    try:
        table, lines = read_pairs_csv(path, encoding=encoding)
    except ValueError as err:
        raise _Refused(str(err)) from None
    table.index = lines
    table.index.name = "line"
    return table


def _compare(args: argparse.Namespace) -> int:
    column, column_b = _columns(args)
    from humanclap.score.comparison import compare_systems  # lazy: pandas, scipy
    from humanclap.score.systems import ScoreTableError  # lazy: pandas
    from humanclap.utils import atomic_write_csv, atomic_write_text  # lazy: pandas

    try:
        done = compare_systems(
            _read(args.a, args.encoding), _read(args.b, args.encoding), column,
            column_b=column_b, text_col=args.text_col, drop_missing=args.drop_missing,
            n_boot=args.n_boot, seed=args.seed, names=(str(args.a), str(args.b)),
        )  # fmt: skip
    except ScoreTableError as err:
        raise _Refused(str(err)) from None
    out = sys.stderr if args.json == "-" else sys.stdout
    for line in done.lines():
        print(line, file=out)
    if args.per_prompt is not None:
        atomic_write_csv(done.per_prompt, args.per_prompt, index=False)
    if args.json is not None:
        facts = {"command": "humanclap compare", **done.to_dict(),
                 "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        text = json.dumps(facts, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            atomic_write_text(args.json, text)
    return 0


def run(args: argparse.Namespace) -> int:
    """Carry out ``humanclap compare`` (module doc: exit status)."""
    try:
        return _compare(args)
    except _Refused as err:
        _say(str(err))
        return 2
