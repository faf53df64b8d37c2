"""``humanclap score``: CLAPScore of a CSV of pairs, or of a folder of clips against a prompts
file (:mod:`humanclap.score`).

The input is checked first, with the standard library only (files, the CSV's header, the
prompts file and its match with the folder, the output folders, a model file that does not
exist); torch loads after that, then the device (``--device auto``: cuda, else mps, else cpu,
said on stderr; :func:`humanclap.runtime.resolve_device`), the precision and the model are
checked, each error naming its option.

``--model`` given more than once scores the rows with each model in turn (one in memory at a
time) into one table, one ``clapscore_<model>`` column each
(:func:`humanclap.score.merge.merge_model_scores`). ``--summary`` prints each system's
set-level score per column (:mod:`humanclap.cli.systems`).

Exit status: 0 all rows scored; 2 bad arguments or input (unreadable CSV or prompts file,
missing column, a prompt without a clip or a clip without a prompt, unknown model, a device
this machine lacks); 3 some rows failed (the output is still written, with NaN and an ``error``
message in those rows); 130 interrupted (nothing written; the finished batches are cached, so
running the same command again resumes).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from humanclap.cli.distributed import Ranks, launched_by_torchrun, run_ranks
from humanclap.cli.systems import print_summary, system_problem
from humanclap.score.columns import CHECKPOINT_SUFFIXES, score_column
from humanclap.score.csvfile import read_csv_rows
from humanclap.score.prompts import PromptError, match_prompts, read_prompts

__all__ = ["EXIT_INTERRUPTED", "EXIT_ROWS_FAILED", "run"]

#: Exit status when some rows could not be scored.
EXIT_ROWS_FAILED = 3
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Failed rows listed on stderr (all are in the output's ``error`` column).
MAX_LISTED_FAILURES = 20
_SPEC_PREFIX = re.compile(r"^[a-z][a-z0-9_]*:")
#: The entry-point group of pre-trained models (humanclap.models.PRETRAINED_GROUP; a test
#: checks they are the same: importing humanclap.models loads torch).
PRETRAINED_GROUP = "humanclap.pretrained"


class InputError(Exception):
    """Bad input: the message (naming the file, option, row) is printed and the exit status
    is 2."""


@dataclass
class Job:
    """What to score, read and checked: the rows as text and how to read them."""

    columns: list[str]
    rows: list[list[Any]]
    labels: list[str]
    text_col: str
    audio_col: str
    audio_dir: Path | None
    relative_to: Path | None
    source: str


def _say(message: str) -> None:
    print(f"humanclap score: {message}", file=sys.stderr)


def _output_problem(flag: str, out: Path) -> str | None:
    if out.is_dir():
        return f"{flag} {out}: is a folder; name the output file, e.g. {out / 'scores.csv'}"
    if not out.parent.is_dir():
        return f"{flag} {out}: no such folder {out.parent} (create it first)"
    return None if os.access(out.parent, os.W_OK) else f"{flag} {out}: cannot write in {out.parent}"


def _model_problem(spec: str) -> str | None:
    """What is wrong with a model spec that can be told before torch loads: a file or folder
    that does not exist, or a bare word that is neither a file nor a pre-trained model (the
    ``humanclap.pretrained`` entry points, e.g. ``tiny``). Unknown ``<prefix>:`` forms are
    found by :func:`humanclap.models.load` (the backends register with torch loaded)."""
    rest = _SPEC_PREFIX.sub("", spec, count=1)
    path_like = (
        os.path.isabs(rest)
        or rest.startswith(("./", "../", "~"))
        or rest.lower().endswith(CHECKPOINT_SUFFIXES)
        or (rest == spec and os.sep in spec)
    )
    if path_like and not Path(rest).expanduser().exists():
        return f"--model {spec}: no such file or folder {rest}"
    if rest == spec and not path_like and not Path(spec).exists():
        names = {p.name for p in metadata.entry_points(group=PRETRAINED_GROUP)}
        if spec not in names:
            return (
                f"--model {spec}: not a model spec (a bare name must be a pre-trained model: "
                f"{', '.join(sorted(names)) or 'none installed'}); `humanclap models` lists them"
            )
    return None


def _files_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments and files (found before any work), or None."""
    if args.pairs is not None and (args.folder is not None or args.prompts is not None):
        return "give --pairs CSV, or FOLDER with --prompts FILE, not both"
    if args.pairs is None and (args.folder is None or args.prompts is None):
        return "give --pairs CSV, or a FOLDER of clips with --prompts FILE"
    if args.pairs is not None and not args.pairs.is_file():
        return f"{args.pairs}: no such pairs CSV"
    if args.folder is not None and not args.folder.is_dir():
        return f"{args.folder}: no such folder of clips"
    if args.prompts is not None and not args.prompts.is_file():
        return f"--prompts {args.prompts}: no such file"
    if args.audio_dir is not None and (args.pairs is None or not args.audio_dir.is_dir()):
        return f"--audio-dir {args.audio_dir}: " + (
            "no such folder" if args.pairs is not None else "only with --pairs"
        )
    problems = [_output_problem("--out", args.out), *map(_model_problem, args.model)]
    if args.json not in (None, "-"):
        problems.append(_output_problem("--json", Path(args.json)))
    return next((p for p in problems if p), None)


