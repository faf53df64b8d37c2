"""Deprecated: the downloads, cache folder and offline switch moved to :mod:`humanclap.utils`."""

from humanclap.utils.cache import ENV_CACHE, user_cache_dir
from humanclap.utils.deprecation import warn_moved_module
from humanclap.utils.download import ChecksumError, DownloadError, download
from humanclap.utils.hashing import sha256_file
from humanclap.utils.offline import ENV_OFFLINE, is_offline

__all__ = [
    "ENV_CACHE",
    "ENV_OFFLINE",
    "ChecksumError",
    "DownloadError",
    "download",
    "is_offline",
    "sha256_file",
    "user_cache_dir",
]

warn_moved_module("humanclap.data.download", "humanclap.utils")
