"""The JSON summary of ``humanclap score --json``: what was scored, by which model, with what.

Keys: ``command``, ``input`` (the pairs CSV, or the folder and prompts file), ``output``,
``n``, ``n_scored``, ``n_failed``, ``column``, ``mean`` (the mean score with a 95% percentile
bootstrap interval, captions resampled: ``mean``, ``lo``, ``hi``, ``ci``, ``n_boot``, ``seed``,
``resampled``, ``n_units``; None when nothing was scored), ``failures`` (``{kind: count}``),
``model`` (``spec``, ``backend``, ``fingerprint``), ``device``, ``precision`` (as used),
``exit_status``, ``packages`` (versions, None when not installed), ``python``, ``written``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Any

from humanclap.score.summary import score_summary
from humanclap.utils import atomic_write_text, package_versions

__all__ = ["PACKAGES", "write_summary"]

#: Distributions whose versions the summary records.
PACKAGES: tuple[str, ...] = (
    "humanclap", "torch", "transformers", "laion_clap", "numpy", "pandas", "huggingface_hub",
)  # fmt: skip


def write_summary(
    args: argparse.Namespace, job, table, column: str, model, facts: dict[str, Any]
) -> dict[str, Any]:
    """Write the summary (module doc) to ``args.json`` atomically, or to stdout for ``-``.

    Parameters
    ----------
    args : argparse.Namespace
        ``humanclap score``'s arguments (``json``, ``n_boot``, ``seed``, the input files).
    job : humanclap.cli.score.Job
        The rows scored (its ``text_col`` names the captions the bootstrap resamples).
    table : pandas.DataFrame
        :func:`humanclap.score.score_pairs`'s output.
    column : str
        The score column.
    model : humanclap.models.ClapModel
    facts : dict
        ``device``, ``precision``, ``exit_status``.

    Returns
    -------
    dict
        What was written.
    """
    if args.pairs is not None:
        source = {"pairs": str(args.pairs)}
    else:
        source = {"folder": str(args.folder), "prompts": str(args.prompts)}
    summary = {
        "command": "humanclap score",
        "input": source,
        "output": str(args.out),
        **score_summary(table, column, text_col=job.text_col, n_boot=args.n_boot, seed=args.seed),
        "model": {
            "spec": args.model,
            "backend": getattr(model, "backend", None),
            "fingerprint": model.fingerprint,
        },  # fmt: skip
        **facts,
        "packages": package_versions(PACKAGES),
        "python": platform.python_version(),
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    text = json.dumps(summary, indent=2, default=str) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(args.json, text)
    return summary
