"""RELATE's audio from its authors: ``RELATE_wave.zip`` downloaded, checked and unpacked.

RELATE's README links the audio as one zip, :data:`RELATE_AUDIO_URL` (about 1.7 GB). Its authors
publish no checksum, so the first download's sha256 and size are recorded (trust on first use)
in a lock file in the cache, :func:`lock_path`, and every later download, or a zip found at the
same place, must match them. A digest known in advance replaces the record:
``$HUMANCLAP_RELATE_AUDIO_SHA256`` (and ``$HUMANCLAP_RELATE_AUDIO_SIZE``), or the constants
:data:`RELATE_AUDIO_SHA256` and :data:`RELATE_AUDIO_SIZE` once someone has recorded them.
``$HUMANCLAP_RELATE_AUDIO_URL`` names a mirror.

Sizes are checked twice: before the download, the server's ``Content-Length`` against the known
size (a changed file is refused before 1.7 GB are fetched) and against the free disk space; after
it, the file against both. The transfer itself is :func:`humanclap.utils.download` (pooch: time
limits on the host look-up, connecting and every read, sha256 check, atomic move into place).
Offline (``$HUMANCLAP_OFFLINE``) nothing is fetched: the error says where to put the zip.

:func:`unpack_relate_zip` extracts the zip into a new folder atomically (a marker file records
which zip it came from) and :func:`download_relate_audio` does both, skipping whatever is already
done: an unpacked folder is not unpacked again, a checked zip not downloaded again (an
interrupted download starts over: pooch cannot resume one). ``humanclap relate-audio DEST
--download`` runs it and then checks every rated clip (:mod:`humanclap.data.relate_audio`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from humanclap.data.relate_audio import find_audio_root, zip_audio_prefix
from humanclap.utils import (
    ENV_OFFLINE,
    ChecksumError,
    DownloadError,
    atomic_folder,
    atomic_write_text,
    cache_dir,
    download,
    is_offline,
    progress_bar,
    read_json_object,
    sha256_file,
)
from humanclap.utils.download import check_host_resolves

__all__ = [
    "ENV_AUDIO_SHA256",
    "ENV_AUDIO_SIZE",
    "ENV_AUDIO_URL",
    "RELATE_AUDIO_SHA256",
    "RELATE_AUDIO_SIZE",
    "RELATE_AUDIO_URL",
    "UNPACKED_MARKER",
    "Expected",
    "SizeMismatchError",
    "default_zip_path",
    "download_relate_audio",
    "expected_zip",
    "fetch_relate_zip",
    "lock_path",
    "unpack_relate_zip",
]

#: The zip RELATE's README links ("Download wave files").
RELATE_AUDIO_URL = "https://sarulab.sakura.ne.jp/kanamori/RELATE_open_dataset/RELATE_wave.zip"
#: sha256 and size in bytes of RELATE_wave.zip: none is published. Set them here from a lock
#: file's record (:func:`lock_path`) once a download has recorded them.
RELATE_AUDIO_SHA256: str | None = None
RELATE_AUDIO_SIZE: int | None = None
#: Environment variables: a mirror's URL, and a sha256 / size to require.
ENV_AUDIO_URL = "HUMANCLAP_RELATE_AUDIO_URL"
ENV_AUDIO_SHA256 = "HUMANCLAP_RELATE_AUDIO_SHA256"
ENV_AUDIO_SIZE = "HUMANCLAP_RELATE_AUDIO_SIZE"
#: The file, in an unpacked folder, naming the zip it was unpacked from.
UNPACKED_MARKER = ".humanclap-unpacked.json"
_ZIP_NAME = "RELATE_wave.zip"
#: Free space kept beyond a file's size when checking the disk (bytes).
_DISK_MARGIN = 64 << 20

_log = logging.getLogger(__name__)


class SizeMismatchError(ChecksumError):
    """A file's size differs from the expected one (a download is then not kept)."""


@dataclass(frozen=True)
class Expected:
    """What the zip must be: its sha256 and size when known, and where they come from."""

    sha256: str | None
    size: int | None
    source: str


def _audio_url(url: str | None) -> str:
    return url or os.environ.get(ENV_AUDIO_URL) or RELATE_AUDIO_URL


def default_zip_path() -> Path:
    """Where the zip is kept: ``<cache>/relate/RELATE_wave.zip``."""
    return cache_dir("relate", _ZIP_NAME)


def lock_path() -> Path:
    """The lock file of the zip's digests recorded on first use: ``<cache>/relate/audio-lock.json``
    (``{url: {"sha256", "size", "recorded"}}``)."""
    return cache_dir("relate", "audio-lock.json")


def _read_lock() -> dict[str, Any]:
    return read_json_object(lock_path(), "RELATE audio lock file", "delete it to record anew")


def _record(url: str, sha256: str, size: int) -> None:
    lock = _read_lock()
    lock[url] = {"sha256": sha256, "size": size, "recorded": time.strftime("%Y-%m-%d %H:%M:%S")}
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(lock, indent=1, sort_keys=True) + "\n")
    _log.warning(
        "humanclap: no sha256 of %s is published; recorded sha256 %s and size %d on first use in "
        "%s (later downloads must match; export %s=%s to require it elsewhere)",
        url,
        sha256,
        size,
        path,
        ENV_AUDIO_SHA256,
        sha256,
    )


