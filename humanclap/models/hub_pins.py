"""The one table of Hugging Face Hub repositories humanclap downloads from, pinned, and the lock
file of what was pinned on first use.

:data:`PINS` holds, per repository: the commit (40 hex digits) to fetch, and for the files whose
digests public sources record, their sha256 and size. Every value was found in a public source,
named in the entry's ``source``; none was computed here (this machine has no access to the Hub).

Trust on first use
------------------
Where no public source records the commit (``revision=None``), the first online use resolves the
repository's ``main`` to a commit, and every file humanclap fetches from it, at its first
download, has its sha256 and size written to the lock file :func:`lock_path`
(``<user_cache_dir()>/hub/lock.json``), with a message saying so. Every later use fetches that
commit and checks each file against the lock: a file that changed is refused. The same holds for
files of a pinned commit whose digests the table does not list. Delete the lock file (or its
entry) to pin anew.

Replacing pins
--------------
``$HUMANCLAP_HUB_PINS`` names a JSON file whose entries replace the table's for the
repositories it names (e.g. a mirror's own commits, or the test suite's loopback Hub)::

    {"owner/name": {"revision": "<40 hex>" or null,
                    "files": {"path": {"sha256": "<64 hex>", "size": 123}},
                    "source": "where these values come from"}}
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from humanclap.utils import atomic_write_text, cache_dir, read_json_object, sha256_file

__all__ = [
    "ENV_HUB_PINS",
    "HUMAN_CLAP_REPOS",
    "PINS",
    "HubFile",
    "HubIntegrityError",
    "HubPin",
    "is_commit",
    "lock_path",
    "pin_for",
    "read_lock",
    "record_revision",
    "verify_file",
    "write_lock",
]

#: Environment variable naming a JSON file of pins that replace :data:`PINS`' entries.
ENV_HUB_PINS = "HUMANCLAP_HUB_PINS"

_log = logging.getLogger(__name__)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HubFile:
    """What a file of a pinned commit must be: its sha256 (hex) and size in bytes, when known."""

    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class HubPin:
    """A repository at a commit (``None``: trust on first use) and the files' known digests."""

    repo_id: str
    revision: str | None
    files: Mapping[str, HubFile] = field(default_factory=dict)
    source: str = ""


def is_commit(text: str | None) -> bool:
    """Whether ``text`` is a full commit hash (40 lower-case hex digits)."""
    return bool(text) and bool(_COMMIT.match(text or ""))


_ROBERTA_SOURCE = (
    "FacebookAI/roberta-base@e2da8e2f811d1448a5b465c236feacd80ffbac7b, with these sha256 of "
    "vocab.json and merges.txt, is pinned by a public Julia artifact builder (roberta_base_bpe) "
    "found by exact-string code search; the same commit is the `main` of many public HF-cache "
    "listings (`hf scan-cache` output, models--roberta-base/snapshots/e2da8e2f...)"
)
_LAION_SOURCE = (
    "lukewys/laion_clap@b3708341862f581175dba5c356a4ebf74a9b6651: the snapshot folder of public "
    "HF-cache paths to 630k-audioset-best.pt and music_audioset_epoch_15_esc_90.14.pt; the "
    "sha256 (and size 2,352,471,003) of music_audioset_epoch_15_esc_90.14.pt and the sha256 of "
    "music_speech_audioset_epoch_15_esc_89.98.pt are pinned by public projects found by "
    "exact-string code search (an embedding adapter's checkpoint table, an installer script)"
)
_FUSED_SOURCE = (
    "laion/clap-htsat-fused@365dea6ef167def6676140ed93bbc43f84dabb28 with these sha256 of "
    "config.json, preprocessor_config.json and model.safetensors: a public model manifest and "
    "its alignment notes (`Pinned Identity` table), found by exact-string code search"
)
_UNFUSED_SOURCE = (
    "laion/clap-htsat-unfused@8fa0f1c6d0433df6e97c127f64b2a1d6c0dcda8a with these sizes and "
    "sha256: a public project's third-party notice table ('File | Bytes | SHA-256') and several "
    "projects pinning that revision, found by exact-string code search"
)
_HUMAN_CLAP_SOURCE = (
    "no public source records a commit of this repository: trust on first use (lock file)"
)

#: The Human-CLAP study's released checkpoints (see :mod:`humanclap.models.hf`).
HUMAN_CLAP_REPOS = tuple(
    f"sarulab-speech/human-clap-{name}"
    for name in ("mse", "wsce", "wsce-mae", "wsce-mse", "mse-mae", "wsce-mse-mae")
)

