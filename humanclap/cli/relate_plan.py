"""``humanclap relate-plan``: what ``make relate`` runs and its estimated GPU time
(:mod:`humanclap.book.relate_run`)."""

from __future__ import annotations

import argparse
import sys

from humanclap.book.relate_run import plan as relate_plan
from humanclap.book.runner import NotebookError
from humanclap.data import RelateDataError

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Print the plan; exit status 0, or 2 for bad input."""
    try:
        plan = relate_plan(args.params, args.source_dir, args.bench_dir, args.relate_dir)
    except (NotebookError, RelateDataError, FileNotFoundError) as err:
        print(f"humanclap relate-plan: {err}", file=sys.stderr)
        return 2
    print(plan.report())
    return 0
