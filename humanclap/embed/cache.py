"""The on-disk embedding cache: one small, checksummed file per embedded item.

Layout::

    <cache_dir>/<model.fingerprint>-<precision>/<audio|text>/<key[:2]>/<key>.emb

``cache_dir="auto"`` is ``<humanclap.utils.user_cache_dir()>/embeddings``. ``precision`` is the
resolved one (``fp32``, or ``bf16``/``fp16`` under autocast), so embeddings of
different numeric precision never mix. One file per item keeps writes atomic and independent
(:func:`humanclap.utils.atomic_write_bytes`), so concurrent runs and interruptions are safe; the
256 sub-folders keep directories small for tens of thousands of items. An entry is
(little-endian)::

    b"HCEMB001" | uint32 D | uint32 M | M bytes of UTF-8 JSON metadata ({"warnings": [...]},
    plus {"truncated": {...}} for an allowed truncated file)
    | D float32 | sha256 of all the preceding bytes (32 bytes)

An entry that is truncated, has the wrong ``D``, a wrong checksum, bad metadata or non-finite
values is reported with a :class:`CacheWarning` and rebuilt. The cache is never pruned: delete
the folder to reclaim the space. If the cache cannot be written (read-only, disk full), a
warning is given once and embedding carries on without it.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from humanclap.utils import atomic_write_bytes, sha256_bytes
from humanclap.utils import cache_dir as user_cache_subdir

__all__ = ["CacheWarning", "EmbeddingCache", "default_cache_dir", "open_cache"]

_MAGIC = b"HCEMB001"
_HEADER = struct.Struct("<8sII")
_DIGEST_SIZE = 32


class CacheWarning(UserWarning):
    """A cache entry was corrupt (and is rebuilt), or the cache could not be written."""


def default_cache_dir() -> Path:
    """``<humanclap.utils.user_cache_dir()>/embeddings`` (not created here)."""
    return user_cache_subdir("embeddings")


class EmbeddingCache:
    """One model's cached embeddings of one kind (see the module doc for the layout).

    Parameters
    ----------
    root : path
        The cache folder (``cache_dir``).
    namespace : str
        ``"<fingerprint>-<precision>"``.
    kind : {"audio", "text"}
    dim : int
        ``D``; an entry of another size is corrupt.
    """

    def __init__(self, root: str | os.PathLike, namespace: str, kind: str, dim: int) -> None:
        self.path = Path(root) / namespace / kind
        self.dim = int(dim)
        self.writable = True
        self.n_rebuilt = 0

    def entry_path(self, key: str) -> Path:
        return self.path / key[:2] / f"{key}.emb"

    def get(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The cached ``(vector (D,), metadata)`` for ``key``; None when absent or corrupt."""
        path = self.entry_path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            self._corrupt(path, f"unreadable ({err})")
            return None
        try:
            return self._parse(data)
        except ValueError as err:
            self._corrupt(path, str(err))
            return None

    def _parse(self, data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
        if len(data) < _HEADER.size + _DIGEST_SIZE:
            raise ValueError(f"truncated ({len(data)} bytes)")
        magic, dim, meta_len = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            raise ValueError(f"not an embedding entry (magic {magic!r})")
        if dim != self.dim:
            raise ValueError(f"wrong shape ({dim},), expected ({self.dim},)")
        expected = _HEADER.size + meta_len + 4 * dim + _DIGEST_SIZE
        if len(data) != expected:
            raise ValueError(f"truncated or padded ({len(data)} bytes, expected {expected})")
        body, digest = data[:-_DIGEST_SIZE], data[-_DIGEST_SIZE:]
        if bytes.fromhex(sha256_bytes(body)) != digest:
            raise ValueError("checksum mismatch")
        try:
            meta = json.loads(body[_HEADER.size : _HEADER.size + meta_len].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"bad metadata ({err})") from None
        if not isinstance(meta, dict):
            raise ValueError("bad metadata (not an object)")
        vec = np.frombuffer(body, dtype="<f4", count=dim, offset=_HEADER.size + meta_len)
        if not np.isfinite(vec).all():
            raise ValueError("non-finite values")
        return vec.astype(np.float32), meta

    def _corrupt(self, path: Path, why: str) -> None:
        self.n_rebuilt += 1
        warnings.warn(
            f"{path}: corrupt embedding cache entry ({why}); recomputing it",
            CacheWarning,
            stacklevel=4,
        )

    def put(self, key: str, vec: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        """Write one entry atomically (temporary file + :func:`os.replace`)."""
        if not self.writable:
            return
        vec = np.ascontiguousarray(vec, dtype="<f4").reshape(-1)
        if vec.shape != (self.dim,):
            raise ValueError(f"cache put: expected shape ({self.dim},), got {vec.shape}")
        meta_bytes = json.dumps(meta or {}, sort_keys=True).encode("utf-8")
        body = _HEADER.pack(_MAGIC, self.dim, len(meta_bytes)) + meta_bytes + vec.tobytes()
        data = body + bytes.fromhex(sha256_bytes(body))
        try:
            atomic_write_bytes(self.entry_path(key), data)
        except OSError as err:
            self.writable = False
            warnings.warn(
                f"{self.path}: cannot write the embedding cache ({err}); carrying on without it",
                CacheWarning,
                stacklevel=4,
            )


def open_cache(
    cache_dir: str | os.PathLike | None, fingerprint: str, precision: str, kind: str, dim: int
) -> EmbeddingCache | None:
    """The cache of one model (``fingerprint``), precision and kind; None when ``cache_dir`` is
    None. ``cache_dir="auto"`` is :func:`default_cache_dir`."""
    if cache_dir is None:
        return None
    root = default_cache_dir() if isinstance(cache_dir, str) and cache_dir == "auto" else cache_dir
    return EmbeddingCache(root, f"{fingerprint}-{precision}", kind, dim)
