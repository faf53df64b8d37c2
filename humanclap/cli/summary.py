"""The JSON summary of ``humanclap score --json``: what was scored, by which model, with what.

Keys: ``command``, ``input`` (the pairs CSV, or the folder and prompts file), ``output``,
``n``, ``n_scored``, ``n_failed``, ``column``, ``mean`` (the mean score with a 95% percentile
bootstrap interval, captions resampled: ``mean``, ``lo``, ``hi``, ``ci``, ``n_boot``, ``seed``,
``resampled``, ``n_units``; None when nothing was scored), ``failures`` (``{kind: count}``),
``model`` (``spec``, ``backend``, ``fingerprint``), ``device``, ``precision`` (as used),
``exit_status``, ``packages`` (versions, None when not installed), ``python``, ``written``.
With ``--summary``, ``systems``: each system's row of
:func:`humanclap.score.systems.system_summary` (``system``, ``n``, ``n_scored``, ``n_failed``,
``mean``, ``lo``, ``hi``, ``median``, ...). With several ``--model``, the keys of one model
(``n_scored``, ``n_failed``, ``column``, ``mean``, ``failures``, ``model``, ``systems``) move
into ``models``, a list with one entry per model in the order given; ``n`` stays on top.
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


def _per_model(args, job, table, column: str, scored_by: dict, systems) -> dict[str, Any]:
    """One model's keys: ``n``, ``n_scored``, ``n_failed``, ``column``, ``mean``,
    ``failures``, ``model`` (and ``systems`` with ``--summary``)."""
    facts = score_summary(table, column, text_col=job.text_col, n_boot=args.n_boot,
                          seed=args.seed)  # fmt: skip
    facts["model"] = dict(scored_by)
    if systems is not None:
        facts["systems"] = systems[column]
    return facts


def write_summary(
    args: argparse.Namespace,
    job,
    table,
    columns: list[str],
    scored_by: list[dict[str, Any]],
    facts: dict[str, Any],
    *,
    systems: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Write the summary (module doc) to ``args.json`` atomically, or to stdout for ``-``.

    Parameters
    ----------
    args : argparse.Namespace
        ``humanclap score``'s arguments (``json``, ``n_boot``, ``seed``, the input files).
    job : humanclap.cli.score.Job
        The rows scored (its ``text_col`` names the captions the bootstrap resamples).
    table : pandas.DataFrame
        What ``humanclap score`` wrote: :func:`humanclap.score.score_pairs`'s output, or
        :func:`humanclap.score.merge.merge_model_scores`' for several models.
    columns : list of str
        The score columns, one per ``--model``.
    scored_by : list of dict
        Each model's ``spec``, ``backend`` and ``fingerprint``, in the order of ``columns``.
    facts : dict
        ``device``, ``precision``, ``exit_status``.
    systems : dict, optional
        ``--summary``'s records per column (:func:`humanclap.cli.systems.print_summary`).

    Returns
    -------
    dict
        What was written.
    """
    if args.pairs is not None:
        source = {"pairs": str(args.pairs)}
    else:
        source = {"folder": str(args.folder), "prompts": str(args.prompts)}
    per_model = [_per_model(args, job, table, c, m, systems)
                 for c, m in zip(columns, scored_by, strict=True)]  # fmt: skip
    if len(per_model) == 1:
        scores = per_model[0]
    else:
        scores = {"n": int(len(table)), "models": per_model}
    summary = {
        "command": "humanclap score",
        "input": source,
        "output": str(args.out),
        **scores,
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
