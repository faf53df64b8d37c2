"""The ``humanclap`` command.

Sub-commands
------------
``humanclap run-notebooks``
    Execute the book's notebooks with papermill (see :mod:`humanclap.book.runner`).
``humanclap score``
    CLAPScore of every (caption, audio file) row of a CSV (see :mod:`humanclap.score`).
``humanclap relate-plan``
    What ``make relate`` will run and an estimate of its GPU time (see
    :mod:`humanclap.book.relate_run`).
``humanclap agree``
    How far a file of predictions (any metric) agrees with RELATE's listeners, by group,
    against each group's noise ceiling (see :mod:`humanclap.agree`); exit status 0 ok, 2 bad
    input or nothing joins.
``humanclap relate-audio``
    Check a copy of RELATE's audio (folder or zip) against every rated clip (see
    :mod:`humanclap.data.relate_audio`); exit status 0 when complete, 1 when anything is missing
    or unusable, 2 for bad arguments.

Exit status of ``humanclap score``: 0 all rows scored; 2 bad arguments or input (unreadable
CSV, missing column, unknown model); 3 some rows failed (the output is still written, with NaN
and an ``error`` message in those rows); 130 interrupted (nothing written; the finished
batches are cached, so running the same command again resumes).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import yaml

from humanclap import agree, models, score
from humanclap.book import runner as nbrun
from humanclap.book.relate_run import plan as relate_plan
from humanclap.data import RelateDataError
from humanclap.data.relate_audio import check_relate_audio
from humanclap.embed import default_cache_dir
from humanclap.utils import atomic_write_csv

__all__ = ["main"]


def _parse_value(text: str):
    """Read a ``-p NAME VALUE`` value as YAML (numbers, booleans, null, lists), else a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _cmd_run_notebooks(args: argparse.Namespace) -> int:
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


