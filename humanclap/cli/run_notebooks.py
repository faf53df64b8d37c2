"""``humanclap run-notebooks``: the book's notebooks run with papermill
(:mod:`humanclap.book.runner`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from humanclap.book import runner as nbrun

__all__ = ["run"]


def _parse_value(text: str):
    """Read a ``-p NAME VALUE`` value as YAML (numbers, booleans, null, lists), else a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def run(args: argparse.Namespace) -> int:
    """Run the notebooks; exit status 0 all ran, 1 some failed, 2 bad parameters."""
    overrides = {name: _parse_value(value) for name, value in args.parameter or []}
    try:
        names = args.only or nbrun.book_notebooks(args.toc, args.output_dir)
        if not names:
            raise nbrun.NotebookError(f"{args.toc} lists no notebook under {args.output_dir}")
        results = nbrun.run_notebooks(
            names,
            source_dir=args.source_dir,
            output_dir=args.output_dir,
            params=nbrun.load_params(args.params),
            overrides=overrides,
            log_output=args.log_output,
            cwd=Path(args.toc).resolve().parent,
        )
    except nbrun.NotebookError as exc:  # bad parameters: refused before anything runs
        print(f"humanclap: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in results if not r.ok]
    total = sum(r.seconds for r in results)
    print(
        f"[humanclap] {len(results) - len(failed)} of {len(results)} notebooks ran ({total:.0f} s)"
    )
    for r in failed:
        print(f"[humanclap] FAILED {r.name}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
