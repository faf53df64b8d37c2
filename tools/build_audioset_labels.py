"""Rebuild ``humanclap/data/resources/relate_audioset_labels.csv`` from the pinned sources.

Usage::

    python tools/build_audioset_labels.py                  # rewrite the committed table
    python tools/build_audioset_labels.py --check          # exit 1 when it differs from the join
    python tools/build_audioset_labels.py --sources ../shared/audioset-labels \\
        --relate ../shared/relate

The ids are every ``audiocap_id`` in RELATE's ``scores/REL.csv`` (all rows, screened or not:
1,986). The labels come from :func:`humanclap.data.audioset_labels_from_sources`: AudioCaps v1's
CSVs, AudioSet's class list and its unbalanced-train segments (the full 101 MB file, downloaded
at its pinned commit and checked by sha256, or the RELATE subset in ``--sources``).

Exit status: 0 written (or, with ``--check``, equal); 1 with ``--check`` when the table differs;
2 when a source is missing (the message says which file to put where).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from humanclap.data import RelateDataError
from humanclap.data.audioset_labels import (
    AUDIOSET_LABELS_PATH,
    audioset_labels_from_sources,
    load_audioset_labels,
    write_audioset_labels,
)
from humanclap.data.locate import resolve_relate_root


def relate_audiocap_ids(rel_csv: Path) -> list[int]:
    """Every ``audiocap_id`` of RELATE's REL ratings (the number of each wav file name)."""
    wavnames = pd.read_csv(rel_csv, usecols=["wavname"])["wavname"]
    ids = wavnames.str.extract(r"/(\d+)\.wav$")[0]
    if ids.isna().any():
        bad = wavnames[ids.isna()].iloc[0]
        raise RelateDataError(f"{rel_csv}: wavname {bad!r} does not end in <audiocap_id>.wav")
    return sorted(set(ids.astype(int)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sources", help="folder with the source files ($HUMANCLAP_AUDIOSET_LABELS)"
    )
    parser.add_argument("--relate", help="folder with RELATE's scores/REL.csv (else found)")
    parser.add_argument("--out", default=str(AUDIOSET_LABELS_PATH), help="table to write")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    try:
        rel = resolve_relate_root(args.relate) / "scores" / "REL.csv"
        table = audioset_labels_from_sources(relate_audiocap_ids(rel), folder=args.sources)
    except RelateDataError as err:
        print(err, file=sys.stderr)
        return 2
    if args.check:
        committed = load_audioset_labels(args.out)
        same = committed.reset_index(drop=True).equals(table.reset_index(drop=True))
        print(f"{args.out}: {'equal to' if same else 'DIFFERS from'} the join of the sources")
        return 0 if same else 1
    write_audioset_labels(table, args.out)
    print(f"wrote {args.out}: {len(table):,} audiocap_ids, {table['mids'].map(len).sum():,} labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
