"""RELATE ratings, AudioSet categories, the embedded world, and which of them a chapter uses.

- :mod:`humanclap.data.relate` -- locate, read, validate and screen the RELATE ratings.
- :mod:`humanclap.data.categories` -- AudioSet top-level categories per AudioCaps clip.
- :mod:`humanclap.data.synthetic` -- a synthetic world in RELATE's layout (when present).
- :mod:`humanclap.data.datasets` -- which of them a chapter runs on (``dataset="auto"``).
"""

from humanclap.data.categories import CATEGORY_NAMES, load_categories
from humanclap.data.datasets import Dataset, resolve_dataset
from humanclap.data.relate import (
    ASPECTS,
    SOURCES,
    SPLITS,
    RelateDataError,
    explode_categories,
    load_relate,
    pair_table,
    resolve_relate_root,
    screening_summary,
)
from humanclap.utils import ChecksumError, DownloadError, download, sha256_file

__all__ = [
    "ASPECTS",
    "CATEGORY_NAMES",
    "SOURCES",
    "SPLITS",
    "ChecksumError",
    "Dataset",
    "DownloadError",
    "RelateDataError",
    "download",
    "explode_categories",
    "load_categories",
    "load_relate",
    "pair_table",
    "resolve_dataset",
    "resolve_relate_root",
    "screening_summary",
    "sha256_file",
]
