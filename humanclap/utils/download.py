"""Download one file over HTTP(S), checksummed and time-limited, with pooch.

:func:`download` is how humanclap fetches RELATE's rating files, the category table and other
public files at pinned addresses (what is on the Hugging Face Hub goes through huggingface_hub
instead: :mod:`humanclap.models.hub_fetch`). The transfer, the sha256 check and the atomic move into place are
pooch's (``pooch.retrieve`` with ``pooch.HTTPDownloader``): the bytes go to a temporary file
beside the target, which replaces the target only once complete and verified; on any failure
the temporary file is removed and an existing target is left as it was.

Never hangs: ``timeout`` bounds connecting and every read (``requests``), and the host-name
look-up, which ``requests`` does not bound, is done first in a helper thread with the same
limit (:func:`check_host_resolves`). Offline (``$HUMANCLAP_OFFLINE``) it refuses at once and
says what to put where.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path

import requests
from tqdm import tqdm  # text bar: pooch's default (tqdm.auto) warns in notebooks

with warnings.catch_warnings():  # pooch imports tqdm.auto, which warns in notebooks without
    warnings.simplefilter("ignore")  # ipywidgets (TqdmWarning); humanclap uses its own bar
    import pooch

from humanclap.utils.atomic import atomic_path
from humanclap.utils.offline import ENV_OFFLINE, is_offline
from humanclap.utils.progress import want_progress

__all__ = ["ChecksumError", "DownloadError", "check_host_resolves", "download"]

_CHUNK_SIZE = 1 << 16


class DownloadError(OSError):
    """A file could not be fetched (network failure, HTTP error, time-out, offline)."""


class ChecksumError(DownloadError):
    """A downloaded file's sha256 differs from the expected one (nothing was saved)."""


def _offline_hint(url: str, dest: Path) -> str:
    return (
        f"If this machine is offline, fetch {url} on a machine that is online and copy it to "
        f"{dest} (or point the corresponding environment variable at a copy)."
    )


def check_host_resolves(url: str, timeout: float) -> None:
    """Resolve the URL's host name within ``timeout`` seconds, in a helper thread.

    ``requests`` bounds connecting and reading but not ``getaddrinfo``, which a dead DNS can
    block for minutes; pooch has no option for it, so this is humanclap's own code.

    Raises
    ------
    TimeoutError
        The look-up took longer than ``timeout``.
    OSError
        The look-up failed (``socket.gaierror``).
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return  # a literal address needs no look-up
    outcome: dict[str, BaseException | None] = {}

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
            outcome["error"] = None
        except OSError as err:
            outcome["error"] = err

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    if "error" not in outcome:
        raise TimeoutError(f"looking up host {host!r} took more than {timeout} s")
    if outcome["error"] is not None:
        raise outcome["error"]


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch logs every download at INFO on stderr; humanclap shows a bar instead."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Bar(tqdm):
    """A text bar for pooch, which tests a bar's truth before it sets the bar's total."""

    def __bool__(self) -> bool:
        return True


def _reason(err: BaseException) -> str:
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    return str(getattr(err, "reason", None) or err)


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 10.0,
    progress: bool | None = None,
) -> Path:
    """Fetch ``url`` into ``dest`` atomically, checking its sha256.

    Parameters
    ----------
    url : str
        Address of the file (``http`` or ``https``).
    dest : path-like
        Where the file ends up; its folder is created if needed. An existing file is replaced
        only by a complete, verified download.
    sha256 : str, optional
        Expected hex digest (any case). ``None`` skips the check.
    timeout : float
        Seconds allowed for the host-name look-up, for connecting and for each read.
    progress : bool or None
        A byte progress bar on stderr (None: when stderr is a terminal).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        Network failure, HTTP error status, time-out, or ``$HUMANCLAP_OFFLINE`` is set; names
        the URL and what to do offline.
    ChecksumError
        The bytes' sha256 differs from ``sha256``; names the file and both digests. Nothing
        is left at ``dest`` (nor a temporary file).
    """
    dest = Path(dest)
    if is_offline():
        raise DownloadError(
            f"not downloading {url}: {ENV_OFFLINE} is set. {_offline_hint(url, dest)}"
        )
    known = f"sha256:{sha256.lower()}" if sha256 else None
    progress = want_progress(progress)
    bar = _Bar(
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=dest.name,
        leave=False,
        disable=not progress,
    )
    downloader = pooch.HTTPDownloader(
        progressbar=bar if progress else False, chunk_size=_CHUNK_SIZE, timeout=timeout
    )
    try:
        check_host_resolves(url, timeout)
        # pooch downloads into a temporary file, checks it and moves it to `tmp`; atomic_path
        # then moves `tmp` onto dest, so a download always happens and dest is never partial.
        with _quiet_pooch(), atomic_path(dest) as tmp:
            pooch.retrieve(url, known, fname=tmp.name, path=tmp.parent, downloader=downloader)
    except (requests.RequestException, TimeoutError, ConnectionError, socket.gaierror) as err:
        raise DownloadError(
            f"could not download {url}: {_reason(err)}. {_offline_hint(url, dest)}"
        ) from err
    except ValueError as err:  # pooch's hash mismatch (after requests' ValueErrors above)
        raise ChecksumError(
            f"checksum mismatch for {dest.name} downloaded from {url}: {err} The file was not "
            f"saved to {dest}."
        ) from None
    finally:
        bar.close()
    return dest
