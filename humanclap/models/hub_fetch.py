"""Files of Hugging Face Hub repositories at pinned commits, verified: :func:`hub_files` (named
files) and :func:`hub_snapshot` (the files matching patterns, as one folder).

huggingface_hub does the work: ``hf_hub_download`` / ``snapshot_download`` into the shared
Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``; read at each call), resumable downloads, ``$HF_ENDPOINT`` (a
mirror; read at each call), the token (``$HF_TOKEN`` or ``hf auth login``), and offline mode.
Offline -- ``$HUMANCLAP_OFFLINE``, ``$HF_HUB_OFFLINE`` or ``$TRANSFORMERS_OFFLINE`` (see
:func:`humanclap.utils.is_offline`) -- means ``local_files_only=True``: no request is made.
Time-outs: ``$HF_HUB_ETAG_TIMEOUT`` (default 10 s here) for each metadata request,
``$HF_HUB_DOWNLOAD_TIMEOUT`` (huggingface_hub's, read when it is imported; default 10 s) for
each read of a download.

What is humanclap's own, and why
--------------------------------
- **The commit**: each repository is fetched at the commit of its pin
  (:func:`humanclap.models.hub_pins.pin_for`), or, without one, at the commit resolved on first
  use and recorded in the lock file (trust on first use, see :mod:`humanclap.models.hub_pins`).
- **The digests**: every file is checked against the sha256 and size its pin lists, or recorded
  in the lock file at its first download. huggingface_hub 0.x does not check downloads at all
  and 1.x+ only some, so the check does not depend on its version. A file that does not match
  is removed from the cache (so that it is not used again) and refused with
  :class:`HubIntegrityError`, naming the file, the repository and both digests. A file already
  checked is not hashed again while its size and modification time are unchanged.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from humanclap.models.hub_pins import (
    HubIntegrityError,
    HubPin,
    is_commit,
    pin_for,
    read_lock,
    record_revision,
    verify_file,
)
from humanclap.utils import is_offline, offline_reason, want_progress

__all__ = [
    "DEFAULT_ETAG_TIMEOUT",
    "HubFileNotFoundError",
    "HubIntegrityError",
    "etag_timeout",
    "hf_hub_cache_dir",
    "hub_endpoint",
    "hub_files",
    "hub_snapshot",
]

#: Seconds allowed for each metadata request when ``$HF_HUB_ETAG_TIMEOUT`` is unset.
DEFAULT_ETAG_TIMEOUT = 10.0

_log = logging.getLogger(__name__)


class HubFileNotFoundError(FileNotFoundError):
    """A Hub file is not in the local cache and cannot be downloaded (offline, or it failed)."""


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def hub_endpoint() -> str:
    """The Hub's address: ``$HF_ENDPOINT`` at call time, else huggingface_hub's default."""
    if os.environ.get("HF_ENDPOINT"):
        return os.environ["HF_ENDPOINT"].rstrip("/")
    from huggingface_hub import constants  # lazy: huggingface_hub is slow to import

    return str(constants.ENDPOINT).rstrip("/")


def etag_timeout() -> float:
    """``$HF_HUB_ETAG_TIMEOUT`` in seconds, else :data:`DEFAULT_ETAG_TIMEOUT`."""
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_ETAG_TIMEOUT)
    except ValueError:
        return DEFAULT_ETAG_TIMEOUT


def _network_errors() -> tuple[type[BaseException], ...]:
    """What huggingface_hub lets through when the Hub fails: its HTTP errors, OSError (requests'
    errors in hub 0.x), and the HTTP client's own (httpx in hub 1.x+, whichever is loaded)."""
    from huggingface_hub.errors import (  # lazy: huggingface_hub is slow to import
        EntryNotFoundError,
        HfHubHTTPError,
    )

    errors: list[type[BaseException]] = [OSError, HfHubHTTPError, EntryNotFoundError]
    for name in ("httpx2", "httpx"):
        module = sys.modules.get(name)
        if module is not None and isinstance(getattr(module, "HTTPError", None), type):
            errors.append(module.HTTPError)
    return tuple(errors)


