"""What an embedding call did (:class:`EmbedInfo`), and the error that lists every bad item."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ERROR_MODES", "EmbedError", "EmbedInfo", "finish"]

log = logging.getLogger("humanclap.embed")

#: Values of ``errors``: ``"raise"`` an :class:`EmbedError`; ``"nan"`` / ``"skip"`` NaN rows.
ERROR_MODES: tuple[str, ...] = ("raise", "nan", "skip")


@dataclass
class EmbedInfo:
    """What an :func:`embed_audio` / :func:`embed_text` call did.

    Attributes
    ----------
    kind : {"audio", "text"}
    n_items : int
        ``N``, rows in the result.
    n_unique : int
        Distinct content keys among the items that could be hashed (duplicates embedded once).
    n_cached : int
        Unique keys read back from the cache.
    n_embedded : int
        Unique keys run through the model in this call.
    n_rebuilt : int
        Cache entries found corrupt and recomputed.
    errors : dict of int to str
        Row index -> why that row is NaN (empty when all succeeded).
    warnings : dict of int to list of str
        Row index -> flags for valid but odd audio (``"silent"``, ``"short (0.05 s)"``, an
        allowed ``"truncated (...)"`` ...) or captions (``"caption cut to 77 tokens (had 95)"``).
    cache_path : Path or None
        The folder of this model's entries of this kind, or None without a cache.
    """

    kind: str
    n_items: int = 0
    n_unique: int = 0
    n_cached: int = 0
    n_embedded: int = 0
    n_rebuilt: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    cache_path: Path | None = None

    @property
    def n_failed(self) -> int:
        """Rows that could not be embedded."""
        return len(self.errors)

    def summary(self) -> str:
        """One line, e.g. ``"audio: 900 items, 300 unique, 120 cached, 180 embedded, 0 failed"``."""
        text = (
            f"{self.kind}: {self.n_items} items, {self.n_unique} unique, {self.n_cached} cached, "
            f"{self.n_embedded} embedded, {self.n_failed} failed"
        )
        if self.n_rebuilt:
            text += f", {self.n_rebuilt} corrupt cache entries rebuilt"
        return text


class EmbedError(ValueError):
    """Some items could not be embedded; all of them are listed in the message.

    Attributes
    ----------
    errors : dict of int to str
        Row index -> reason.
    embeddings : np.ndarray, shape (N, D), float32
        The result with NaN rows for the failed items (the good ones are also cached).
    info : EmbedInfo
    """

    def __init__(self, message: str, errors: dict[int, str], embeddings: np.ndarray, info):
        super().__init__(message)
        self.errors = errors
        self.embeddings = embeddings
        self.info = info


def finish(
    out: np.ndarray, info: EmbedInfo, errors: str, return_info: bool
) -> np.ndarray | tuple[np.ndarray, EmbedInfo]:
    """Log the call, then raise the :class:`EmbedError` that ``errors="raise"`` asks for, or
    return ``out`` (and ``info`` with ``return_info``)."""
    log.info("embed %s", info.summary())
    if info.errors and errors == "raise":
        lines = "\n".join(f"  [{row}] {why}" for row, why in sorted(info.errors.items()))
        good = info.n_items - info.n_failed
        raise EmbedError(
            f"{info.n_failed} of {info.n_items} {info.kind} items could not be embedded "
            f"(the other {good} were; pass errors='nan' to get NaN rows instead):\n{lines}",
            dict(info.errors),
            out,
            info,
        )
    return (out, info) if return_info else out
