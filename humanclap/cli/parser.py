"""The argument parser of the ``humanclap`` command, built with the standard library only.

Each sub-command's parser sets ``module``: the module of :mod:`humanclap.cli` whose ``run(args)``
carries it out (``score``, ``compare``, ``agree``, ``models``, ``run_notebooks``,
``relate_audio``, ``relate_plan``), imported only then (:func:`humanclap.cli.main`).
"""

from __future__ import annotations

import argparse
import re
import textwrap
from importlib import metadata
from pathlib import Path

from humanclap.score.columns import AUDIO_COLUMN, TEXT_COLUMN  # pure Python, as this module
from humanclap.score.prompts import KEY_COLUMNS, TEXT_COLUMNS

__all__ = ["DEVICE_PATTERN", "PRECISIONS", "build_parser", "device_name", "version"]

#: What ``--device`` accepts before torch is loaded: ``auto`` or a torch device type with an
#: optional index (whether this machine has it is checked by
#: :func:`humanclap.runtime.resolve_device`).
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|mps|xpu|hip|meta)(:\d+)?$")
#: ``--precision`` values (:data:`humanclap.runtime.PRECISIONS`, which this module does not
#: import: it loads torch; a test checks they are the same).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_WRAP = {"width": 79, "break_on_hyphens": False}


def version() -> str:
    """humanclap's installed version (its distribution's metadata)."""
    try:
        return metadata.version("humanclap")
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        return "unknown (not installed: pip install -e .)"


def device_name(text: str) -> str:
    """``--device``'s value checked by :data:`DEVICE_PATTERN`."""
    if not DEVICE_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a device: auto, cpu, cuda, cuda:<n>, mps (or xpu, hip, meta)"
        )
    return text


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


def _progress(add) -> None:
    add("--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars and messages (default: when stderr is a terminal)")  # fmt: skip


_SCORE_WHAT = (
    "Score (caption, audio file) pairs with a CLAP model: a CSV with a caption and an audio "
    "column (--pairs), or a FOLDER of clips against a prompts file (--prompts; CSV, TSV or "
    'JSON {"<id>": "<text>"}; a key names a clip by its path below FOLDER, exactly or without '
    "its suffix, as stable-audio-metrics' ids do). Writes the rows with the score column "
    "clapscore_<model> (named after --model, e.g. clapscore_tiny, "
    "clapscore_laion_630k_audioset_best), model, model_fingerprint, error and warning. "
    "Embeddings are cached per batch, so an interrupted run resumes. Exit status: 0 ok, 2 bad "
    "input, 3 some rows failed (NaN + error message, all other rows written), 130 interrupted."
)
_SCORE_EPILOG = (
    "model specs: `humanclap models` lists them (tiny, laion:<name>, hf:<repo id>, files, "
    "folders). Prompts columns, when not named: the key is the first of "
    f"{', '.join(KEY_COLUMNS)}; the text the first of {', '.join(TEXT_COLUMNS)}. --json writes "
    "n, the mean with a 95% bootstrap CI (captions resampled: all clips of a prompt together), "
    "failures by kind, the model's spec and fingerprint, device, precision and package versions "
    "(with several --model, one entry per model under 'models'). --summary: the same per system "
    "(--system-col, --system-by-folder, else one system 'all'), with the median; compare two "
    "systems' files with `humanclap compare`."
)


