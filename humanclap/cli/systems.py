"""``humanclap score --summary``: each system's set-level score, per score column
(:func:`humanclap.score.systems.system_summary`).

Systems are told apart by ``--system-col COL`` (a column of the ``--pairs`` CSV), by
``--system-by-folder`` (the folder of each row's audio path as written: the ``--pairs`` CSV's
audio column, or the clip's path below FOLDER), or not at all (one system, ``all``). The table
is printed on stdout, or on stderr when ``--json -`` writes the JSON to stdout; ``--json``
gains the same numbers as ``systems``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["print_summary", "system_problem", "system_rule"]


def system_problem(args: argparse.Namespace, columns: list[str], source: str) -> str | None:
    """What is wrong with ``--summary``'s options for an input with ``columns``, or None."""
    chosen = [flag for flag, on in (("--system-col", args.system_col is not None),
                                    ("--system-by-folder", args.system_by_folder)) if on]  # fmt: skip
    if chosen and not args.summary:
        return f"{chosen[0]}: only with --summary"
    if len(chosen) == 2:
        return "give --system-col or --system-by-folder, not both"
    if args.system_col is not None and args.pairs is None:
        return "--system-col: only with --pairs (a folder's systems: --system-by-folder)"
    if args.system_col is not None and args.system_col not in columns:
        return f"{source}: no column {args.system_col!r} (--system-col); columns: " + ", ".join(
            columns
        )
    return None


def system_rule(args: argparse.Namespace, audio_col: str) -> dict[str, str | None]:
    """``system_col`` and ``folder_col`` of :func:`humanclap.score.systems.system_summary`."""
    return {
        "system_col": args.system_col,
        "folder_col": audio_col if args.system_by_folder else None,
    }


def _plain(value: Any) -> Any:
    """A cell as JSON has it: numpy scalars as Python numbers, NaN as None."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def _how(args: argparse.Namespace) -> str:
    if args.system_col is not None:
        return f"systems from column {args.system_col!r}"
    return "systems by folder" if args.system_by_folder else "one system (all rows)"


def print_summary(
    args: argparse.Namespace, table, columns: list[str], *, text_col: str, audio_col: str
) -> dict[str, list[dict[str, Any]]]:
    """Print each system's summary of every score column; return them as JSON-able records.

    Parameters
    ----------
    args : argparse.Namespace
        ``humanclap score``'s arguments (``system_col``, ``system_by_folder``, ``n_boot``,
        ``seed``, ``json``, ``out``).
    table : pandas.DataFrame
        What ``humanclap score`` wrote.
    columns : list of str
        The score columns, one per ``--model``.
    text_col, audio_col : str
        The prompt and audio columns of ``table``.

    Returns
    -------
    dict
        ``{column: [{system, n, n_scored, n_failed, mean, lo, hi, median, ...}, ...]}``
        (:func:`humanclap.score.systems.system_summary`'s rows).
    """
    from humanclap.score.systems import system_summary  # lazy: scipy, after the input checks

    out = sys.stderr if args.json == "-" else sys.stdout
    records: dict[str, list[dict[str, Any]]] = {}
    for column in columns:
        summary = system_summary(
            table, column, text_col=text_col, n_boot=args.n_boot, seed=args.seed,
            source=str(args.out), **system_rule(args, audio_col),
        )  # fmt: skip
        records[column] = [{k: _plain(v) for k, v in row.items()} for row in
                           summary.to_dict("records")]  # fmt: skip
        print(f"{column}: {_how(args)}; 95% bootstrap CI of the mean, prompts resampled "
              f"({args.n_boot} resamples, seed {args.seed})", file=out)  # fmt: skip
        shown = summary.assign(
            ci95=[
                f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(summary["lo"], summary["hi"], strict=True)
            ],  # fmt: skip
        )[["system", "n", "n_scored", "mean", "ci95", "median"]]
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"), file=out)
    return records
