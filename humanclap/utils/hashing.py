"""sha256 of bytes and files, and stable short hashes of JSON-serialisable objects."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

__all__ = ["sha256_bytes", "sha256_file", "stable_hash"]

_CHUNK_SIZE = 1 << 16


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 digest of the file at ``path`` (read in 64 KiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def stable_hash(obj: Any, length: int = 16) -> str:
    """First ``length`` hex characters of the sha256 of ``obj`` as canonical JSON.

    Keys are sorted and separators fixed, so equal objects hash equally across runs and
    machines; values JSON cannot hold are written with ``str``.
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_bytes(text.encode("utf-8"))[:length]