def expected_zip(url: str | None = None) -> Expected:
    """The sha256 and size the zip at ``url`` must have: the environment's, else the constants',
    else the lock file's record (all None before the first download).

    Raises
    ------
    ValueError
        ``$HUMANCLAP_RELATE_AUDIO_SHA256`` is not 64 hex digits, ``$HUMANCLAP_RELATE_AUDIO_SIZE``
        not a byte count, or the lock file is not readable.
    """
    url = _audio_url(url)
    sha, size = os.environ.get(ENV_AUDIO_SHA256), os.environ.get(ENV_AUDIO_SIZE)
    if sha or size:
        if sha and (len(sha) != 64 or any(c not in "0123456789abcdefABCDEF" for c in sha)):
            raise ValueError(f"${ENV_AUDIO_SHA256}={sha!r} is not a sha256 (64 hex digits)")
        if size and not size.isdigit():
            raise ValueError(f"${ENV_AUDIO_SIZE}={size!r} is not a size in bytes")
        names = [f"${n}" for n, v in ((ENV_AUDIO_SHA256, sha), (ENV_AUDIO_SIZE, size)) if v]
        return Expected(sha.lower() if sha else None, int(size) if size else None, ", ".join(names))
    if RELATE_AUDIO_SHA256 and url == RELATE_AUDIO_URL:
        return Expected(RELATE_AUDIO_SHA256, RELATE_AUDIO_SIZE, f"{__name__}.RELATE_AUDIO_SHA256")
    recorded = _read_lock().get(url)
    if recorded:
        when = recorded.get("recorded", "?")
        return Expected(recorded.get("sha256"), recorded.get("size"), f"{lock_path()} ({when})")
    return Expected(None, None, "")


def _mismatch(
    where: object, what: str, got: object, want: object, source: str, then: str = ""
) -> ChecksumError:
    """The error for a size or sha256 that differs from the expected one."""
    kind = SizeMismatchError if what.startswith("size") else ChecksumError
    return kind(
        f"{where}: {what} {got}, expected {want} ({source}). {then}If RELATE's authors have "
        f"changed the zip, delete its entry in {lock_path()} to record the new one."
    )


def _check_existing(path: Path, url: str, expected: Expected) -> None:
    """Check a zip already at ``path`` (size first: cheap), or record it if nothing is known."""
    size, then = path.stat().st_size, "Delete the file to download it again. "
    if expected.size is not None and size != expected.size:
        got, want = f"{size:,} bytes", f"{expected.size:,}"
        raise _mismatch(path, "size", got, want, expected.source, then)
    sha = sha256_file(path)
    if expected.sha256 is None:
        _record(url, sha, size)
    elif sha != expected.sha256:
        raise _mismatch(path, "sha256", sha, expected.sha256, expected.source, then)


def _remote_size(url: str, timeout: float, hint: str) -> int | None:
    """The server's ``Content-Length`` for ``url`` (a HEAD request); None when it gives none or
    refuses HEAD (the download then reports any HTTP error itself).

    Raises
    ------
    DownloadError
        The host cannot be looked up or reached within ``timeout``.
    """
    try:
        check_host_resolves(url, timeout)
        response = requests.head(url, timeout=timeout, allow_redirects=True)
    except (requests.RequestException, OSError) as err:
        raise DownloadError(f"could not reach {url}: {err}. {hint}") from err
    length = response.headers.get("Content-Length")
    return int(length) if response.ok and length and length.isdigit() else None


