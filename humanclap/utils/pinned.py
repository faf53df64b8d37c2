"""Public data files at a pinned commit with a known sha256: found locally, or downloaded.

RELATE's category table, the AudioSet ontology and the XACLE baseline's predictions are each one
:class:`PinnedFile`. :meth:`PinnedFile.find` looks, in order, at an explicit path, an
environment variable naming a local copy, humanclap's cache, and finally downloads the file at
its pinned commit into the cache, checked by sha256 (:func:`humanclap.utils.download`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from humanclap.utils.cache import cache_dir
from humanclap.utils.download import ChecksumError, DownloadError, download

__all__ = ["PinnedFile"]


@dataclass(frozen=True)
class PinnedFile:
    """One public file at a pinned commit.

    Attributes
    ----------
    what : str
        What it is, for messages ("AudioSet ontology").
    filename : str
    url : str
        Its address at the pinned commit.
    sha256 : str
    cache : tuple of str
        Folders below the cache root (:func:`humanclap.utils.cache_dir`).
    env : str
        Environment variable naming a local copy.
    url_env : str, optional
        Environment variable overriding ``url`` (for mirrors and tests).
    """

    what: str
    filename: str
    url: str
    sha256: str
    cache: tuple[str, ...]
    env: str
    url_env: str | None = None

    def cache_path(self) -> Path:
        """Where a downloaded copy is kept."""
        return cache_dir(*self.cache, self.filename)

    def find(
        self,
        path: str | os.PathLike | None = None,
        download_missing: bool = True,
        error: type[Exception] = FileNotFoundError,
    ) -> Path | None:
        """The file: ``path``, else ``$env``, else the cache, else a checked download.

        Returns
        -------
        Path or None
            None when it is nowhere and cannot be downloaded (offline, network failure, or
            ``download_missing=False``).

        Raises
        ------
        error
            ``path`` or ``$env`` names a file that does not exist, or the download fails its
            checksum (nothing is saved).
        """
        if path is not None:
            found = Path(path).expanduser()
            if not found.is_file():
                raise error(f"{self.what} not found: {found} (argument 'path')")
            return found
        env = os.environ.get(self.env)
        if env:
            found = Path(env).expanduser()
            if not found.is_file():
                raise error(
                    f"{self.what} not found: {found} (from ${self.env}); unset the variable or "
                    f"point it at {self.filename}"
                )
            return found
        cached = self.cache_path()
        if cached.is_file():
            return cached
        if not download_missing:
            return None
        url = (os.environ.get(self.url_env) if self.url_env else None) or self.url
        try:
            return download(url, cached, sha256=self.sha256)
        except ChecksumError as err:
            raise error(str(err)) from err
        except DownloadError:
            return None

    def not_found_message(self) -> str:
        """What to put where, when the file is nowhere and cannot be downloaded."""
        return (
            f"{self.what} not found. Download\n  {self.url}\n(sha256 {self.sha256}) and either "
            f"save it as {self.cache_path()} or set ${self.env} to its path."
        )