def _add_score(sub: argparse._SubParsersAction) -> None:
    sc = sub.add_parser(
        "score", help="CLAPScore of (caption, audio) pairs: a CSV, or a folder + prompts file",
        description=textwrap.fill(_SCORE_WHAT, **_WRAP),
        epilog=textwrap.fill(_SCORE_EPILOG, **_WRAP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = sc.add_argument
    add("folder", nargs="?", type=Path, help="folder of clips (with --prompts)")
    add("--model", required=True, action="append",
        help="model spec (see `humanclap models`); give it again for more models, one "
        "clapscore_<model> column each")  # fmt: skip
    add("--out", required=True, type=Path, help="output CSV (atomic; its folder must exist)")
    add("--pairs", type=Path, default=None, help="CSV with a caption and an audio column")
    add("--prompts", type=Path, default=None, help="prompts file of FOLDER's clips")
    add("--prompt-key-col", default=None, help="key column of a CSV/TSV prompts file")
    add("--prompt-text-col", default=None, help="text column of a CSV/TSV prompts file")
    add("--audio-dir", type=Path, default=None,
        help="--pairs: folder the audio paths are relative to (a leading / is stripped, as in "
        "RELATE's wavnames); default: relative paths are relative to the pairs CSV's folder, "
        "absolute paths stay as they are")  # fmt: skip
    add("--text-col", default=TEXT_COLUMN, help="--pairs: caption column (default: %(default)s)")
    add("--audio-col", default=AUDIO_COLUMN, help="--pairs: audio column (default: %(default)s)")
    add("--encoding", default="utf-8", help="text encoding of the CSV (default: %(default)s)")
    add("--device", type=device_name, default="cpu",
        help="cpu, cuda, cuda:<n>, mps, or auto: cuda, else mps, else cpu, said on stderr "
        "(default: %(default)s)",
    )  # fmt: skip
    add("--precision", choices=PRECISIONS, default="auto",
        help="auto (fp32 on CPU; bf16 or fp16 autocast on CUDA), fp32, bf16, fp16 "
        "(default: %(default)s)")  # fmt: skip
    add("--batch-size", type=_positive_int, default=32, help="clips per model call (default: 32)")
    add("--num-workers", type=_non_negative_int, default=2, help="decoding threads (default: 2)")
    add("--cache-dir", default="auto", help="embedding cache folder, 'auto' (the user cache) "
        "or 'none' (default: auto)")  # fmt: skip
    add("--allow-truncated", action="store_true",
        help="score what a truncated audio file holds, flagged 'truncated (header 3.00 s, file "
        "1.80 s)' in the warning column (default: refused, an error in its row)")  # fmt: skip
    add("--json", default=None, metavar="PATH", help="summary as JSON (atomic; - for stdout)")
    add("--n-boot", type=_positive_int, default=1000, help="--json, --summary: bootstrap resamples")
    add("--seed", type=int, default=0, help="--json, --summary: bootstrap seed (recorded)")
    add("--summary", action="store_true",
        help="print each system's n, mean with its 95%% bootstrap CI (prompts resampled) and "
        "median per score column (to stderr with --json -); --json gains them as 'systems'")  # fmt: skip
    add("--system-col", default=None, metavar="COL",
        help="--summary: the --pairs CSV's column naming each row's system")  # fmt: skip
    add("--system-by-folder", action="store_true",
        help="--summary: a row's system is the folder of its audio path (as written; '.' for "
        "a clip directly in FOLDER or --audio-dir)")  # fmt: skip
    _progress(add)
    sc.set_defaults(module="score")


def _add_agree(sub: argparse._SubParsersAction) -> None:
    ag = sub.add_parser(
        "agree",
        help="agreement of a predictions file with RELATE's listeners",
        description=textwrap.fill(
            "Join a CSV of predictions (one per wav, or per wav and text) to the screened pair "
            "means of a RELATE split and write SRCC, LCC, KTAU, MSE and calibrated MSE with "
            "bootstrap intervals, overall and by origin, source, category (and event), beside "
            "each group's noise ceiling; the within- versus between-source decomposition; with "
            "--against, paired differences (Holm across the metrics overall, BH q-values across "
            "groups). Bootstraps resample captions unless --unit pair. Missing and extra pairs "
            "are reported, never dropped silently. Exit status: 0 ok, 2 bad input or nothing "
            "joins.",
            **_WRAP,
        ),  # fmt: skip
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = ag.add_argument
    add("predictions", type=Path, help="CSV of predictions")
    add("--pred-col", default=None,
        help="column of the predictions (default: the file's one clapscore_* column)")  # fmt: skip
    add("--key-col", default="wav_path",
        help="audio column: a path ending with <source>/<split>/<id>.wav (default: wav_path)")  # fmt: skip
    add("--text-col", default=None, help="text column (predictions per pair)")
    add("--drop-missing", action="store_true",
        help="drop rows whose prediction is empty or NaN (e.g. clips `humanclap score` could "
        "not score), counted in the report; default: an error naming the rows")  # fmt: skip
    add("--against", type=Path, default=None, help="a second predictions CSV")
    add("--against-col", default=None, help="its column (default: --pred-col)")
    add("--against-key-col", default=None, help="its audio column (default: --key-col)")
    add("--split", default="test", choices=["train", "validation", "test", "all"],
        help="RELATE split of the pairs (default: test)")  # fmt: skip
    add("--aspect", default="REL", choices=["REL", "IS", "OS"], help="rated aspect")
    add("--n-boot", type=_positive_int, default=1000, help="bootstrap resamples")
    add("--seed", type=int, default=0, help="bootstrap seed")
    add("--unit", default="caption", choices=["caption", "pair"],
        help="bootstrap unit: captions (all pairs of one together) or pairs")  # fmt: skip
    add("--min-pairs", type=_positive_int, default=20, help="smallest group with an estimate")
    add("--relate-dir", default=None, help="RELATE's rating files")
    add("--out", required=True, type=Path, help="output folder")
    ag.set_defaults(module="agree")


_COMPARE_WHAT = (
    "Compare two systems scored on the same prompts: A.csv and B.csv, each a score table (e.g. "
    "`humanclap score`'s output). A prompt with several clips counts once, by the mean of its "
    "clips' scores; prompts are matched by their text. Prints the paired mean difference B - A "
    "with a 95% bootstrap CI (prompts resampled), B's wins, losses and ties, and a two-sided "
    "sign test of wins vs losses (scipy.stats.binomtest; ties excluded). A prompt in only one "
    "file, or a row without a score, is an error naming it unless --drop-missing. Exit status: "
    "0 ok, 2 bad input."
)


def _add_compare(sub: argparse._SubParsersAction) -> None:
    co = sub.add_parser(
        "compare", help="two systems' scores on the same prompts: paired difference, wins, "
        "sign test", description=textwrap.fill(_COMPARE_WHAT, **_WRAP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = co.add_argument
    add("a", type=Path, metavar="A.csv", help="scores of system A")
    add("b", type=Path, metavar="B.csv", help="scores of system B")
    add("--column", default=None,
        help="score column (default: the one clapscore_* column of A.csv)")  # fmt: skip
    add("--column-b", default=None, help="B.csv's score column (default: --column)")
    add("--text-col", default=TEXT_COLUMN, help="prompt column (default: %(default)s)")
    add("--drop-missing", action="store_true",
        help="drop rows without a score and prompts not in both files, counted and listed in "
        "the output; default: an error naming them")  # fmt: skip
    add("--encoding", default="utf-8", help="text encoding of the CSVs (default: %(default)s)")
    add("--json", default=None, metavar="PATH", help="comparison as JSON (atomic; - for stdout)")
    add("--per-prompt", default=None, type=Path, metavar="CSV",
        help="write each paired prompt's scores and difference (atomic)")  # fmt: skip
    add("--n-boot", type=_positive_int, default=1000, help="bootstrap resamples (default: 1000)")
    add("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    co.set_defaults(module="compare")


def _add_models(sub: argparse._SubParsersAction) -> None:
    mo = sub.add_parser(
        "models",
        help="the model specs --model takes, and the released checkpoints",
        description="List the model spec forms of every registered backend, the released "
        "LAION-CLAP and Human-CLAP checkpoints, and the pre-trained models.",
    )
    mo.set_defaults(module="models")


def _add_run_notebooks(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run-notebooks",
        help="run the book's notebooks with papermill",
        description="Run the notebooks listed in the table of contents with papermill.",
    )
    add = run.add_argument
    add("--toc", default="_toc.yml", type=Path, help="table of contents")
    add("--source-dir", default="notebooks", type=Path, help="source notebooks")
    add("--output-dir", default="book/chapters", help="where executed copies go")
    add("--params", default=None, help="YAML file with common and per-notebook values")
    add("--only", nargs="+", metavar="NAME", help="run only these notebook stems")
    add("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="override a parameter in every notebook that declares it (value read as YAML)")  # fmt: skip
    add("--log-output", action="store_true", help="stream cell output")
    run.set_defaults(module="run_notebooks")


def _add_relate(sub: argparse._SubParsersAction) -> None:
    ra = sub.add_parser(
        "relate-audio",
        help="check a copy of RELATE's audio against the ratings",
        description=(
            "Check that every clip rated in RELATE (REL, IS and OS) is present in SOURCE (the "
            "unpacked RELATE_wave folder, any folder above it, or RELATE_wave.zip), decodes, and "
            "is 16 kHz mono. With --download, first fetch RELATE_wave.zip from RELATE's authors "
            "(size checked, sha256 recorded on first use and checked afterwards) and unpack it "
            "into SOURCE, skipping what is already there. Exit status: 0 complete, 1 something "
            "missing or bad, 2 bad input or a failed download."
        ),
    )
    ra.add_argument("source", type=Path, help="folder or zip holding RELATE's audio")
    ra.add_argument("--download", action="store_true",
        help="download and unpack the audio into SOURCE first (humanclap.data.relate_download)")  # fmt: skip
    ra.add_argument("--zip", type=Path, default=None,
        help="--download: where RELATE_wave.zip is kept (default: the cache)")  # fmt: skip
    ra.add_argument(
        "--relate-dir", default=None, help="RELATE's rating files (default: as load_relate finds)"
    )
    ra.add_argument("--num-workers", type=_positive_int, default=4, help="reading threads")
    ra.add_argument("--show", type=_positive_int, default=20, help="missing/bad files listed")
    _progress(ra.add_argument)
    ra.set_defaults(module="relate_audio")
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
    rp.set_defaults(module="relate_plan")


def build_parser() -> argparse.ArgumentParser:
    """The ``humanclap`` command's argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="humanclap", description="humanclap: how far does CLAPScore agree with people?"
    )
    parser.add_argument("--version", action="version", version=f"humanclap {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_score, _add_compare, _add_agree, _add_models, _add_run_notebooks,
                _add_relate):  # fmt: skip
        add(sub)
    return parser