def _check_disk(folder: Path, needed: int, what: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + _DISK_MARGIN:
        raise OSError(
            f"{folder}: {free / 1e9:.2f} GB free, {what} needs {needed / 1e9:.2f} GB; free some "
            "space or choose another folder"
        )


def _where_to_put(url: str, zip_path: Path, dest: Path | None) -> str:
    unpacked = f", or unpack it into {dest}" if dest is not None else ""
    return (
        f"Download {url} on a machine that is online and put it at {zip_path}{unpacked}, then "
        "run this again."
    )


def fetch_relate_zip(
    zip_path: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    timeout: float = 30.0,
    progress: bool | None = None,
    dest: str | os.PathLike | None = None,
) -> Path:
    """RELATE_wave.zip at ``zip_path``, downloaded unless a checked copy is already there.

    Parameters
    ----------
    zip_path : path-like, optional
        Where the zip goes (default :func:`default_zip_path`).
    url : str, optional
        Default ``$HUMANCLAP_RELATE_AUDIO_URL``, else :data:`RELATE_AUDIO_URL`.
    timeout : float
        Seconds allowed for the host look-up, connecting and each read.
    progress : bool or None
        A byte progress bar (None: when stderr is a terminal).
    dest : path-like, optional
        Only named in the offline error, as the other place the audio may be put.

    Returns
    -------
    Path
        The zip, whose sha256 and size match :func:`expected_zip` (or were just recorded).

    Raises
    ------
    DownloadError
        Offline, network failure, HTTP error or time-out (the message says what to put where).
    SizeMismatchError, ChecksumError
        The server's or the file's size, or the file's sha256, differs from what is expected
        (a download is then not kept; a file that was already there is left for you to delete).
    OSError
        Not enough free disk space for the download.
    """
    url = _audio_url(url)
    zip_path = Path(zip_path or default_zip_path()).expanduser()
    expected = expected_zip(url)
    if zip_path.is_file():
        _check_existing(zip_path, url, expected)
        return zip_path
    hint = _where_to_put(url, zip_path, None if dest is None else Path(dest))
    if is_offline():
        raise DownloadError(f"not downloading RELATE's audio: ${ENV_OFFLINE} is set. {hint}")
    remote = _remote_size(url, timeout, hint)
    if remote is not None and expected.size is not None and remote != expected.size:
        raise _mismatch(
            url, "size on the server", f"{remote:,} bytes", expected.size, expected.source
        )
    _check_disk(zip_path.parent, remote or expected.size or 0, f"the download of {url}")
    download(url, zip_path, sha256=expected.sha256, timeout=timeout, progress=progress)
    size = zip_path.stat().st_size
    for want, source in ((remote, "the server's Content-Length"), (expected.size, expected.source)):
        if want is not None and size != want:
            zip_path.unlink()
            got, then = f"{size:,} bytes", "The download was not kept. "
            raise _mismatch(url, "size downloaded", got, f"{want:,}", source, then)
    if expected.sha256 is None:
        _record(url, sha256_file(zip_path), size)
    return zip_path


def unpack_relate_zip(
    zip_path: str | os.PathLike, dest: str | os.PathLike, *, progress: bool | None = None
) -> Path:
    """Extract RELATE_wave.zip into the new folder ``dest``, atomically.

    Python's ``zipfile`` is used rather than ``pooch.Unzip``: pooch extracts in place, so an
    interrupted extraction would leave a partial folder that it later takes as complete; here the
    members go to a temporary folder that becomes ``dest`` only when all are written, with a
    marker file (:data:`UNPACKED_MARKER`) naming the zip. ``zipfile`` strips absolute paths and
    ``..`` from member names.

    Returns
    -------
    Path
        The audio root inside ``dest`` (:func:`humanclap.data.relate_audio.find_audio_root`).

    Raises
    ------
    ValueError
        The zip holds no ``<source>/<split>/<id>.wav`` member of RELATE's layout.
    FileExistsError
        ``dest`` exists, is not empty and holds no RELATE audio.
    OSError
        Not enough free disk space for the extracted files.
    """
    zip_path, dest = Path(zip_path), Path(dest).expanduser()
    if dest.is_dir() and (root := find_audio_root(dest)) is not None:
        return root  # unpacked before (by this function or by hand): relate-audio checks it
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: exists and holds no RELATE audio; choose a new folder")
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.infolist()
        if zip_audio_prefix([m.filename for m in members]) is None:
            raise ValueError(f"{zip_path}: no <source>/<split>/<id>.wav inside; not RELATE's audio")
        _check_disk(dest.parent, sum(m.file_size for m in members), f"unpacking {zip_path.name}")
        with atomic_folder(dest, overwrite=dest.exists()) as tmp:
            bar = progress_bar(members, progress=progress, desc=f"unpacking {zip_path.name}")
            for member in bar:
                archive.extract(member, tmp)
            about = {"zip": str(zip_path), "size": zip_path.stat().st_size, "members": len(members)}
            atomic_write_text(tmp / UNPACKED_MARKER, json.dumps(about, indent=1) + "\n")
    root = find_audio_root(dest)
    if root is None:  # the layout check above makes this unreachable short of a race
        raise ValueError(f"{dest}: unpacked {zip_path}, but found no RELATE source folder")
    return root


def download_relate_audio(
    dest: str | os.PathLike,
    zip_path: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    timeout: float = 30.0,
    progress: bool | None = None,
) -> Path:
    """RELATE's audio unpacked into ``dest``: downloaded and unpacked, or what is already done.

    An unpacked folder (``dest`` holding RELATE's source folders) is used as it is, with no
    network; else the zip is fetched (:func:`fetch_relate_zip`: a checked zip at ``zip_path`` is
    not downloaded again) and unpacked (:func:`unpack_relate_zip`). The zip is kept, so that a
    later run can unpack it again; delete it to save 1.7 GB.

    Returns
    -------
    Path
        The audio root: pass it to ``humanclap relate-audio`` or ``$HUMANCLAP_RELATE_AUDIO``.
    """
    dest = Path(dest).expanduser()
    if dest.is_dir() and (root := find_audio_root(dest)) is not None:
        how = "unpacked by humanclap" if (dest / UNPACKED_MARKER).is_file() else "found"
        _log.info("RELATE audio already in %s (%s)", root, how)
        return root
    zip_file = fetch_relate_zip(zip_path, url=url, timeout=timeout, progress=progress, dest=dest)
    return unpack_relate_zip(zip_file, dest, progress=progress)
