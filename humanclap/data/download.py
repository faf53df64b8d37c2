"""Download one file over HTTP(S), atomically and with a checksum.

Generic helper used for the RELATE rating files, the category table and (later) model
checkpoints. Only the standard library (``urllib``) and ``tqdm`` are used.

Guarantees
----------
- Never hangs: connecting, each read and the host-name look-up are bounded by ``timeout``.
- Atomic: the bytes go to a temporary file beside ``dest`` that is moved onto ``dest`` with
  :func:`os.replace` only once complete and verified; on any failure the temporary file is
  removed and ``dest`` is left as it was.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import socket
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm  # text bar: tqdm.auto warns in notebooks without ipywidgets

__all__ = [
    "ChecksumError",
    "DownloadError",
    "download",
    "is_offline",
    "sha256_file",
    "user_cache_dir",
]

_CHUNK_SIZE = 1 << 16
ENV_CACHE = "HUMANCLAP_CACHE"
ENV_OFFLINE = "HUMANCLAP_OFFLINE"


class DownloadError(OSError):
    """A file could not be fetched (network failure, HTTP error, time-out)."""


class ChecksumError(DownloadError):
    """A downloaded file's sha256 differs from the expected one."""


def user_cache_dir() -> Path:
    """Return the folder for downloaded files (not created here).

    ``$HUMANCLAP_CACHE`` if set, else ``$XDG_CACHE_HOME/humanclap``, else ``~/.cache/humanclap``.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "humanclap"


def is_offline() -> bool:
    """True when ``$HUMANCLAP_OFFLINE`` is set to 1/true/yes: :func:`download` then refuses."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex sha256 digest of the file at ``path`` (read in 64 KiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _offline_hint(url: str, dest: Path) -> str:
    return (
        f"If this machine is offline, fetch {url} on a machine that is online and copy it to "
        f"{dest} (or point the corresponding environment variable at a copy)."
    )


def _check_host_resolves(url: str, timeout: float) -> None:
    """Resolve the URL's host name in a helper thread so a dead DNS cannot block for minutes.

    ``urllib``'s ``timeout`` bounds connecting and reading but not ``getaddrinfo``.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return
    try:
        ipaddress.ip_address(host)
        return  # a literal address needs no look-up
    except ValueError:
        pass
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


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    timeout: float = 10.0,
    progress: bool = True,
) -> Path:
    """Stream ``url`` to ``dest`` atomically, optionally checking its sha256.

    Parameters
    ----------
    url : str
        Address of the file (``http``, ``https`` or ``file``).
    dest : path-like
        Where the file ends up. Its folder is created if needed. An existing file there is
        replaced only by a complete, verified download.
    sha256 : str, optional
        Expected hex digest (any case). ``None`` skips the check.
    timeout : float
        Seconds allowed for the host-name look-up, for connecting and for each read.
    progress : bool
        Show a ``tqdm`` progress bar (bytes) on stderr.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DownloadError
        Network failure, HTTP error status or time-out, or ``$HUMANCLAP_OFFLINE`` is set; names
        the URL and what to do offline.
    ChecksumError
        The bytes' sha256 differs from ``sha256``; names the file, expected and got digests.
        Nothing is left at ``dest`` (nor a temporary file).
    """
    dest = Path(dest)
    if is_offline():
        raise DownloadError(
            f"not downloading {url}: {ENV_OFFLINE} is set. {_offline_hint(url, dest)}"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                _check_host_resolves(url, timeout)
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    with tqdm(
                        total=total,
                        unit="B",
                        unit_scale=True,
                        unit_divisor=1024,
                        desc=dest.name,
                        disable=not progress,
                        leave=False,
                    ) as bar:
                        while chunk := response.read(_CHUNK_SIZE):
                            f.write(chunk)
                            digest.update(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                if isinstance(err, OSError) and not isinstance(
                    err, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)
                ):
                    raise  # a local problem (disk full, permissions), not the network
                if isinstance(err, urllib.error.HTTPError):
                    reason: object = f"HTTP {err.code} {err.reason}"
                else:
                    reason = getattr(err, "reason", None) or err
                raise DownloadError(
                    f"could not download {url}: {reason}. {_offline_hint(url, dest)}"
                ) from err
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise ChecksumError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected sha256 "
                f"{sha256.lower()}, got {got}. The file was not saved to {dest}."
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
