"""The ``humanclap`` command.

Sub-commands
------------
``humanclap score``
    CLAPScore of every (caption, audio file) row of a CSV, or of a folder of clips against a
    prompts file (see :mod:`humanclap.cli.score`, :mod:`humanclap.score`); ``--summary``
    gives each system's set-level mean, CI and median (:mod:`humanclap.score.systems`).
``humanclap compare``
    Two systems scored on the same prompts: the paired mean difference with its bootstrap CI,
    wins, losses, ties and a sign test (see :mod:`humanclap.cli.compare`,
    :func:`humanclap.score.comparison.compare_systems`); exit status 0 ok, 2 bad input.
``humanclap agree``
    How far a file of predictions (any metric) agrees with RELATE's listeners, by group,
    against each group's noise ceiling (see :mod:`humanclap.cli.agree`,
    :mod:`humanclap.agree`); exit status 0 ok, 2 bad input or nothing joins.
``humanclap models``
    The model specs ``--model`` takes and the released checkpoints (see
    :mod:`humanclap.cli.models`).
``humanclap run-notebooks``
    Execute the book's notebooks with papermill (see :mod:`humanclap.book.runner`).
``humanclap relate-audio``
    Check a copy of RELATE's audio (folder or zip) against every rated clip (see
    :mod:`humanclap.data.relate_audio`); exit status 0 when complete, 1 when anything is missing
    or unusable, 2 for bad arguments.
``humanclap relate-plan``
    What ``make relate`` will run and an estimate of its GPU time (see
    :mod:`humanclap.book.relate_run`).

Start-up: this module builds the argument parser with the standard library only
(:mod:`humanclap.cli.parser`); the module of a sub-command (``humanclap.cli.<name>``) is
imported only when it runs, and it checks its input before it imports torch, pandas or
matplotlib. ``humanclap --help``, ``humanclap score --help`` and the input errors of
``humanclap score`` (a missing file or column, a bad ``--device``) answer without them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from humanclap.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``humanclap`` command; returns the exit status.

    Argument errors exit through argparse (``SystemExit(2)`` with a usage message).
    """
    args = build_parser().parse_args(argv)
    try:
        status = importlib.import_module(f"humanclap.cli.{args.module}").run(args)
        sys.stdout.flush()  # a closed pipe raises here, not in the interpreter's exit
        return status
    except BrokenPipeError:  # the output's reader stopped early (`humanclap models | head`)
        # As Python's documentation advises (signal module, "Note on SIGPIPE"): point stdout at
        # devnull so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
