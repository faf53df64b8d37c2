"""AudioSet top-level categories of the AudioCaps clips in RELATE.

The table comes from the first XACLE challenge baseline (``tempo_notempo_2_2024-12-11.csv``,
2,000 AudioCaps clips, a superset of RELATE's 1,986 ``audiocap_id`` values). Its column
``caption_label`` lists one or more top-level AudioSet ontology ids, comma-separated; they map
to the seven names in :data:`CATEGORY_NAMES`.

Where the table is looked for (first hit wins), see :func:`find_categories`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from humanclap.data.files import RelateDataError, read_csv_checked, row_error
from humanclap.utils import PinnedFile

__all__ = [
    "CATEGORIES",
    "CATEGORIES_SHA256",
    "CATEGORIES_URL",
    "CATEGORY_IDS",
    "CATEGORY_NAMES",
    "ROOT_CATEGORIES_FILENAME",
    "categories_cache_path",
    "find_categories",
    "load_categories",
]

#: AudioSet top-level ontology id -> name, in the order used for :data:`CATEGORY_NAMES`.
CATEGORY_IDS: dict[str, str] = {
    "/m/0dgw9r": "Human sounds",
    "/m/0jbk": "Animal",
    "/m/04rlf": "Music",
    "/m/059j3w": "Natural sounds",
    "/t/dd00041": "Sounds of things",
    "/t/dd00098": "Source-ambiguous sounds",
    "/t/dd00123": "Channel, environment and background",
}
#: The seven top-level AudioSet category names.
CATEGORY_NAMES: list[str] = list(CATEGORY_IDS.values())

CATEGORIES_COMMIT = "e85c4f1acc651801f75fced104f8dbb7da88e86f"
CATEGORIES_FILENAME = "tempo_notempo_2_2024-12-11.csv"
CATEGORIES_URL = (
    "https://raw.githubusercontent.com/XACLE-Challenge/the_first_XACLE_challenge_baseline_model/"
    f"{CATEGORIES_COMMIT}/datasets/data/data_list_for_roberta/{CATEGORIES_FILENAME}"
)
CATEGORIES_SHA256 = "e68f90dff2f48ce1f349de706a9a6c6ef724cbea7864af143a13716f32634397"
#: File name a RELATE-layout root (e.g. a synthetic world) may hold its own table under.
ROOT_CATEGORIES_FILENAME = "audiocaps_categories.csv"

ENV_CATEGORIES = "HUMANCLAP_CATEGORIES"
ENV_CATEGORIES_URL = "HUMANCLAP_CATEGORIES_URL"
_REQUIRED_COLUMNS = ("audiocaps_id", "caption", "caption_label")


#: The category table as a pinned public file.
CATEGORIES = PinnedFile(
    "AudioSet category table",
    CATEGORIES_FILENAME,
    CATEGORIES_URL,
    CATEGORIES_SHA256,
    ("audiocaps-categories", CATEGORIES_COMMIT[:7]),
    ENV_CATEGORIES,
    ENV_CATEGORIES_URL,
)


def categories_cache_path() -> Path:
    """Where a downloaded category table is kept: ``<cache>/audiocaps-categories/e85c4f1/...``."""
    return CATEGORIES.cache_path()


def find_categories(
    path: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    download_missing: bool = True,
) -> Path | None:
    """Locate the category table; return ``None`` when it is nowhere to be found.

    Order: 1) ``path``; 2) ``<root>/audiocaps_categories.csv`` when ``root`` is given and that
    file exists; 3) ``$HUMANCLAP_CATEGORIES``; 4) :func:`categories_cache_path`; 5) when
    ``download_missing``, a download into the cache (sha256-checked; URL overridable with
    ``$HUMANCLAP_CATEGORIES_URL``): :meth:`humanclap.utils.PinnedFile.find`.

    Raises
    ------
    RelateDataError
        ``path`` or ``$HUMANCLAP_CATEGORIES`` names a file that does not exist, or the
        downloaded file fails its checksum.
    """
    if path is None and root is not None:
        candidate = Path(root).expanduser() / ROOT_CATEGORIES_FILENAME
        if candidate.is_file():
            return candidate
    return CATEGORIES.find(path, download_missing, error=RelateDataError)


def _not_found_message() -> str:
    return (
        f"{CATEGORIES.not_found_message()} A RELATE-layout root may also hold it as "
        f"{ROOT_CATEGORIES_FILENAME}."
    )


def _parse_categories(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [c for c in _REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise RelateDataError(
            f"{path}: missing column(s) {missing}; found columns {list(raw.columns)}; "
            f"required {list(_REQUIRED_COLUMNS)}"
        )
    ids = raw["audiocaps_id"].str.strip()
    bad = ~ids.str.fullmatch(r"\d+")
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise row_error(path, i, "audiocaps_id", raw["audiocaps_id"].iloc[i], "not an integer id")
    audiocap_id = ids.astype("int64")
    dup = audiocap_id.duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        first = int((audiocap_id == audiocap_id.iloc[i]).to_numpy().nonzero()[0][0])
        raise row_error(
            path,
            i,
            "audiocaps_id",
            raw["audiocaps_id"].iloc[i],
            f"duplicate of data row {first + 1}",
        )
    names = []
    for i, label in enumerate(raw["caption_label"]):
        parts = [p.strip() for p in label.split(",")]
        if not label.strip() or "" in parts:
            raise row_error(path, i, "caption_label", label, "empty category id")
        for part in parts:
            if part not in CATEGORY_IDS:
                raise row_error(
                    path,
                    i,
                    "caption_label",
                    part,
                    f"unknown AudioSet top-level id (known: {list(CATEGORY_IDS)})",
                )
        names.append("|".join(CATEGORY_IDS[p] for p in parts))
    return pd.DataFrame(
        {
            "audiocap_id": audiocap_id.to_numpy(),
            "caption": raw["caption"].to_numpy(),
            "category_ids": raw["caption_label"].to_numpy(),
            "categories": names,
        }
    )


def load_categories(
    path: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    required: bool = True,
    download: bool = True,
) -> pd.DataFrame | None:
    """Read the AudioSet top-level categories of each AudioCaps clip.

    Parameters
    ----------
    path : path-like, optional
        The table (XACLE ``tempo_notempo_2_2024-12-11.csv`` layout: at least the columns
        ``audiocaps_id``, ``caption``, ``caption_label``).
    root : path-like, optional
        A RELATE-layout root; its ``audiocaps_categories.csv`` is used when present.
    required : bool
        When ``False`` and the table is nowhere (see :func:`find_categories`), return ``None``
        instead of raising.
    download : bool
        Allow a download into the cache when nothing is found locally.

    Returns
    -------
    pandas.DataFrame or None
        One row per clip, shape ``(num_clips, 4)``: ``audiocap_id`` (int64), ``caption``,
        ``category_ids`` (the raw comma-separated ids), ``categories`` (names joined by ``"|"``
        in the order listed in the file). ``df.attrs["path"]`` holds the file read.

    Raises
    ------
    RelateDataError
        Not found (when ``required``), unreadable, a missing column, a non-integer or
        duplicated id, or an unknown category id (naming file, row and value).
    """
    found = find_categories(path=path, root=root, download_missing=download)
    if found is None:
        if required:
            raise RelateDataError(_not_found_message())
        return None
    table = _parse_categories(read_csv_checked(found), found)
    table.attrs["path"] = str(found)
    return table