#: The pinned repositories: revision and, where a public source records them, file digests.
PINS: dict[str, HubPin] = {
    "FacebookAI/roberta-base": HubPin(
        "FacebookAI/roberta-base",
        "e2da8e2f811d1448a5b465c236feacd80ffbac7b",
        {
            "vocab.json": HubFile(
                "9e7f63c2d15d666b52e21d250d2e513b87c9b713cfa6987a82ed89e5e6e50655"
            ),
            "merges.txt": HubFile(
                "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
            ),
        },
        _ROBERTA_SOURCE,
    ),
    "lukewys/laion_clap": HubPin(
        "lukewys/laion_clap",
        "b3708341862f581175dba5c356a4ebf74a9b6651",
        {
            "music_audioset_epoch_15_esc_90.14.pt": HubFile(
                "fae3e9c087f2909c28a09dc31c8dfcdacbc42ba44c70e972b58c1bd1caf6dedd", 2_352_471_003
            ),
            "music_speech_audioset_epoch_15_esc_89.98.pt": HubFile(
                "51c68f12f9d7ea25fdaaccf741ec7f81e93ee594455410f3bca4f47f88d8e006"
            ),
        },
        _LAION_SOURCE,
    ),
    "laion/clap-htsat-fused": HubPin(
        "laion/clap-htsat-fused",
        "365dea6ef167def6676140ed93bbc43f84dabb28",
        {
            "config.json": HubFile(
                "b1d63489dc5061da229c23d2b11e9ca731639574449f82319fabb01da7fcf480"
            ),
            "preprocessor_config.json": HubFile(
                "072bdd9ba771b6d213c56f15c0f765e33192b92e481581b52271cf16c9013684"
            ),
            "model.safetensors": HubFile(
                "3f648de6d030e17494be455d323b8d191233fbae0c7ce0ba745fd21a926a63a6"
            ),
        },
        _FUSED_SOURCE,
    ),
    "laion/clap-htsat-unfused": HubPin(
        "laion/clap-htsat-unfused",
        "8fa0f1c6d0433df6e97c127f64b2a1d6c0dcda8a",
        {
            name: HubFile(sha, size)
            for name, size, sha in (
                (
                    "config.json",
                    5390,
                    "9efb9557bc804f2ca6e394486af2e45dfed0b18554909735a99c6220b84e4288",
                ),
                (
                    "merges.txt",
                    456356,
                    "fe36cab26d4f4421ed725e10a2e9ddb7f799449c603a96e7f29b5a3c82a95862",
                ),
                (
                    "preprocessor_config.json",
                    541,
                    "9739f58296aa6f9ac18008fd0150fb2649bc554985fbde86d0a4041c882ac753",
                ),
                (
                    "pytorch_model.bin",
                    614525833,
                    "1cd3c601bc4afe0fa87be3de4c13dd2cfadd249fac1e29acf74a9b296c3219bb",
                ),
                (
                    "special_tokens_map.json",
                    280,
                    "06e405a36dfe4b9604f484f6a1e619af1a7f7d09e34a8555eb0b77b66318067f",
                ),
                (
                    "tokenizer.json",
                    2108746,
                    "77ef92283d67f0d97e1454909a964afcbfa2019f0fb9f18f8e88d5c25c3ba729",
                ),
                (
                    "tokenizer_config.json",
                    384,
                    "377f91458f7729a4574a84c77bdce67dbc3c58c1a345a29bbf8c4eb1307948a3",
                ),
                (
                    "vocab.json",
                    798293,
                    "ed19656ea1707df69134c4af35c8ceda2cc9860bf2c3495026153a133670ab5e",
                ),
            )
        },  # fmt: skip
        _UNFUSED_SOURCE,
    ),
    **{repo: HubPin(repo, None, {}, _HUMAN_CLAP_SOURCE) for repo in HUMAN_CLAP_REPOS},
}


def _override_entry(path: Path, repo_id: str, raw: Any) -> HubPin:
    """One entry of a ``$HUMANCLAP_HUB_PINS`` file, checked; ValueError naming file and repo."""
    where = f"{path}: entry {repo_id!r}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object with 'revision' and 'files'")
    revision = raw.get("revision")
    if revision is not None and not is_commit(revision):
        raise ValueError(f"{where}: revision {revision!r} is not a 40-hex commit (or null)")
    files: dict[str, HubFile] = {}
    for name, spec in (raw.get("files") or {}).items():
        sha, size = (spec or {}).get("sha256"), (spec or {}).get("size")
        if sha is not None and not _SHA256.match(str(sha)):
            raise ValueError(f"{where}: file {name!r}: sha256 {sha!r} is not 64 hex digits")
        if size is not None and (not isinstance(size, int) or size < 0):
            raise ValueError(f"{where}: file {name!r}: size {size!r} is not a byte count")
        files[name] = HubFile(sha, size)
    return HubPin(repo_id, revision, files, str(raw.get("source") or f"${ENV_HUB_PINS} ({path})"))


