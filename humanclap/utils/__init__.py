"""Layer 1, the utilities: what every other layer may use and nothing here imports from above.

- :mod:`humanclap.utils.cache` -- where humanclap keeps downloaded and computed files.
- :mod:`humanclap.utils.offline` -- the one place that decides whether the network may be used.
- :mod:`humanclap.utils.atomic` -- atomic writes: bytes, text, CSV, torch objects and folders.
- :mod:`humanclap.utils.hashing` -- sha256 of bytes and files, stable hashes of JSON-able objects.
- :mod:`humanclap.utils.download` -- checksummed, time-limited downloads (pooch).
- :mod:`humanclap.utils.pinned` -- public files at a pinned commit: found locally or downloaded.
- :mod:`humanclap.utils.progress` -- what ``progress=`` means everywhere, and the bar it shows.
- :mod:`humanclap.utils.versions` -- installed package versions, as results record them.
- :mod:`humanclap.utils.jsonfile` -- a small JSON object file (settings, lock files), read.
"""

from humanclap.utils.atomic import (
    atomic_folder,
    atomic_path,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_csv,
    atomic_write_text,
)
from humanclap.utils.cache import ENV_CACHE, cache_dir, user_cache_dir
from humanclap.utils.download import ChecksumError, DownloadError, download
from humanclap.utils.hashing import sha256_bytes, sha256_file, stable_hash
from humanclap.utils.jsonfile import read_json_object
from humanclap.utils.offline import ENV_OFFLINE, HUB_OFFLINE_VARS, is_offline, offline_reason
from humanclap.utils.pinned import PinnedFile
from humanclap.utils.progress import progress_bar, want_progress
from humanclap.utils.versions import package_versions

__all__ = [
    "ENV_CACHE",
    "ENV_OFFLINE",
    "HUB_OFFLINE_VARS",
    "ChecksumError",
    "DownloadError",
    "PinnedFile",
    "atomic_folder",
    "atomic_path",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_csv",
    "atomic_write_text",
    "cache_dir",
    "download",
    "is_offline",
    "offline_reason",
    "package_versions",
    "progress_bar",
    "read_json_object",
    "sha256_bytes",
    "sha256_file",
    "stable_hash",
    "user_cache_dir",
    "want_progress",
]
