"""Where RELATE's rating files are: an argument, ``$HUMANCLAP_RELATE_DIR``, the cache, or a
checksummed download into the cache; and the check of their sha256.

Files, at commit ``05935d9`` of ``sarulab-speech/RELATE`` (:data:`RELATE_FILES`)::

    <root>/scores/REL.csv, IS.csv, OS.csv
    <root>/listener_attributes/REL.csv, IS_and_OS.csv
"""

from __future__ import annotations

import os
from pathlib import Path

from humanclap.data.files import RelateDataError, check_aspect
from humanclap.utils import ChecksumError, DownloadError, cache_dir, download, sha256_file

__all__ = [
    "ENV_RELATE_DIR",
    "ENV_RELATE_URL",
    "RELATE_BASE_URL",
    "RELATE_COMMIT",
    "RELATE_FILES",
    "needed_files",
    "relate_cache_dir",
    "resolve_relate_root",
    "resolve_with_origin",
    "verify_files",
]

RELATE_COMMIT = "05935d968f7c4029b8a235b82425c4d2919faf69"
RELATE_BASE_URL = f"https://raw.githubusercontent.com/sarulab-speech/RELATE/{RELATE_COMMIT}"
#: Relative path -> sha256 of the five RELATE files at :data:`RELATE_COMMIT`.
RELATE_FILES: dict[str, str] = {
    "scores/REL.csv": "cea68d02735ac13a5cc3a05fafb4bc07a0342815c6a75fbf64284e39271c5dcd",
    "scores/IS.csv": "ef1e724be33ead60e54c797f9c52805eac7f7870a46760c855634d3a19597be4",
    "scores/OS.csv": "fce6baeb0a52a44e956d07a05114a5ff24d1bc95b6fadb334b639777ca565197",
    "listener_attributes/REL.csv": "6b707d29244ae7ec872dc0e61328719d64bda96b0744043b0089b371619d6f12",
    "listener_attributes/IS_and_OS.csv": "7e0c73614b02c197627c8980b26056e437116e37881b7ca6cc49f8271ea507a0",
}

#: Environment variable naming a folder that holds RELATE's rating files.
ENV_RELATE_DIR = "HUMANCLAP_RELATE_DIR"
#: Environment variable overriding :data:`RELATE_BASE_URL` (e.g. a mirror).
ENV_RELATE_URL = "HUMANCLAP_RELATE_URL"


def relate_cache_dir() -> Path:
    """The cache folder for the downloaded RELATE files: ``<cache>/relate/05935d9``."""
    return cache_dir("relate", RELATE_COMMIT[:7])


def _base_url() -> str:
    return (os.environ.get(ENV_RELATE_URL) or RELATE_BASE_URL).rstrip("/")


def needed_files(aspect: str) -> list[str]:
    """Files :func:`humanclap.data.load_relate` reads for ``aspect`` (IS/OS also need REL for
    their split), relative to the root."""
    check_aspect(aspect)
    return list(dict.fromkeys(["scores/REL.csv", f"scores/{aspect}.csv"]))


def _missing(root: Path, files: list[str]) -> list[str]:
    return [f for f in files if not (root / f).is_file()]


def _placement(root: Path, files: list[str]) -> str:
    base = _base_url()
    return "\n".join(f"  {root / f}   <- {base}/{f}" for f in files)


def _not_found_message(cache: Path, needed: list[str], why: str) -> str:
    return (
        f"RELATE rating files not found. {why}\n"
        f"Either place the files (from sarulab-speech/RELATE, commit {RELATE_COMMIT[:7]}) "
        f"in the cache folder {cache}:\n{_placement(cache, needed)}\n"
        f"or set ${ENV_RELATE_DIR} to a folder holding {', '.join(needed)}."
    )


def _download_all(cache: Path, needed: list[str]) -> None:
    """Fetch the RELATE files missing from ``cache``, each checked against its sha256."""
    try:
        for rel_path in _missing(cache, list(RELATE_FILES)):
            download(f"{_base_url()}/{rel_path}", cache / rel_path, sha256=RELATE_FILES[rel_path])
    except ChecksumError as err:
        raise RelateDataError(f"RELATE download failed its checksum: {err}") from err
    except DownloadError as err:
        raise RelateDataError(
            _not_found_message(cache, needed, f"The download failed: {err}")
        ) from err


def resolve_with_origin(
    root: str | os.PathLike | None, download_missing: bool, aspect: str
) -> tuple[Path, str]:
    """:func:`resolve_relate_root`, also saying where the folder came from.

    Returns
    -------
    (Path, str)
        The folder, and its origin: ``"argument"``, ``"env"``, ``"cache"`` or ``"download"``.
    """
    needed = needed_files(aspect)
    given = [(root, "argument 'root'")] if root is not None else []
    if root is None and os.environ.get(ENV_RELATE_DIR):
        given = [(os.environ[ENV_RELATE_DIR], f"${ENV_RELATE_DIR}")]
    for value, where in given:
        path = Path(value).expanduser()
        missing = _missing(path, needed)
        if missing:
            raise RelateDataError(
                f"RELATE files missing in {path} (from {where}): {', '.join(missing)}. "
                f"Put them there (files of sarulab-speech/RELATE, commit {RELATE_COMMIT[:7]}):\n"
                + _placement(path, missing)
            )
        return path, "argument" if where.startswith("argument") else "env"

    cache = relate_cache_dir()
    if not _missing(cache, needed):
        return cache, "cache"
    if download_missing:
        _download_all(cache, needed)
        return cache, "download"
    raise RelateDataError(_not_found_message(cache, needed, "Downloading was not allowed."))


def resolve_relate_root(
    root: str | os.PathLike | None = None, download: bool = True, aspect: str = "REL"
) -> Path:
    """Find the folder holding the RELATE files, downloading them if needed.

    Order: 1) ``root``; 2) ``$HUMANCLAP_RELATE_DIR``; 3) the cache folder
    :func:`relate_cache_dir` (``$HUMANCLAP_CACHE``, else ``$XDG_CACHE_HOME/humanclap``, else
    ``~/.cache/humanclap``, then ``relate/05935d9``); 4) when ``download``, fetch the five files
    into the cache, each checked against :data:`RELATE_FILES` (base URL overridable with
    ``$HUMANCLAP_RELATE_URL``). A folder is valid when it holds ``scores/REL.csv`` and
    ``scores/<aspect>.csv``.

    Raises
    ------
    RelateDataError
        A given folder lacks files (the message lists which files go where), or nothing is
        found and the download is impossible (offline, ``$HUMANCLAP_OFFLINE``, ``download=False``):
        the message lists the files, the cache folder and ``$HUMANCLAP_RELATE_DIR``.
    """
    return resolve_with_origin(root, download, aspect)[0]


def verify_files(root: Path, files: list[str]) -> None:
    """Check the sha256 of ``files`` (relative to ``root``) against :data:`RELATE_FILES`.

    Files not listed there are not checked.

    Raises
    ------
    RelateDataError
        A digest differs (the message says what to do).
    """
    for rel_path in files:
        expected = RELATE_FILES.get(rel_path)
        if expected is None:
            continue
        got = sha256_file(root / rel_path)
        if got != expected:
            raise RelateDataError(
                f"{root / rel_path}: sha256 {got} differs from the expected {expected} of "
                f"RELATE {rel_path} at commit {RELATE_COMMIT[:7]}. In the download cache, delete "
                "the file to download it again; otherwise pass verify=False to use it as it is."
            )