def pin_for(repo_id: str) -> HubPin:
    """The pin of ``repo_id``: ``$HUMANCLAP_HUB_PINS``'s entry, else :data:`PINS`', else a pin
    with no revision (trust on first use).

    Raises
    ------
    ValueError
        ``$HUMANCLAP_HUB_PINS`` names an unreadable file or a malformed entry.
    """
    env = os.environ.get(ENV_HUB_PINS)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ValueError(f"${ENV_HUB_PINS}={env}: no such file")
        table = read_json_object(path, f"${ENV_HUB_PINS}", "expected an object repo id -> pin")
        if repo_id in table:
            return _override_entry(path, repo_id, table[repo_id])
    return PINS.get(repo_id) or HubPin(repo_id, None, {}, "not in humanclap's table")


# ----------------------------------------------------------------------------- lock file
def lock_path() -> Path:
    """The lock file of pins made on first use: ``<user_cache_dir()>/hub/lock.json``."""
    return cache_dir("hub", "lock.json")


def read_lock() -> dict[str, Any]:
    """The lock file's content (empty sections when absent).

    Keys: ``revisions`` (repo id -> commit resolved on first use), ``files``
    (``"<repo id>@<commit>"`` -> path -> ``{"sha256", "size"}``), ``verified`` (blob path ->
    ``{"sha256", "size", "mtime_ns"}`` of files already hashed, so that an unchanged multi-GB
    file is not hashed at every use).

    Raises
    ------
    ValueError
        The lock file exists but is not readable JSON (names it).
    """
    what, fix = "humanclap's Hub lock file", "delete it to pin the repositories anew"
    lock = read_json_object(lock_path(), what, fix)
    for key in ("revisions", "files", "verified"):
        lock.setdefault(key, {})
    return lock


def write_lock(lock: dict[str, Any]) -> Path:
    """Write ``lock`` to :func:`lock_path` atomically; returns the path."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(lock, indent=1, sort_keys=True) + "\n")
    return path


# ----------------------------------------------------------------------------- checks
class HubIntegrityError(ValueError):
    """A Hub file's sha256 or size differs from its pin or lock entry (it was removed)."""


def record_revision(repo_id: str, commit: str, lock: dict[str, Any]) -> None:
    """Pin ``repo_id`` to ``commit`` in the lock file (trust on first use), saying so."""
    lock["revisions"][repo_id] = commit
    _log.warning(
        "humanclap: %s has no pinned revision; pinned it to %s on first use (trust on first "
        "use), recorded in %s",
        repo_id,
        commit,
        write_lock(lock),
    )


def _expected(pin: HubPin, commit: str, name: str, lock: dict[str, Any]) -> HubFile:
    """The digests ``name`` must have: the pin's (for the pin's commit), else the lock's."""
    known = pin.files.get(name, HubFile()) if commit == pin.revision else HubFile()
    recorded = lock["files"].get(f"{pin.repo_id}@{commit}", {}).get(name)
    if known.sha256 is None and recorded:
        return HubFile(recorded.get("sha256"), known.size or recorded.get("size"))
    return known


def _remove(path: Path, blob: Path) -> None:
    for item in (path, blob):
        with contextlib.suppress(FileNotFoundError):
            item.unlink()


def verify_file(pin: HubPin, commit: str, name: str, path: Path, lock: dict[str, Any]) -> None:
    """Check ``path`` (``name`` of ``pin.repo_id`` at ``commit``) against its pin or lock entry;
    record it in the lock when neither knows it. HubIntegrityError (file removed) on mismatch."""
    blob = path.resolve()
    stat = blob.stat()
    want = _expected(pin, commit, name, lock)
    stamp = lock["verified"].get(str(blob))
    now = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if want.sha256 and stamp == {**now, "sha256": want.sha256}:
        return  # hashed before, unchanged since
    actual = sha256_file(blob)
    if (want.sha256 and actual != want.sha256) or (
        want.size is not None and stat.st_size != want.size
    ):
        _remove(path, blob)
        raise HubIntegrityError(
            f"{name} of {pin.repo_id}@{commit}: refused, it is not the pinned file (expected "
            f"sha256 {want.sha256 or '(any)'}, size {want.size if want.size is not None else '(any)'}; "
            f"got sha256 {actual}, size {stat.st_size}). Removed it from the cache ({blob}); the "
            f"next online use downloads it again. Pin source: {pin.source}"
        )
    if not want.sha256:
        entry = lock["files"].setdefault(f"{pin.repo_id}@{commit}", {})
        entry[name] = {"sha256": actual, "size": stat.st_size}
        _log.warning(
            "humanclap: recorded sha256 %s of %s (%s@%s) on first use in %s; later uses are "
            "checked against it",
            actual,
            name,
            pin.repo_id,
            commit,
            lock_path(),
        )
    lock["verified"][str(blob)] = {**now, "sha256": actual}
    write_lock(lock)