def _read_pairs(args: argparse.Namespace) -> Job:
    try:
        columns, rows, lines = read_csv_rows(args.pairs, encoding=args.encoding)
    except ValueError as err:
        raise InputError(str(err)) from None
    except OSError as err:
        raise InputError(f"{args.pairs}: cannot read the CSV ({err.strerror or err})") from None
    missing = [c for c in (args.text_col, args.audio_col) if c not in columns]
    if missing:
        flag = {args.text_col: "--text-col", args.audio_col: "--audio-col"}
        named = " or ".join(f"{c!r} ({flag[c]})" for c in missing)
        raise InputError(f"{args.pairs}: no column {named}; columns: {', '.join(columns)}")
    labels = [f"line {n}" for n in lines]
    return Job(columns, rows, labels, args.text_col, args.audio_col, args.audio_dir,
               args.pairs.parent, str(args.pairs))  # fmt: skip


def _read_folder(args: argparse.Namespace) -> Job:
    try:
        prompts = read_prompts(args.prompts, key_col=args.prompt_key_col,
                               text_col=args.prompt_text_col, encoding=args.encoding)  # fmt: skip
        matched = match_prompts(args.folder, prompts, source=str(args.prompts))
    except (PromptError, ValueError) as err:
        raise InputError(str(err)) from None
    except OSError as err:
        raise InputError(f"{args.prompts}: cannot read ({err.strerror or err})") from None
    rows = [[m.file, m.prompt.key, m.prompt.text] for m in matched]
    labels = [m.prompt.where for m in matched]
    return Job(["file", "key", "text"], rows, labels, "text", "file", args.folder, None,
               str(args.prompts))  # fmt: skip


def _load_model(args: argparse.Namespace, spec: str) -> tuple[Any, Any, str]:
    """The model ``spec`` (one ``--model``) on its device, the device and the precision used;
    InputError naming the option that is wrong."""
    from humanclap import models, runtime  # lazy: torch loads only after the input checks

    try:
        device = runtime.resolve_device(args.device)
    except ValueError as err:
        raise InputError(f"--device {args.device}: {err}") from None
    if args.device == "auto" and spec == args.model[0]:
        _say(f"--device auto: using {device}")
    try:
        precision = runtime.resolve_precision(args.precision, device)
    except ValueError as err:
        raise InputError(f"--precision {args.precision}: {err}") from None
    options = {"progress": args.progress} if spec == "tiny" else {}
    try:
        model = models.load(spec, device=device, **options)
    except (ValueError, TypeError, LookupError, FileNotFoundError, RuntimeError) as err:
        raise InputError(f"--model {spec}: {err}") from None
    return model, device, precision


def _score_columns(args: argparse.Namespace) -> list[str]:
    """The score column of each ``--model`` (distinct); InputError naming the option."""
    columns = []
    for spec in args.model:
        try:
            columns.append(score_column(spec))
        except ValueError as err:
            raise InputError(f"--model {spec}: {err}") from None
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise InputError(f"--model: two models would write the same column {', '.join(twice)}")
    return columns


def _report(args: argparse.Namespace, job: Job, table, infos: list) -> int:
    """Say what was scored (``infos``: one ScoreInfo per model) and list the failed rows; the
    exit status."""
    failed = [(n, e) for n, e in zip(job.labels, table["error"], strict=True) if e]
    warned = sum(1 for w in table["warning"] if w)
    _say(
        f"{len(table) - len(failed)} of {len(table)} pairs scored -> {args.out} "
        f"({len(failed)} failed, {warned} with warnings; "
        f"{' | '.join(info.summary() for info in infos)})"
    )
    for label, err in failed[:MAX_LISTED_FAILURES]:
        where = f"{job.source} {label}"
        print(f"  {err if err.startswith(where) else f'{where}: {err}'}", file=sys.stderr)
    if len(failed) > MAX_LISTED_FAILURES:
        more = len(failed) - MAX_LISTED_FAILURES
        print(f"  ... and {more} more (see the 'error' column of {args.out})", file=sys.stderr)
    if any(": truncated: " in err for _, err in failed):
        print("  (--allow-truncated scores what truncated files hold, flagged)", file=sys.stderr)
    return EXIT_ROWS_FAILED if failed else 0


