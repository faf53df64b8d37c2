"""AudioSet's human labels for RELATE's AudioCaps clips: the sound-event ground truth.

Every RELATE natural clip is an AudioCaps clip (``audiocaps/<split>/<audiocap_id>.wav``), every
AudioCaps clip is a 10-second AudioSet segment, and AudioSet's annotators labelled each segment
with classes of its ontology (weak labels: present somewhere in the 10 s, not complete). The
join: ``audiocap_id`` -> AudioCaps v1 row (``youtube_id``, ``start_time``) -> the AudioSet
segment with ``YTID == youtube_id`` and ``round(start_seconds) == start_time``.

Two ways to get the labels:

- :func:`load_audioset_labels` reads the small table committed with the package
  (``resources/relate_audioset_labels.csv``: RELATE's 1,986 audiocap_ids, CC BY 4.0 Google's
  AudioSet labels and AudioCaps' ids, attributions in its header and in
  ``resources/relate_audioset_labels.NOTICE.md``). No download, works offline.
- :func:`audioset_labels_from_sources` computes the same join from the pinned sources
  (:data:`SOURCES`), found in a folder (argument or ``$HUMANCLAP_AUDIOSET_LABELS``, e.g.
  ``../shared/audioset-labels``), humanclap's cache, or downloaded at their pinned commits and
  checked by sha256. ``tools/build_audioset_labels.py`` rebuilds the committed table with it.

The committed table exists because AudioSet's unbalanced-train file is 101 MB and RELATE needs
1,628 of its 2,041,789 rows: a user should not download it to read 1,986 rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from humanclap.data.files import RelateDataError
from humanclap.utils import PinnedFile, atomic_write_text

__all__ = [
    "AUDIOCAPS_COMMIT",
    "AUDIOSET_LABELS_PATH",
    "CLASS_LIST",
    "ENV_AUDIOSET_LABELS",
    "LABEL_COLUMNS",
    "SEGMENTS",
    "SOURCES",
    "SUBSET_FILENAME",
    "audioset_labels_from_sources",
    "load_audioset_labels",
    "write_audioset_labels",
]

#: Environment variable naming a folder with the source files (e.g. ``../shared/audioset-labels``).
ENV_AUDIOSET_LABELS = "HUMANCLAP_AUDIOSET_LABELS"
#: The committed table :func:`load_audioset_labels` reads by default.
AUDIOSET_LABELS_PATH = Path(__file__).with_name("resources") / "relate_audioset_labels.csv"
#: Columns of a labels table; ``mids`` and ``names`` are tuples (in the segment file's order),
#: ``caption`` the AudioCaps v1 caption (RELATE's ``text``), which joins check besides the id.
LABEL_COLUMNS: tuple[str, ...] = (
    "audiocap_id", "youtube_id", "start_time", "mids", "names", "caption"
)  # fmt: skip

AUDIOCAPS_COMMIT = "80fb3ade6d400d4311354a360db25da051a48cc1"
_CLASSES_COMMIT = "d2f4b8c18eab44737fcc0de1248ae21eb43f6aa4"
_SEGMENTS_COMMIT = "a55b0b6ef8b3fe84e642a9e166f62c8fff2f0f2c"
_AUDIOCAPS_SHA256 = {
    "train": "c0c5223db682b3bf724ce7e7ce58d5b36929f74572e8526a7211f92d2eef7c8e",
    "val": "dab1c96641d5f3053ddb99dca3949450da9a75737bda53e11cc0aa8b102be0c3",
    "test": "b91c4b7ded2f4f6e7db5b9c4983dc1e1dca3d556f505b61e3fd65cac7e1c638a",
}
#: The rows of the unbalanced-train file whose YTID is one of RELATE's clips (with its 3 header
#: lines); a folder may hold it instead of the full file (``../shared/audioset-labels`` does).
SUBSET_FILENAME = "unbalanced_train_segments.relate_subset.csv"


def _pinned(what: str, filename: str, url: str, sha256: str, folder: str) -> PinnedFile:
    env = "HUMANCLAP_" + re.sub(r"\W", "_", filename.removesuffix(".csv")).upper()
    return PinnedFile(what, filename, url, sha256, ("audioset-labels", folder), env)


#: AudioCaps v1's three CSVs (``audiocap_id, youtube_id, start_time, caption``; MIT).
AUDIOCAPS: dict[str, PinnedFile] = {
    split: _pinned(
        f"AudioCaps v1 {split}.csv",
        f"audiocaps_{split}.csv",
        f"https://raw.githubusercontent.com/cdjkim/audiocaps/{AUDIOCAPS_COMMIT}/dataset/{split}.csv",
        sha,
        AUDIOCAPS_COMMIT[:7],
    )
    for split, sha in _AUDIOCAPS_SHA256.items()
}
#: AudioSet's 527 classes (``index, mid, display_name``; CC BY 4.0 Google).
CLASS_LIST = _pinned(
    "AudioSet class list (class_labels_indices.csv)",
    "class_labels_indices.csv",
    "https://raw.githubusercontent.com/qiuqiangkong/audioset_tagging_cnn/"
    f"{_CLASSES_COMMIT}/metadata/class_labels_indices.csv",
    "cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429",
    _CLASSES_COMMIT[:7],
)
#: AudioSet's unbalanced-train segments (101 MB; CC BY 4.0 Google): all of RELATE's clips.
SEGMENTS = _pinned(
    "AudioSet unbalanced_train_segments.csv (101 MB)",
    "unbalanced_train_segments.csv",
    "https://raw.githubusercontent.com/leanderme/as_dl/"
    f"{_SEGMENTS_COMMIT}/metadata/unbalanced_train_segments.csv",
    "bb2dfd5e4f1ced39db9480633c510f813d7899f4b7472aa83a411b4a43a12698",
    _SEGMENTS_COMMIT[:7],
)
#: Every source of the join.
SOURCES: tuple[PinnedFile, ...] = (*AUDIOCAPS.values(), CLASS_LIST, SEGMENTS)

_HEADER = f"""\
# AudioSet's human labels of the AudioCaps clips of RELATE (one row per audiocap_id).
# Built by tools/build_audioset_labels.py from pinned sources; do not edit by hand.
# AudioSet labels and class names: (c) Google LLC, CC BY 4.0
#   (https://research.google.com/audioset/, unbalanced_train_segments.csv, leanderme/as_dl
#   @{_SEGMENTS_COMMIT}; class_labels_indices.csv, qiuqiangkong/audioset_tagging_cnn
#   @{_CLASSES_COMMIT}).
# AudioCaps ids: cdjkim/audiocaps @{AUDIOCAPS_COMMIT}, MIT licence, (c) 2019 AudioCaps authors.
# mids and names are "|"-joined, in the order of the segment file.
"""


def _source_path(source: PinnedFile, folder: Path | None, download: bool) -> Path | None:
    """``source`` in ``folder`` (when given and present), else found as :meth:`PinnedFile.find`."""
    if folder is not None and (folder / source.filename).is_file():
        return folder / source.filename
    return source.find(None, download_missing=download, error=RelateDataError)


def _not_found(missing: list[PinnedFile], folder: Path | None) -> RelateDataError:
    where = f"the folder {folder}" if folder else f"a folder named by ${ENV_AUDIOSET_LABELS}"
    lines = [
        f"AudioSet labels: {len(missing)} source file(s) not found (offline, or nothing cached). "
        f"Put each in {where} under the name given, or in humanclap's cache at the path given:"
    ]
    for source in missing:
        lines.append(f"- {source.filename}: {source.url} (sha256 {source.sha256})")
        lines.append(f"    cache: {source.cache_path()}")
    if SEGMENTS in missing:
        lines.append(
            f"  Instead of {SEGMENTS.filename} the folder may hold {SUBSET_FILENAME}: its 3 "
            "header lines and the rows of RELATE's clips."
        )
    lines.append(
        "load_audioset_labels() needs none of them: it reads the table committed with humanclap."
    )
    return RelateDataError("\n".join(lines))


def _read_audiocaps(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"youtube_id": str})
    missing = {"audiocap_id", "youtube_id", "start_time", "caption"} - set(table.columns)
    if missing:
        raise RelateDataError(f"{path}: missing column(s) {sorted(missing)}")
    return table[["audiocap_id", "youtube_id", "start_time", "caption"]]


def _read_segments(path: Path, youtube_ids: set[str]) -> pd.DataFrame:
    """The segment rows of ``youtube_ids`` (``YTID, start_seconds, end_seconds, labels``)."""
    chunks = pd.read_csv(
        path, skiprows=3, header=None, names=["YTID", "start_seconds", "end_seconds", "labels"],
        skipinitialspace=True, quotechar='"', dtype={"YTID": str, "labels": str},
        chunksize=500_000,
    )  # fmt: skip
    rows = pd.concat([c[c["YTID"].isin(youtube_ids)] for c in chunks], ignore_index=True)
    rows.attrs["path"] = str(path)
    return rows


def _join_one(audiocap_id: int, clip: pd.Series, segments: pd.DataFrame, names: dict) -> tuple:
    hit = segments[
        (segments["YTID"] == clip["youtube_id"])
        & (segments["start_seconds"].round().astype(int) == int(clip["start_time"]))
    ]
    if len(hit) != 1:
        raise RelateDataError(
            f"audiocap_id {audiocap_id}: {len(hit)} AudioSet segment(s) with YTID "
            f"{clip['youtube_id']!r} and start {clip['start_time']} s in "
            f"{segments.attrs['path']} (expected exactly 1)"
        )
    mids = tuple(m.strip() for m in hit["labels"].iloc[0].split(","))
    unknown = [m for m in mids if m not in names]
    if unknown:
        raise RelateDataError(f"audiocap_id {audiocap_id}: unknown AudioSet class(es) {unknown}")
    return (audiocap_id, clip["youtube_id"], int(clip["start_time"]), mids,
            tuple(names[m] for m in mids), clip["caption"])  # fmt: skip


def audioset_labels_from_sources(
    audiocap_ids: Iterable[int],
    folder: str | os.PathLike | None = None,
    download: bool = True,
) -> pd.DataFrame:
    """Join AudioCaps ids to AudioSet's labels from the pinned source files.

    Parameters
    ----------
    audiocap_ids : iterable of int
        The AudioCaps ids to label (RELATE's: the numbers of its wav file names).
    folder : path-like, optional
        A folder holding the sources under their names (:data:`SOURCES`; the unbalanced file or
        :data:`SUBSET_FILENAME`); default ``$HUMANCLAP_AUDIOSET_LABELS``. A file missing there is
        looked for in the cache, then downloaded (sha256-checked) unless ``download=False`` or
        offline.
    download : bool
        Allow downloads into the cache.

    Returns
    -------
    pandas.DataFrame
        One row per distinct id (sorted), shape ``(n_ids, 6)``: :data:`LABEL_COLUMNS`.

    Raises
    ------
    RelateDataError
        A source is nowhere (the message lists each file, its URL, sha256 and where to put it),
        an id is not in AudioCaps, or a clip has no single AudioSet segment.
    """
    folder = folder if folder is not None else os.environ.get(ENV_AUDIOSET_LABELS) or None
    folder = Path(folder).expanduser() if folder is not None else None
    if folder is not None and not folder.is_dir():
        raise RelateDataError(f"AudioSet labels: {folder} is not a folder (argument or "
                              f"${ENV_AUDIOSET_LABELS})")  # fmt: skip
    subset = folder / SUBSET_FILENAME if folder is not None else None
    paths = {s: _source_path(s, folder, download) for s in (*AUDIOCAPS.values(), CLASS_LIST)}
    if subset is not None and subset.is_file() and not (folder / SEGMENTS.filename).is_file():
        paths[SEGMENTS] = subset
    else:
        paths[SEGMENTS] = _source_path(SEGMENTS, folder, download)
    missing = [s for s, p in paths.items() if p is None]
    if missing:
        raise _not_found(missing, folder)
    clips = pd.concat([_read_audiocaps(paths[s]) for s in AUDIOCAPS.values()])
    clips = clips.drop_duplicates().set_index("audiocap_id")
    ids = sorted({int(i) for i in audiocap_ids})
    unknown = [i for i in ids if i not in clips.index]
    if unknown:
        raise RelateDataError(
            f"{len(unknown)} audiocap_id(s) not in AudioCaps v1, e.g. {unknown[:5]}"
        )
    classes = pd.read_csv(paths[CLASS_LIST])
    names = dict(zip(classes["mid"], classes["display_name"], strict=True))
    seg = _read_segments(paths[SEGMENTS], set(clips.loc[ids, "youtube_id"]))
    rows = [_join_one(i, clips.loc[i], seg, names) for i in ids]
    table = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    table.attrs["sources"] = {s.filename: str(p) for s, p in paths.items()}
    return table


def write_audioset_labels(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a labels table (:data:`LABEL_COLUMNS`) as the committed CSV: attribution header,
    ``mids`` and ``names`` ``"|"``-joined. Written atomically; returns the path."""
    flat = table[list(LABEL_COLUMNS)].assign(
        mids=table["mids"].map("|".join), names=table["names"].map("|".join)
    )
    atomic_write_text(Path(path), _HEADER + flat.to_csv(index=False, lineterminator="\n"))
    return Path(path)


def _row_error(path: Path, i: int, skip: int, column: str, value: object, why: str):
    return RelateDataError(
        f"{path}: data row {i + 1} (line {i + skip + 2}), column {column!r}: {why}; value {value!r}"
    )


def _split(path: Path, frame: pd.DataFrame, column: str, skip: int) -> list[tuple[str, ...]]:
    out = []
    for i, value in enumerate(frame[column]):
        parts = tuple(value.split("|")) if isinstance(value, str) else ()
        if not parts or "" in parts:
            raise _row_error(path, i, skip, column, value, "empty label")
        out.append(parts)
    return out


def _header_lines(path: Path) -> int:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f):
            if not line.startswith("#"):
                return n
    return 0