def _failed(repo_id: str, what: str, revision: str | None, err: BaseException) -> Exception:
    """The error for a request that failed: not found, or the endpoint unreachable."""
    from huggingface_hub.errors import (  # lazy: huggingface_hub is slow to import
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f"{repo_id}@{revision or 'main'}"
    if isinstance(err, RepositoryNotFoundError):
        why = f"no such (public) repository {repo_id} at {hub_endpoint()}"
    elif isinstance(err, RevisionNotFoundError):
        why = f"no revision {revision!r} of {repo_id} at {hub_endpoint()}"
    else:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        why = f"could not download it from {hub_endpoint()} ({detail})"
    return HubFileNotFoundError(
        f"{at}: {what} is not in the Hugging Face cache {hf_hub_cache_dir()}, and {why}"
    )


def _not_cached(repo_id: str, what: str, revision: str | None) -> HubFileNotFoundError:
    return HubFileNotFoundError(
        f"{repo_id}@{revision or 'main'}: {what} is not in the Hugging Face cache "
        f"{hf_hub_cache_dir()}, and not downloading: offline ({offline_reason(hub=True)})"
    )


def _remote_commit(repo_id: str, revision: str, what: str | None = None) -> str:
    """The commit that ``revision`` (a branch or tag) of ``repo_id`` points to on the Hub
    (``what``: what is being fetched, for the error message)."""
    from huggingface_hub import HfApi  # lazy: huggingface_hub is slow to import

    try:
        info = HfApi(endpoint=hub_endpoint()).model_info(
            repo_id, revision=revision, timeout=etag_timeout()
        )
    except _network_errors() as err:
        raise _failed(repo_id, what or f"the commit of {revision!r}", revision, err) from None
    if not is_commit(getattr(info, "sha", None)):
        raise HubFileNotFoundError(f"{repo_id}@{revision}: the Hub named no commit for it")
    return str(info.sha)


def _resolve(pin: HubPin, revision: str | None, lock: dict[str, Any]) -> str | None:
    """The commit to fetch (None: offline, unpinned, not locked: the cache's ``main``)."""
    if revision is not None:
        return (
            revision
            if is_commit(revision) or is_offline(hub=True)
            else _remote_commit(pin.repo_id, revision)
        )
    if pin.revision:
        return pin.revision
    if lock["revisions"].get(pin.repo_id):
        return str(lock["revisions"][pin.repo_id])
    if is_offline(hub=True):
        return None
    commit = _remote_commit(pin.repo_id, "main")
    record_revision(pin.repo_id, commit, lock)
    return commit


def _commit_of(path: Path) -> str | None:
    """The commit of a file in the HF cache (``.../snapshots/<commit>/<file>``)."""
    parts = path.parts
    if "snapshots" in parts[:-1]:
        commit = parts[parts.index("snapshots") + 1]
        return commit if is_commit(commit) else None
    return None


@contextlib.contextmanager
def _bars(progress: bool | None) -> Iterator[None]:
    """huggingface_hub's progress bars on or off (``progress``, see
    :func:`humanclap.utils.want_progress`) for the block, then as they were."""
    from huggingface_hub.utils import (  # lazy: huggingface_hub is slow to import
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    before = are_progress_bars_disabled()
    (enable_progress_bars if want_progress(progress) else disable_progress_bars)()
    try:
        yield
    finally:
        (disable_progress_bars if before else enable_progress_bars)()


def _probe(repo_id: str, commit: str | None, what: str) -> None:
    """One metadata request, with the short ``$HF_HUB_ETAG_TIMEOUT``, before a download.

    huggingface_hub 1.x+ retries a Hub that does not answer (five times, 60 s each) before it
    gives up, so a dead endpoint would hang for minutes; asking once first fails within
    seconds, naming the endpoint (HubFileNotFoundError)."""
    _remote_commit(repo_id, commit or "main", what)


def _hub_call(
    download: Callable[[], str], repo_id: str, what: str, commit: str | None, local_only: bool
) -> Path | None:
    """Run ``download`` (an ``hf_hub_download`` or ``snapshot_download`` call) and return its
    path; None when ``local_only`` and it is not cached; a failure as :func:`_failed` says it."""
    from huggingface_hub.errors import (  # lazy: huggingface_hub is slow to import
        LocalEntryNotFoundError,
    )

    try:
        return Path(download())
    except LocalEntryNotFoundError as err:
        if local_only:
            return None
        raise _failed(repo_id, what, commit, err.__cause__ or err) from None
    except _network_errors() as err:
        raise _failed(repo_id, what, commit, err) from None


def _fetch_file(repo_id: str, name: str, commit: str | None, local_only: bool) -> Path | None:
    """``hf_hub_download`` of one file; None when ``local_only`` and it is not cached."""
    from huggingface_hub import hf_hub_download  # lazy: huggingface_hub is slow to import

    def download() -> str:
        return hf_hub_download(
            repo_id,
            name,
            revision=commit,
            cache_dir=hf_hub_cache_dir(),
            endpoint=hub_endpoint(),
            etag_timeout=etag_timeout(),
            local_files_only=local_only,
        )

    return _hub_call(download, repo_id, name, commit, local_only)


def _fetch_snapshot(
    repo_id: str, patterns: list[str], commit: str | None, local_only: bool
) -> Path | None:
    """``snapshot_download`` of ``patterns``; None when ``local_only`` and it is not cached."""
    from huggingface_hub import snapshot_download  # lazy: huggingface_hub is slow to import

    def download() -> str:
        return snapshot_download(
            repo_id,
            revision=commit,
            cache_dir=hf_hub_cache_dir(),
            allow_patterns=patterns,
            endpoint=hub_endpoint(),
            etag_timeout=etag_timeout(),
            local_files_only=local_only,
        )

    what = f"the files {', '.join(patterns)}"
    return _hub_call(download, repo_id, what, commit, local_only)


def _settle_commit(
    repo_id: str, commit: str | None, revision: str | None, path: Path, lock: dict[str, Any]
) -> str:
    """The commit of what was found (recorded in the lock when it was resolved just now from the
    cache's ``main``, offline and unpinned)."""
    if commit is not None and is_commit(commit):
        return commit
    found = _commit_of(path)
    if found is None:
        raise HubFileNotFoundError(f"{repo_id}: {path} is not in a snapshot folder of the cache")
    if revision is None:
        record_revision(repo_id, found, lock)
    return found


def hub_files(
    repo_id: str,
    names: list[str] | tuple[str, ...],
    *,
    revision: str | None = None,
    progress: bool | None = False,
) -> dict[str, Path]:
    """Local paths of ``names`` in ``repo_id``, from the HF cache or downloaded, verified.

    Each file is looked for in the cache first (no request); only a missing one is downloaded,
    after one short metadata request (see :func:`_probe`).

    Parameters
    ----------
    repo_id : str
        ``"owner/name"``.
    names : sequence of str
        Paths of files in the repository.
    revision : str, optional
        A branch, tag or commit instead of the pinned (or locked) commit.
    progress : bool or None
        huggingface_hub's download bars (None: when stderr is a terminal).

    Returns
    -------
    dict
        ``name -> Path`` in the HF cache's ``snapshots/<commit>/`` folder.

    Raises
    ------
    HubFileNotFoundError
        Not cached and offline (at once), or the download failed (names the endpoint).
    HubIntegrityError
        A file differs from its pinned or recorded digest (it is removed from the cache).
    """
    pin, lock = pin_for(repo_id), read_lock()
    commit = _resolve(pin, revision, lock)
    offline = is_offline(hub=True)
    paths: dict[str, Path] = {}
    probed = False
    for name in names:
        path = _fetch_file(repo_id, name, commit, local_only=True)
        if path is None and offline:
            raise _not_cached(repo_id, name, commit)
        if path is None:
            if not probed:
                _probe(repo_id, commit, name)
                probed = True
            with _bars(progress):
                path = _fetch_file(repo_id, name, commit, local_only=False)
        assert path is not None  # for type checkers: local_only=False returns or raises
        commit = _settle_commit(repo_id, commit, revision, path, lock)
        verify_file(pin, commit, name, path, lock)
        paths[name] = path
    return paths


def hub_snapshot(
    repo_id: str,
    patterns: list[str],
    *,
    revision: str | None = None,
    progress: bool | None = None,
) -> Path:
    """The HF cache's snapshot folder of ``repo_id`` with the files matching ``patterns``
    (``fnmatch`` patterns as in ``snapshot_download(allow_patterns=...)``), every one verified.

    Offline, the cached snapshot of the commit (possibly without some files: the caller checks
    for what it needs). Online, one short metadata request (see :func:`_probe`), then
    ``snapshot_download`` (cached files are not fetched again); when the Hub does not answer,
    the cached snapshot of a pinned or locked commit, if any.

    Raises
    ------
    HubFileNotFoundError
        Not cached and offline, or the download failed (names the repository and endpoint).
    HubIntegrityError
        A file differs from its pinned or recorded digest (it is removed from the cache).
    """
    pin, lock = pin_for(repo_id), read_lock()
    commit = _resolve(pin, revision, lock)
    folder: Path | None = None
    if is_offline(hub=True):
        folder = _fetch_snapshot(repo_id, patterns, commit, local_only=True)
        if folder is None:
            raise _not_cached(repo_id, f"the files {', '.join(patterns)}", commit)
    else:
        try:
            _probe(repo_id, commit, f"the files {', '.join(patterns)}")
        except HubFileNotFoundError:
            folder = _fetch_snapshot(repo_id, patterns, commit, local_only=True)
            if folder is None or not is_commit(commit):
                raise
            _log.warning("humanclap: %s unreachable; using the cached %s", hub_endpoint(), folder)
        else:
            with _bars(progress):
                folder = _fetch_snapshot(repo_id, patterns, commit, local_only=False)
    assert folder is not None  # for type checkers: every branch above sets it or raises
    commit = _settle_commit(repo_id, commit, revision, folder / "_", lock)
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and any(fnmatch.fnmatch(name, p) for p in patterns):
            verify_file(pin, commit, name, path, lock)
    return folder
