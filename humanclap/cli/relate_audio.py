"""``humanclap relate-audio``: a copy of RELATE's audio checked against every rated clip
(:mod:`humanclap.data.relate_audio`), first downloaded and unpacked with ``--download``
(:mod:`humanclap.data.relate_download`)."""

from __future__ import annotations

import argparse
import sys

from humanclap.data import DownloadError, RelateDataError
from humanclap.data.relate_audio import check_relate_audio
from humanclap.data.relate_download import download_relate_audio

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Exit status 0 complete, 1 something missing or bad, 2 bad input or a failed download."""
    if args.download:
        try:
            root = download_relate_audio(args.source, args.zip, progress=args.progress)
        except (DownloadError, OSError, ValueError) as err:  # ChecksumError is a DownloadError
            print(f"humanclap relate-audio: {err}", file=sys.stderr)
            return 2
        print(f"RELATE audio in {root}")
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
        "authors; --download fetches it) so that each wavname of scores/*.csv exists below one "
        "folder, and set $HUMANCLAP_RELATE_AUDIO to it.",
        file=sys.stderr,
    )
    return 1