def load_audioset_labels(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """AudioSet's labels of RELATE's AudioCaps clips, one row per ``audiocap_id``.

    Parameters
    ----------
    path : path-like, optional
        A table written by :func:`write_audioset_labels`; default the one committed with
        humanclap (:data:`AUDIOSET_LABELS_PATH`: RELATE's 1,986 ids).

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_ids, 6)``: ``audiocap_id`` (int64), ``youtube_id``, ``start_time`` (int64,
        seconds), ``mids`` (tuple of AudioSet class ids, e.g. ``("/m/09x0r", "/m/0ytgt")``),
        ``names`` (tuple of their display names), ``caption`` (AudioCaps v1's, equal to
        RELATE's ``text``). ``df.attrs["path"]``: the file read.

    Raises
    ------
    RelateDataError
        The file is missing or malformed (a missing column, a duplicated id, an empty label, a
        class id that is not an AudioSet id, as many names as ids), naming file, row and column.
    """
    path = Path(path).expanduser() if path is not None else AUDIOSET_LABELS_PATH
    if not path.is_file():
        raise RelateDataError(f"AudioSet labels table not found: {path}")
    skip = _header_lines(path)
    raw = pd.read_csv(path, skiprows=skip, dtype={"youtube_id": str})
    missing = [c for c in LABEL_COLUMNS if c not in raw.columns]
    if missing:
        raise RelateDataError(f"{path}: missing column(s) {missing}; has {list(raw.columns)}")
    dup = raw["audiocap_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise _row_error(path, i, skip, "audiocap_id", raw["audiocap_id"].iloc[i], "duplicate")
    mids, names = _split(path, raw, "mids", skip), _split(path, raw, "names", skip)
    for i, (m, n) in enumerate(zip(mids, names, strict=True)):
        bad = [x for x in m if not re.fullmatch(r"/[mtg]/\w+", x)]
        if bad or len(m) != len(n):
            why = f"not an AudioSet class id: {bad}" if bad else "as many names as mids needed"
            raise _row_error(path, i, skip, "mids", "|".join(m), why)
    table = raw[list(LABEL_COLUMNS)].assign(mids=mids, names=names)
    table = table.astype({"audiocap_id": "int64", "start_time": "int64"})
    table.attrs["path"] = str(path)
    return table