def _score(args: argparse.Namespace, stage: list[str], ranks: Ranks | None = None) -> int:
    """``humanclap score`` itself; ``stage[0]`` says how far it got (for Ctrl-C); ``ranks``:
    one rank of a torchrun job (:mod:`humanclap.cli.distributed`)."""
    problem = _files_problem(args)
    if problem:
        raise InputError(problem)
    job = _read_pairs(args) if args.pairs is not None else _read_folder(args)
    columns = _score_columns(args)
    problem = system_problem(args, job.columns, job.source)
    if problem:
        raise InputError(problem)
    tables, infos, scored_by = [], [], []
    for spec, column in zip(args.model, columns, strict=True):  # one model in memory at a time
        stage[0] = "while loading the model"
        model, device, precision = _load_model(args, spec)
        stage[0] = "while scoring"
        table, info = _score_with(args, job, model, spec, column, ranks)
        tables.append(table)
        infos.append(info)
        scored_by.append({"spec": spec, "backend": getattr(model, "backend", None),
                          "fingerprint": model.fingerprint})  # fmt: skip
        del model
    if ranks is not None and ranks.rank != 0:
        return 0  # rank 0 writes and reports; Ranks.finish gives every rank rank 0's status
    from humanclap.score.merge import merge_model_scores  # lazy: pandas
    from humanclap.utils import atomic_write_csv  # lazy: pandas

    table = tables[0] if len(tables) == 1 else merge_model_scores(tables, columns)
    stage[0] = f"while writing {args.out}"
    atomic_write_csv(table, args.out, index=False)
    status = _report(args, job, table, infos)
    systems = None
    if args.summary:
        systems = print_summary(args, table, columns, text_col=job.text_col,
                                audio_col=job.audio_col)  # fmt: skip
    if args.json is not None:
        from humanclap.cli.summary import write_summary  # lazy: scipy, for the bootstrap

        facts = {"device": str(device), "precision": precision, "exit_status": status}
        write_summary(args, job, table, columns, scored_by, facts, systems=systems)
    return status


def _score_with(
    args: argparse.Namespace, job: Job, model, spec: str, column: str, ranks: Ranks | None
):
    """``score_pairs``'s table and ScoreInfo of ``job``'s rows with one model (under torchrun,
    each rank scores its slice and gets the merged table: :meth:`Ranks.sharded`)."""
    import pandas as pd  # lazy: loaded with torch, after the input checks

    from humanclap.score.pairs import score_pairs  # lazy: torch (through humanclap.embed)

    score = score_pairs if ranks is None else ranks.sharded(score_pairs)
    try:
        return score(
            model, pd.DataFrame(job.rows, columns=job.columns, dtype=object),
            text_col=job.text_col, audio_col=job.audio_col, audio_dir=job.audio_dir,
            relative_to=job.relative_to, batch_size=args.batch_size,
            num_workers=args.num_workers, progress=args.progress,
            cache_dir=None if args.cache_dir.lower() == "none" else args.cache_dir,
            precision=args.precision, allow_truncated=args.allow_truncated, source=job.source,
            row_labels=job.labels, spec=spec, column=column, return_info=True,
        )  # fmt: skip
    except ValueError as err:
        raise InputError(str(err)) from None


def _cache_location(cache_dir: str) -> str:
    """The embedding cache folder a ``--cache-dir`` value means, for messages."""
    from humanclap.embed import default_cache_dir  # lazy: torch; only after an interrupt

    return str(default_cache_dir() if cache_dir == "auto" else cache_dir)


def run(args: argparse.Namespace) -> int:
    """Carry out ``humanclap score`` (module doc: exit status); launched by torchrun, as one
    rank of the job (:mod:`humanclap.cli.distributed`: the same output and exit status)."""
    return run_ranks(args, _run) if launched_by_torchrun() else _run(args, None)


def _run(args: argparse.Namespace, ranks: Ranks | None) -> int:
    stage = ["before loading the model"]
    try:
        return _score(args, stage, ranks)
    except InputError as err:
        if ranks is not None:  # the other ranks learn it; rank 0 says it
            return ranks.stop(str(err))
        _say(str(err))
        return 2
    except KeyboardInterrupt:
        said = f"humanclap score: interrupted {stage[0]}; {args.out} not written"
        if stage[0] == "while scoring" and args.cache_dir.lower() == "none":
            said += "; no cache (--cache-dir none), so a re-run starts over"
        elif stage[0] == "while scoring":
            where = _cache_location(args.cache_dir)
            said += f"; finished batches are cached in {where}: run the same command to resume"
        if ranks is None or ranks.interrupted():  # under torchrun, rank 0 says it
            print(f"{said}.", file=sys.stderr)
        return EXIT_INTERRUPTED