#: Exit status of ``humanclap score`` when some rows could not be scored.
EXIT_ROWS_FAILED = 3
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Failed rows listed on stderr (all are in the output's ``error`` column).
MAX_LISTED_FAILURES = 20


def _score_fail(message: str) -> int:
    print(f"humanclap score: {message}", file=sys.stderr)
    return 2


def _score_files_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the files of ``humanclap score`` (found before any work), or None."""
    out: Path = args.out
    if not args.pairs.is_file():
        return f"{args.pairs}: no such pairs CSV"
    if args.audio_dir is not None and not args.audio_dir.is_dir():
        return f"--audio-dir {args.audio_dir}: no such folder"
    if out.is_dir():
        return f"--out {out}: is a folder; name the output file, e.g. {out / 'scores.csv'}"
    if not out.parent.is_dir():
        return f"--out {out}: no such folder {out.parent} (create it first)"
    return None if os.access(out.parent, os.W_OK) else f"--out {out}: cannot write in {out.parent}"


def _cmd_score(args: argparse.Namespace) -> int:
    stage = ["before loading the model"]
    try:
        return _score(args, stage)
    except KeyboardInterrupt:
        said = f"humanclap score: interrupted {stage[0]}; {args.out} not written"
        if stage[0] == "while scoring" and args.cache_dir.lower() == "none":
            said += "; no cache (--cache-dir none), so a re-run starts over"
        elif stage[0] == "while scoring":
            where = _cache_location(args.cache_dir)
            said += f"; finished batches are cached in {where}: run the same command to resume"
        print(f"{said}.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _score(args: argparse.Namespace, stage: list[str]) -> int:
    """``humanclap score`` itself; ``stage[0]`` says how far it got (for Ctrl-C)."""
    problem = _score_files_problem(args)
    if problem:
        return _score_fail(problem)
    try:
        pairs, lines = score.read_pairs_csv(args.pairs, encoding=args.encoding)
    except ValueError as err:
        return _score_fail(str(err))
    except OSError as err:
        return _score_fail(f"{args.pairs}: cannot read the CSV ({err.strerror or err})")
    missing = [c for c in (args.text_col, args.audio_col) if c not in pairs.columns]
    if missing:
        flag = {args.text_col: "--text-col", args.audio_col: "--audio-col"}
        named = " or ".join(f"{c!r} ({flag[c]})" for c in missing)
        return _score_fail(f"{args.pairs}: no column {named}; columns: {', '.join(pairs.columns)}")
    stage[0] = "while loading the model"
    try:
        model = models.load(args.model, device=args.device)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as err:
        return _score_fail(f"--model {args.model}: {err}")
    stage[0] = "while scoring"
    try:
        table, info = score.score_pairs(
            model, pairs, text_col=args.text_col, audio_col=args.audio_col,
            audio_dir=args.audio_dir, relative_to=args.pairs.parent, batch_size=args.batch_size,
            num_workers=args.num_workers, progress=args.progress,
            cache_dir=None if args.cache_dir.lower() == "none" else args.cache_dir,
            allow_truncated=args.allow_truncated, source=str(args.pairs),
            row_labels=[f"line {n}" for n in lines], return_info=True,
        )  # fmt: skip
    except ValueError as err:
        return _score_fail(str(err))
    stage[0] = f"while writing {args.out}"
    atomic_write_csv(table, args.out, index=False)
    failed = [(n, e) for n, e in zip(lines, table["error"], strict=True) if e]
    warned = sum(1 for w in table["warning"] if w)
    print(
        f"humanclap score: {len(table) - len(failed)} of {len(table)} pairs scored -> {args.out} "
        f"({len(failed)} failed, {warned} with warnings; {info.summary()})",
        file=sys.stderr,
    )
    for n, err in failed[:MAX_LISTED_FAILURES]:
        where = f"{args.pairs} line {n}"
        print(f"  {err if err.startswith(where) else f'{where}: {err}'}", file=sys.stderr)
    if len(failed) > MAX_LISTED_FAILURES:
        more = len(failed) - MAX_LISTED_FAILURES
        print(f"  ... and {more} more (see the 'error' column of {args.out})", file=sys.stderr)
    if any(": truncated: " in err for _, err in failed):
        print("  (--allow-truncated scores what truncated files hold, flagged)", file=sys.stderr)
    return EXIT_ROWS_FAILED if failed else 0


def _cmd_relate_audio(args: argparse.Namespace) -> int:
    try:
        check = check_relate_audio(
            args.source, args.relate_dir, num_workers=args.num_workers, progress=args.progress
        )
    except (FileNotFoundError, RelateDataError) as err:
        print(f"humanclap relate-audio: {err}", file=sys.stderr)
        return 2
    print(check.report(limit=args.show))
    if check.ok:
        print("OK: every rated clip is present, decodable, 16 kHz mono.")
        return 0
    print(
        "INCOMPLETE: see the missing and bad files above. Unpack RELATE_wave.zip (from RELATE's "
        "authors) so that each wavname of scores/*.csv exists below one folder, and set "
        "$HUMANCLAP_RELATE_AUDIO to it.",
        file=sys.stderr,
    )
    return 1


def _cmd_relate_plan(args: argparse.Namespace) -> int:
    try:
        plan = relate_plan(args.params, args.source_dir, args.bench_dir, args.relate_dir)
    except (nbrun.NotebookError, RelateDataError, FileNotFoundError) as err:
        print(f"humanclap relate-plan: {err}", file=sys.stderr)
        return 2
    print(plan.report())
    return 0


def _cmd_agree(args: argparse.Namespace) -> int:
    try:
        run = agree.run_agree(
            args.predictions, args.pred_col, args.out, key_col=args.key_col,
            text_col=args.text_col, against=args.against, against_col=args.against_col,
            split=args.split, aspect=args.aspect, relate_dir=args.relate_dir,
            n_boot=args.n_boot, seed=args.seed, min_pairs=args.min_pairs, unit=args.unit,
        )  # fmt: skip
    except (ValueError, OSError) as err:  # PredictionError, RelateDataError, a bad table
        print(f"humanclap agree: {err}", file=sys.stderr)
        return 2
    for line in run.summary():
        print(f"humanclap agree: {line}", file=sys.stderr)
    return 0


def _cache_location(cache_dir: str) -> str:
    """The embedding cache folder a ``--cache-dir`` value means, for messages."""
    return str(default_cache_dir() if cache_dir == "auto" else cache_dir)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _add_run_notebooks(sub: argparse._SubParsersAction) -> None:
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


def _add_score(sub: argparse._SubParsersAction) -> None:
    what = ("Write the CSV with columns clapscore, error and warning added. Embeddings are "
            "cached per batch, so an interrupted run resumes. Messages name rows by their line in "
            "the CSV. Exit status: 0 ok, 2 bad input, 3 some rows failed (NaN + error message, "
            "all other rows written), 130 interrupted.")  # fmt: skip
    wrap = {"initial_indent": "  ", "subsequent_indent": "      ", "break_on_hyphens": False}
    forms = [textwrap.fill(form, 79, **wrap) for form in models.valid_spec_forms()]
    sc = sub.add_parser(
        "score", help="CLAPScore of (caption, audio file) pairs in a CSV",
        description=textwrap.fill(what, 79), epilog="model specs (--model):\n" + "\n".join(forms),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = sc.add_argument
    add("--model", required=True, help="model spec: tiny, laion:..., hf:..., a file (see below)")
    add("--pairs", required=True, type=Path, help="CSV with a caption and an audio column")
    add("--audio-dir", type=Path, default=None,
        help="folder the audio paths are relative to (a leading / is stripped, as in RELATE's "
        "wavnames); default: relative paths are relative to the pairs CSV's folder, absolute "
        "paths stay as they are")  # fmt: skip
    add("--out", required=True, type=Path, help="output CSV (atomic; its folder must exist)")
    add("--text-col", default="text", help="caption column (default: %(default)s)")
    add("--audio-col", default="audio", help="audio path column (default: %(default)s)")
    add("--encoding", default="utf-8", help="text encoding of the CSV (default: %(default)s)")
    add("--device", default="cpu", help="torch device (default: %(default)s)")
    add("--batch-size", type=_positive_int, default=32, help="clips per model call (default: 32)")
    add("--num-workers", type=_non_negative_int, default=2, help="decoding threads (default: 2)")
    add("--cache-dir", default="auto", help="embedding cache folder, 'auto' (the user cache) "
        "or 'none' (default: auto)")  # fmt: skip
    add("--allow-truncated", action="store_true",
        help="score what a truncated audio file holds, flagged 'truncated (header 3.00 s, file "
        "1.80 s)' in the warning column (default: refused, an error in its row)")  # fmt: skip
    add("--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars (default: when stderr is a terminal)")  # fmt: skip
    sc.set_defaults(func=_cmd_score)


def _add_relate_audio(sub: argparse._SubParsersAction) -> None:
    ra = sub.add_parser(
        "relate-audio",
        help="check a copy of RELATE's audio against the ratings",
        description=(
            "Check that every clip rated in RELATE (REL, IS and OS) is present in SOURCE (the "
            "unpacked RELATE_wave folder, any folder above it, or RELATE_wave.zip), decodes, and "
            "is 16 kHz mono. Exit status: 0 complete, 1 something missing or bad, 2 bad input."
        ),
    )
    ra.add_argument("source", type=Path, help="folder or zip holding RELATE's audio")
    ra.add_argument(
        "--relate-dir", default=None, help="RELATE's rating files (default: as load_relate finds)"
    )
    ra.add_argument("--num-workers", type=_positive_int, default=4, help="reading threads")
    ra.add_argument("--show", type=_positive_int, default=20, help="missing/bad files listed")
    ra.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar (default: when stderr is a terminal)",
    )  # fmt: skip
    ra.set_defaults(func=_cmd_relate_audio)


def _add_relate_plan(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser(
        "relate-plan",
        help="what `make relate` will run, and its estimated GPU time",
        description="Print the chapters, fine-tuning runs and scored pairs of the real run, "
        "and estimate its GPU time from bench/results (measured) or stated assumptions.",
    )
    rp.add_argument("--params", default="params/relate-gpu.yaml", help="parameters file")
    rp.add_argument("--source-dir", default="notebooks", type=Path, help="source notebooks")
    rp.add_argument("--bench-dir", default="bench/results", type=Path, help="benchmark results")
    rp.add_argument("--relate-dir", default=None, help="RELATE's rating files")
    rp.set_defaults(func=_cmd_relate_plan)


def _add_agree(sub: argparse._SubParsersAction) -> None:
    ag = sub.add_parser(
        "agree",
        help="agreement of a predictions file with RELATE's listeners",
        description=(
            "Join a CSV of predictions (one per wav, or per wav and text) to the screened pair "
            "means of a RELATE split and write SRCC, LCC, KTAU, MSE and calibrated MSE with "
            "bootstrap intervals, overall and by origin, source, category (and event), beside "
            "each group's noise ceiling; the within- versus between-source decomposition; with "
            "--against, paired differences (BH q-values across groups). Bootstraps resample "
            "captions unless --unit pair. Missing and extra pairs are reported, never dropped "
            "silently. Exit status: 0 ok, 2 bad input or nothing joins."
        ),
    )
    ag.add_argument("predictions", type=Path, help="CSV of predictions")
    ag.add_argument("--pred-col", required=True, help="column of the predictions")
    ag.add_argument(
        "--key-col", default="wav_path",
        help="audio column: a path ending with <source>/<split>/<id>.wav (default: wav_path)",
    )  # fmt: skip
    ag.add_argument("--text-col", default=None, help="text column (predictions per pair)")
    ag.add_argument("--against", type=Path, default=None, help="a second predictions CSV")
    ag.add_argument("--against-col", default=None, help="its column (default: --pred-col)")
    ag.add_argument(
        "--split", default="test", choices=["train", "validation", "test", "all"],
        help="RELATE split of the pairs (default: test)",
    )  # fmt: skip
    ag.add_argument("--aspect", default="REL", choices=["REL", "IS", "OS"], help="rated aspect")
    ag.add_argument("--n-boot", type=_positive_int, default=1000, help="bootstrap resamples")
    ag.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    ag.add_argument("--unit", default="caption", choices=["caption", "pair"],
                    help="bootstrap unit: captions (all pairs of one together) or pairs")  # fmt: skip
    ag.add_argument(
        "--min-pairs", type=_positive_int, default=20, help="smallest group with an estimate"
    )
    ag.add_argument("--relate-dir", default=None, help="RELATE's rating files")
    ag.add_argument("--out", required=True, type=Path, help="output folder")
    ag.set_defaults(func=_cmd_agree)


def build_parser() -> argparse.ArgumentParser:
    """The ``humanclap`` command's argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="humanclap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_run_notebooks, _add_score, _add_agree, _add_relate_audio, _add_relate_plan):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``humanclap`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
