"""The ``humanclap`` command.

Sub-commands
------------
``humanclap run-notebooks``
    Execute the book's notebooks with papermill (see :mod:`humanclap.notebooks`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

__all__ = ["main"]


def _parse_value(text: str):
    """Read a ``-p NAME VALUE`` value as YAML (numbers, booleans, null, lists), else a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _cmd_run_notebooks(args: argparse.Namespace) -> int:
    from humanclap import notebooks as nbrun

    try:
        names = args.only or nbrun.book_notebooks(args.toc, args.output_dir)
        params = nbrun.load_params(args.params)
    except nbrun.NotebookError as exc:
        print(f"humanclap: {exc}", file=sys.stderr)
        return 2
    if not names:
        print(f"humanclap: {args.toc} lists no notebook under {args.output_dir}", file=sys.stderr)
        return 2
    overrides = {name: _parse_value(value) for name, value in args.parameter or []}
    results = nbrun.run_notebooks(
        names,
        source_dir=args.source_dir,
        output_dir=args.output_dir,
        params=params,
        overrides=overrides,
        log_output=args.log_output,
    )
    failed = [r for r in results if not r.ok]
    total = sum(r.seconds for r in results)
    print(
        f"[humanclap] {len(results) - len(failed)} of {len(results)} notebooks ran ({total:.0f} s)"
    )
    for r in failed:
        print(f"[humanclap] FAILED {r.name}: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="humanclap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run-notebooks",
        help="run the book's notebooks with papermill",
        description="Run the notebooks listed in the table of contents with papermill.",
    )
    run.add_argument("--toc", default="_toc.yml", type=Path, help="table of contents")
    run.add_argument("--source-dir", default="notebooks", type=Path, help="source notebooks")
    run.add_argument("--output-dir", default="book/chapters", help="where executed copies go")
    run.add_argument("--params", default=None, help="YAML file with common and per-notebook values")
    run.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebook stems")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="override a parameter in every notebook that declares it (value read as YAML)",
    )
    run.add_argument("--log-output", action="store_true", help="stream cell output")
    run.set_defaults(func=_cmd_run_notebooks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``humanclap`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
